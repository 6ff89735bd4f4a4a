"""Writes to orders and returns. Each refreshes the customer's figures unless the caller
batches that itself (``refresh=False``: the importer and the event batch)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum

from ecrm.catalog import api as catalog
from ecrm.core import audit, clock
from ecrm.orders.models import LineKind, Order, OrderLine, OrderStatus, Return, ReturnLine
from ecrm.orders.rules import (
    OrderInput,
    ReturnInput,
    check_transition,
    order_hash,
    return_hash,
)


def _refresh(customer_ids) -> None:
    from ecrm.figures import api as figures

    figures.refresh_customers([c for c in customer_ids if c])


def _line_rows(lines, product_ids, factory, parent_field, parent_id):
    return [
        factory(
            **{parent_field: parent_id},
            line_no=i,
            kind=line.kind,
            product_id=product_ids.get(line.sku) if line.kind == LineKind.PRODUCT else None,
            sku=line.sku[:80],
            name=line.name[:300],
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.line_amount,
        )
        for i, line in enumerate(lines, start=1)
    ]


def _product_ids(lines) -> dict[str, int]:
    items = [
        catalog.ProductInput(sku=line.sku, name=line.name)
        for line in lines
        if line.kind == LineKind.PRODUCT and line.sku
    ]
    return catalog.upsert_products(items)


def _order_values(order: OrderInput, customer_id: int | None, digest: str) -> dict:
    """The columns of an order row, as both the single and the batch path write them."""
    return dict(
        customer_id=customer_id,
        status=order.status,
        channel=order.channel[:40],
        store=order.store[:80],
        department=order.department[:80],
        country=order.country[:60],
        region=order.region[:60],
        city=order.city[:60],
        currency=order.currency,
        subtotal=order.subtotal,
        discount=order.discount,
        shipping=order.shipping,
        tax=order.tax,
        total=order.grand_total,
        coupon=order.coupon[:80],
        placed_at=order.placed_at,
        source=order.source[:40],
        content_hash=digest,
        attributes=order.attributes,
    )


def record_order(
    order: OrderInput, *, customer_id: int | None, refresh: bool = True
) -> tuple[Order, bool]:
    """Create or update the order with this number. Returns (order, changed).

    The shop is the source of truth for its orders, so an update may set any status;
    staff changes go through ``set_order_status``, which enforces the lifecycle.
    """
    digest = order_hash(order, customer_id)
    with transaction.atomic():
        existing = Order.objects.select_for_update().filter(external_id=order.external_id).first()
        if existing is not None and existing.content_hash == digest:
            return existing, False
        now = clock.now()
        values = _order_values(order, customer_id, digest)
        previous_customer = existing.customer_id if existing else None
        if existing is None:
            saved = Order.objects.create(
                external_id=order.external_id[:80], status_changed_at=now, **values
            )
        else:
            if existing.status != order.status:
                values["status_changed_at"] = now
            for k, v in values.items():
                setattr(existing, k, v)
            existing.save()
            saved = existing
            OrderLine.objects.filter(order=saved).delete()
        products = _product_ids(order.lines)
        OrderLine.objects.bulk_create(
            _line_rows(order.lines, products, OrderLine, "order_id", saved.pk)
        )
        if refresh:
            _refresh({customer_id, previous_customer})
    return saved, True


def set_order_status(
    external_id: str, status: str, *, actor: audit.Actor, refresh: bool = True
) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(external_id=external_id)
        check_transition(order.status, status)
        if order.status != status:
            before = order.status
            order.status = status
            order.status_changed_at = clock.now()
            order.content_hash = ""
            order.save(update_fields=["status", "status_changed_at", "content_hash"])
            audit.record(
                actor, "status", "order", order.external_id, {"status": before}, {"status": status}
            )
            if refresh:
                _refresh({order.customer_id})
    return order


def record_return(
    ret: ReturnInput, *, customer_id: int | None, refresh: bool = True
) -> tuple[Return, bool]:
    """Create or update a return. A return of an order's full total marks it refunded."""
    with transaction.atomic():
        order = None
        if ret.order_external_id:
            order = (
                Order.objects.select_for_update().filter(external_id=ret.order_external_id).first()
            )
            if customer_id is None and order is not None:
                customer_id = order.customer_id
        digest = return_hash(ret, customer_id)
        existing = Return.objects.filter(external_id=ret.external_id).first()
        if existing is not None and existing.content_hash == digest:
            return existing, False
        values = dict(
            order=order,
            customer_id=customer_id,
            currency=ret.currency,
            amount=ret.refund_amount,
            reason=ret.reason[:200],
            returned_at=ret.returned_at,
            source=ret.source[:40],
            content_hash=digest,
        )
        if existing is None:
            saved = Return.objects.create(external_id=ret.external_id[:80], **values)
        else:
            for k, v in values.items():
                setattr(existing, k, v)
            existing.save()
            saved = existing
            ReturnLine.objects.filter(ret=saved).delete()
        products = _product_ids(ret.lines)
        ReturnLine.objects.bulk_create(
            _line_rows(ret.lines, products, ReturnLine, "ret_id", saved.pk)
        )
        if order is not None and order.status not in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            refunded = sum(
                Return.objects.filter(order=order).values_list("amount", flat=True), Decimal(0)
            )
            if refunded >= order.total:
                order.status = OrderStatus.REFUNDED
                order.status_changed_at = clock.now()
                order.content_hash = ""
                order.save(update_fields=["status", "status_changed_at", "content_hash"])
        if refresh:
            _refresh({customer_id})
    return saved, True


# --- bulk import -------------------------------------------------------------------

BULK_CHUNK = 500
_LINE_COLUMNS = ("line_no", "kind", "product_id", "sku", "name", "quantity", "unit_price", "amount")


@dataclass(frozen=True)
class BatchResult:
    created: int
    changed: int
    unchanged: int
    products_created: int
    customer_ids: frozenset[int]  # customers whose figures the batch may have changed


def _existing(model, external_ids: list[str], fields: tuple[str, ...]) -> dict[str, tuple]:
    found = {}
    for start in range(0, len(external_ids), BULK_CHUNK):
        chunk = external_ids[start : start + BULK_CHUNK]
        for row in model.objects.filter(external_id__in=chunk).values_list("external_id", *fields):
            found[row[0]] = row[1:]
    return found


def _insert_lines(model, parent_column: str, rows: list[tuple]) -> None:
    """All lines of a batch in one go: the hot path of a large import."""
    _copy_or_insert(model._meta.db_table, (parent_column, *_LINE_COLUMNS), rows)


def _copy_or_insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY on PostgreSQL, one prepared INSERT run over all rows elsewhere."""
    if not rows:
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)


def _line_tuples(parent_id: int, lines, product_ids: dict[str, int]) -> list[tuple]:
    product = LineKind.PRODUCT.value
    return [
        (
            parent_id,
            i,
            line.kind,
            product_ids.get(line.sku) if line.kind == product else None,
            line.sku[:80],
            line.name[:300],
            line.quantity,
            line.unit_price,
            line.line_amount,
        )
        for i, line in enumerate(lines, start=1)
    ]


def _batch_products(documents) -> tuple[dict[str, int], int]:
    names: dict[str, str] = {}
    product = LineKind.PRODUCT.value
    for doc in documents:
        for line in doc.lines:
            if line.kind == product and line.sku and not names.get(line.sku):
                names[line.sku] = line.name
    return catalog.ensure_products(
        [catalog.ProductInput(sku=sku, name=name) for sku, name in names.items()]
    )


def _insert_rows(model, rows: list) -> dict[str, int]:
    """INSERT unsaved model rows with one prepared statement; returns external_id -> pk.

    Cheaper than ``bulk_create`` for tens of thousands of rows: values are converted per
    column (dates and JSON the way Django would), the rest go to the driver as they are.
    """
    if not rows:
        return {}
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    convert = [
        (f.attname, f.get_internal_type() in ("DateTimeField", "JSONField"), f) for f in fields
    ]
    params = [
        tuple(
            f.get_db_prep_save(getattr(row, name), connection) if slow else getattr(row, name)
            for name, slow, f in convert
        )
        for row in rows
    ]
    _copy_or_insert(model._meta.db_table, tuple(f.column for f in fields), params)
    saved = _existing(model, [r.external_id for r in rows], ("pk",))
    return {ext: values[0] for ext, values in saved.items()}


def record_orders(items: list[tuple[OrderInput, int | None]]) -> BatchResult:
    """``record_order`` for many orders with a handful of statements; no figure refresh.

    Same rules: an order whose content hash matches is left alone, a changed one is
    rewritten with its lines. Unknown products are created (``catalog.ensure_products``);
    the caller refreshes figures for ``customer_ids``.
    """
    by_id = {order.external_id: (order, cid) for order, cid in items}
    now = clock.now()
    with transaction.atomic():
        existing = _existing(
            Order, list(by_id), ("pk", "content_hash", "customer_id", "status", "status_changed_at")
        )
        todo, touched = [], set()
        unchanged = 0
        for ext, (order, cid) in by_id.items():
            digest = order_hash(order, cid)
            old = existing.get(ext)
            if old is not None and old[1] == digest:
                unchanged += 1
                continue
            todo.append((order, cid, digest, old))
            touched.add(cid)
            if old is not None:
                touched.add(old[2])
        products, products_created = _batch_products([t[0] for t in todo])
        rows, replaced = [], []
        for order, cid, digest, old in todo:
            status_at = old[4] if old is not None and old[3] == order.status else now
            row = Order(
                pk=old[0] if old is not None else None,
                external_id=order.external_id[:80],
                status_changed_at=status_at,
                **_order_values(order, cid, digest),
            )
            (replaced if old is not None else rows).append(row)
        saved = _insert_rows(Order, rows)
        if replaced:
            OrderLine.objects.filter(order_id__in=[r.pk for r in replaced]).delete()
            fields = [
                f.name for f in Order._meta.concrete_fields if f.name not in ("id", "external_id")
            ]
            Order.objects.bulk_update(replaced, fields, batch_size=BULK_CHUNK)
            saved.update((r.external_id, r.pk) for r in replaced)
        lines = []
        for order, _cid, _digest, _old in todo:
            lines.extend(_line_tuples(saved[order.external_id[:80]], order.lines, products))
        _insert_lines(OrderLine, "order_id", lines)
    return BatchResult(
        created=len(rows),
        changed=len(replaced),
        unchanged=unchanged,
        products_created=products_created,
        customer_ids=frozenset(c for c in touched if c),
    )


def record_returns(items: list[tuple[ReturnInput, int | None]]) -> BatchResult:
    """``record_return`` for many returns; an order refunded in full is marked refunded."""
    by_id = {ret.external_id: (ret, cid) for ret, cid in items}
    with transaction.atomic():
        order_ids = sorted({r.order_external_id for r, _ in by_id.values() if r.order_external_id})
        orders = _existing(Order, order_ids, ("pk", "customer_id"))
        existing = _existing(Return, list(by_id), ("pk", "content_hash", "customer_id"))
        todo, touched = [], set()
        unchanged = 0
        for ext, (ret, cid) in by_id.items():
            order = orders.get(ret.order_external_id)
            if cid is None and order is not None:
                cid = order[1]
            digest = return_hash(ret, cid)
            old = existing.get(ext)
            if old is not None and old[1] == digest:
                unchanged += 1
                continue
            todo.append((ret, cid, digest, old, order[0] if order else None))
            touched.update({cid, old[2] if old else None})
        products, products_created = _batch_products([t[0] for t in todo])
        rows, replaced = [], []
        for ret, cid, digest, old, order_pk in todo:
            row = Return(
                pk=old[0] if old is not None else None,
                external_id=ret.external_id[:80],
                order_id=order_pk,
                customer_id=cid,
                currency=ret.currency,
                amount=ret.refund_amount,
                reason=ret.reason[:200],
                returned_at=ret.returned_at,
                source=ret.source[:40],
                content_hash=digest,
            )
            (replaced if old is not None else rows).append(row)
        saved = _insert_rows(Return, rows)
        if replaced:
            ReturnLine.objects.filter(ret_id__in=[r.pk for r in replaced]).delete()
            fields = [
                f.name for f in Return._meta.concrete_fields if f.name not in ("id", "external_id")
            ]
            Return.objects.bulk_update(replaced, fields, batch_size=BULK_CHUNK)
            saved.update((r.external_id, r.pk) for r in replaced)
        lines = []
        for ret, *_ in todo:
            lines.extend(_line_tuples(saved[ret.external_id[:80]], ret.lines, products))
        _insert_lines(ReturnLine, "ret_id", lines)
        _mark_refunded({t[4] for t in todo if t[4] is not None})
    return BatchResult(
        created=len(rows),
        changed=len(replaced),
        unchanged=unchanged,
        products_created=products_created,
        customer_ids=frozenset(c for c in touched if c),
    )


def _mark_refunded(order_pks: set[int]) -> None:
    """Orders whose returns add up to their total become refunded, as in ``record_return``."""
    if not order_pks:
        return
    refunded = dict(
        Return.objects.filter(order_id__in=order_pks)
        .values("order_id")
        .annotate(total=Sum("amount"))
        .values_list("order_id", "total")
    )
    now = clock.now()
    for order in Order.objects.filter(pk__in=order_pks).exclude(
        status__in=(OrderStatus.CANCELLED, OrderStatus.REFUNDED)
    ):
        if refunded.get(order.pk, Decimal(0)) >= order.total:
            order.status = OrderStatus.REFUNDED
            order.status_changed_at = now
            order.content_hash = ""
            order.save(update_fields=["status", "status_changed_at", "content_hash"])
