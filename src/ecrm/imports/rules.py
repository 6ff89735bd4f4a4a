"""Mappings and row parsing for bulk import: pure, no ORM.

A mapping says which column of the file holds which eCRM field. ``parse_mapping`` checks
what a user wrote; ``bind`` checks it against the file's header and gives a ``Layout``;
``RowParser`` turns rows into the inputs the domain services take, or raises ``RowError``
naming the field that is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_noop as N_

from ecrm.catalog.api import ProductInput
from ecrm.core.currency import NOT_A_CURRENCY, iso_code
from ecrm.core.messages import EMPTY, NOT_A_DATE, NOT_NEGATIVE, ONE_OF, TOO_LONG, Message, Problem
from ecrm.customers.api import (
    Claim,
    IdentityKind,
    ProfileError,
    ProfileRecord,
    clean_profile,
    make_claim,
    profile_problems,
)
from ecrm.orders.api import (
    LineInput,
    LineKind,
    OrderShape,
    OrderStatus,
    ReturnInput,
    ShapedOrder,
)

KINDS = ("customers", "products", "orders")

CUSTOMER_FIELDS = (
    "customer_id",
    "name",
    "email",
    "phone",
    "gender",
    "birthday",
    "country",
    "province",
    "city",
    "registration_channel",
    "registered_at",
    "email_opt_in",
    "sms_opt_in",
)
PRODUCT_FIELDS = (
    "sku",
    "name",
    "category",
    "brand",
    "price",
    "cost",
    "currency",
    "url",
    "image_url",
)
ORDER_FIELDS = (
    "order_id",
    "customer_id",
    "email",
    "phone",
    "customer_name",
    "placed_at",
    "status",
    "channel",
    "store",
    "department",
    "region",
    "country",
    "city",
    "currency",
    "discount",
    "shipping",
    "tax",
    "coupon",
    "employee",
)
LINE_FIELDS = ("sku", "product_name", "quantity", "unit_price", "line_kind")
# The order-level fields an order's ``OrderShape`` is made of, besides its currency.
SHAPE_FIELDS = ("status", "channel", "store", "department", "region", "country", "city",
                "discount", "shipping", "tax", "coupon", "employee")  # fmt: skip
# The order-level fields a buyer's record is made of.
BUYER_FIELDS = ("customer_id", "email", "phone", "customer_name", "country", "city")
# A customer's identifiers, in the order they are claimed.
CLAIM_FIELDS = ("customer_id", "email", "phone")
FIELDS = {
    "customers": CUSTOMER_FIELDS,
    "products": PRODUCT_FIELDS,
    "orders": ORDER_FIELDS + LINE_FIELDS,
}
REQUIRED = {
    "customers": (),
    "products": ("sku",),
    "orders": ("order_id", "placed_at", "unit_price"),
}
MAPPING_KEYS = frozenset(
    {
        "kind",
        "name",
        "description",
        "columns",
        "defaults",
        "values",
        "date_format",
        "timezone",
        "namespace",
        "customer_id_kind",
        "encoding",
        "delimiter",
        "attributes",
        "fees",
        "returns",
    }
)
TEXT_LIMITS = {
    "order_id": 80,
    "sku": 80,
    "channel": 40,
    "store": 80,
    "department": 80,
    "region": 60,
    "country": 60,
    "city": 60,
    "coupon": 80,
    "employee": 80,
    "product_name": 300,
    "name": 300,
    "category": 120,
    "brand": 120,
    "url": 500,
    "image_url": 500,
    "customer_id": 254,
}
ZERO = Decimal(0)
YES = frozenset({"1", "true", "yes", "y", "t", "granted", "opt-in", "optin", "是", "同意", "订阅"})
NO = frozenset({"0", "false", "no", "n", "f", "denied", "opt-out", "optout", "否", "拒绝", "退订"})


STATUSES = frozenset(OrderStatus.values)
ID_KINDS = (IdentityKind.EXTERNAL.value, IdentityKind.USER_ID.value)
LINE_KINDS = frozenset(LineKind.values)
PRODUCT = LineKind.PRODUCT.value
FEE = LineKind.FEE.value


class MappingError(Problem):
    """The mapping cannot be used; the message names the key, field or column."""


def unknown_kind(kind: str) -> MappingError:
    return MappingError("kind", ONE_OF, value=repr(kind), choices=", ".join(KINDS))


# Reasons given in more than one place.
NOT_A_NUMBER = N_("%(value)s is not a number")
SHORTENED = N_(
    "%(value)s is a number Excel shortened, not the id; format the column as text in Excel "
    "and save the file again"
)
# Ids checked for that, and how Excel writes a long number in its General format.
IDENTIFIERS = frozenset({"order_id", "customer_id", "sku"})
_EXCEL_SHORTENED = re.compile(r"[1-9](?:\.\d+)?E\+\d\d")


class RowError(Problem):
    """One row is unusable; ``field`` names the eCRM field (and its column), ``key`` the
    eCRM field alone."""

    def __init__(self, field_name: str, template: str, key: str = "", **params):
        super().__init__(field_name, template, **params)
        self.key = key or field_name
        self.row: int | None = None  # for a multi-row order: which of its rows is bad


# --- mappings --------------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    kind: str
    name: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # eCRM field -> file column
    defaults: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_format: str = ""
    timezone: str = ""
    namespace: str = "import"
    # "external": the shop's customer number, in ``namespace``; "user_id": the same id the
    # shop's tracking sends as userId, so imported orders land on the tracked profiles.
    customer_id_kind: str = IdentityKind.EXTERNAL.value
    encoding: str = ""
    delimiter: str = ""
    attributes: tuple[str, ...] | None = None  # None: every column not mapped to a field
    fee_skus: frozenset[str] = frozenset()  # upper case
    fee_prefixes: tuple[str, ...] = ()  # lower case
    return_prefix: str = ""


def _text_map(data, key: str) -> dict[str, str]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise MappingError(
            "", N_("%(key)s must be an object of field names to values"), key=f'"{key}"'
        )
    return value


def _format_problem(date_format: str) -> str:
    """Python's words for what is wrong with a ``strptime`` format (an unknown directive,
    a stray %), or ""."""
    try:
        dt.datetime.strptime("", date_format)
    except ValueError as exc:
        text = str(exc)
        return "" if text.startswith("time data") else text
    return ""


def _text_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def parse_mapping(data, *, kind: str, name: str = "") -> Mapping:
    """Validate a mapping a user wrote (already JSON-decoded) for importing ``kind``."""
    if not isinstance(data, dict):
        raise MappingError("", N_("a mapping must be a JSON object"))
    for key in data:
        if key not in MAPPING_KEYS:
            raise MappingError(
                "",
                N_("unknown mapping key %(key)s; known: %(known)s"),
                key=f'"{key}"',
                known=", ".join(sorted(MAPPING_KEYS)),
            )
    declared = data.get("kind", kind)
    if declared not in KINDS:
        raise MappingError('"kind"', ONE_OF, value=repr(declared), choices=", ".join(KINDS))
    if declared != kind:
        raise MappingError(
            '"kind"',
            N_("this mapping is for %(declared)s, not %(kind)s"),
            declared=declared,
            kind=kind,
        )
    known = FIELDS[kind]
    columns = _text_map(data, "columns")
    defaults = _text_map(data, "defaults")
    values = _text_map(data, "values")
    for section, entries in (("columns", columns), ("defaults", defaults), ("values", values)):
        for field_name, value in entries.items():
            if field_name not in known:
                raise MappingError(
                    f'"{section}"',
                    N_("%(field)s is not an eCRM field for %(kind)s; known fields: %(known)s"),
                    field=repr(field_name),
                    kind=kind,
                    known=", ".join(known),
                )
            if section == "columns" and not (isinstance(value, str) and value.strip()):
                raise MappingError(
                    '"columns"',
                    N_("%(field)s must name a column of the file"),
                    field=repr(field_name),
                )
            if section == "defaults" and not isinstance(value, str | int | float):
                raise MappingError(
                    '"defaults"', N_("%(field)s must be text or a number"), field=repr(field_name)
                )
            if section == "values" and not (
                isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
            ):
                raise MappingError(
                    '"values"', N_("%(field)s must map file values to text"), field=repr(field_name)
                )
    timezone = data.get("timezone") or ""
    if timezone:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise MappingError(
                '"timezone"', N_("unknown time zone %(zone)s"), zone=repr(timezone)
            ) from exc
    date_format = data.get("date_format") or ""
    if date_format and "%" not in date_format:
        raise MappingError(
            '"date_format"',
            N_("%(format)s has no strftime directives like %%Y"),
            format=repr(date_format),
        )
    if date_format and (bad := _format_problem(date_format)):
        # "%Q" was taken, and every row was rejected for a date that could never match
        raise MappingError(
            '"date_format"',
            N_("%(format)s cannot be used: %(error)s"),
            format=repr(date_format),
            error=bad,
        )
    attributes = data.get("attributes")
    if attributes is not None and not (
        isinstance(attributes, list) and all(isinstance(a, str) for a in attributes)
    ):
        raise MappingError("", N_('"attributes" must be a list of column names'))
    fees = data.get("fees", {})
    if (
        not isinstance(fees, dict)
        or set(fees) - {"skus", "sku_prefixes"}
        or not all(_text_list(v) for v in fees.values())
    ):  # a string would be read letter by letter: "POST" made P, O, S and T fees
        raise MappingError("", N_('"fees" must be an object with "skus" and "sku_prefixes" lists'))
    delimiter = data.get("delimiter") or ""
    if delimiter and not (
        isinstance(delimiter, str) and len(delimiter) == 1 and delimiter not in '"\r\n'
    ):
        raise MappingError(
            '"delimiter"',
            N_("%(value)s is not one character such as , or ; or a tab (\\t)"),
            value=repr(delimiter),
        )
    returns = data.get("returns", {})
    if not isinstance(returns, dict) or set(returns) - {"order_id_prefix"}:
        raise MappingError("", N_('"returns" must be an object with "order_id_prefix"'))
    namespace = str(data.get("namespace") or "import")
    if len(namespace) > 40:
        raise MappingError("", N_('"namespace" is longer than 40 characters'))
    id_kind = data.get("customer_id_kind") or IdentityKind.EXTERNAL.value
    if id_kind not in ID_KINDS:
        raise MappingError(
            '"customer_id_kind"', ONE_OF, value=repr(id_kind), choices=", ".join(ID_KINDS)
        )
    return Mapping(
        kind=kind,
        name=str(data.get("name") or name),
        columns={f: c.strip() for f, c in columns.items()},
        defaults={f: str(v) for f, v in defaults.items()},
        values={f: dict(v) for f, v in values.items()},
        date_format=date_format,
        timezone=timezone,
        namespace=namespace,
        customer_id_kind=id_kind,
        encoding=str(data.get("encoding") or ""),
        delimiter=delimiter,
        attributes=tuple(attributes) if attributes is not None else None,
        fee_skus=frozenset(str(s).upper() for s in fees.get("skus", [])),
        fee_prefixes=tuple(str(s).lower() for s in fees.get("sku_prefixes", [])),
        return_prefix=str(returns.get("order_id_prefix") or ""),
    )


@dataclass(frozen=True)
class Layout:
    """A mapping bound to one file's header: field -> column index."""

    mapping: Mapping
    header: tuple[str, ...]
    index: dict[str, int]
    attributes: tuple[tuple[str, int], ...]  # (column name, index) of custom attributes

    def column(self, field_name: str) -> str:
        i = self.index.get(field_name)
        return self.header[i] if i is not None else ""


def bind(mapping: Mapping, header: list[str]) -> Layout:
    """Check the mapping against the file's columns. Without ``columns`` in the mapping,
    columns named like eCRM fields (any case) map to themselves."""
    positions = {name: i for i, name in enumerate(header) if name}
    columns = dict(mapping.columns)
    if not columns:
        # Any case, and full-width letters as typed with a Chinese input method (Ｅｍａｉｌ).
        folded = {
            unicodedata.normalize("NFKC", name).strip().lower(): name for name in header if name
        }
        columns = {f: folded[f] for f in FIELDS[mapping.kind] if f in folded}
    shown = ", ".join(repr(h) for h in header if h)
    for field_name, column in columns.items():
        if column not in positions:
            raise MappingError(
                "",
                N_(
                    "column %(column)s (mapped to %(field)s) is not in the file; "
                    "the file's columns are: %(columns)s"
                ),
                column=repr(column),
                field=field_name,
                columns=shown,
            )
    for field_name in REQUIRED[mapping.kind]:
        if field_name not in columns and field_name not in mapping.defaults:
            raise MappingError(
                field_name,
                N_("no column is mapped to it; the file's columns are: %(columns)s"),
                columns=shown,
            )
    if mapping.kind == "customers" and not set(CLAIM_FIELDS) & set(columns):
        raise MappingError(
            "",
            N_(
                "customers need a customer_id, email or phone column; "
                "the file's columns are: %(columns)s"
            ),
            columns=shown,
        )
    index = {f: positions[c] for f, c in columns.items()}
    used = set(columns.values())
    attributes: tuple[tuple[str, int], ...] = ()
    if mapping.kind == "customers":
        if mapping.attributes is None:
            names = [h for h in header if h and h not in used]
        else:
            names = list(mapping.attributes)
            for name in names:
                if name not in positions:
                    raise MappingError(
                        "",
                        N_(
                            "attribute column %(column)s is not in the file; "
                            "the file's columns are: %(columns)s"
                        ),
                        column=repr(name),
                        columns=shown,
                    )
        attributes = tuple((n, positions[n]) for n in names)
    return Layout(mapping, tuple(header), index, attributes)


# --- values ----------------------------------------------------------------------

_CURRENCY_MARKS = "¥￥£$€元 "
# Commas in a number: thousands separators in groups of three (``1,299.00``), or the
# decimal comma of European spreadsheets (``12,50``, ``1.299,00``, dots grouping thousands).
_THOUSANDS_COMMAS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_DECIMAL_COMMA = re.compile(r"[-+]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+")
# Formats ``fromisoformat`` reads exactly (at this length), many times faster than strptime.
ISO_FORMATS = {"%Y-%m-%d %H:%M:%S": 19, "%Y-%m-%dT%H:%M:%S": 19, "%Y-%m-%d %H:%M": 16}


class RowParser:
    """Turns rows (lists aligned with the header) into domain inputs."""

    def __init__(self, layout: Layout, *, currency: str, timezone: str):
        self.layout = layout
        self.mapping = m = layout.mapping
        self.tz = zoneinfo.ZoneInfo(m.timezone or timezone)
        self.currency = currency
        self._decimals: dict[int, dict[str, Decimal]] = {3: {}, 4: {}}
        self._quantities = self._decimals[3]
        self._prices = self._decimals[4]
        self._kinds: dict[str, str] = {}
        self._datetimes: dict[str, dt.datetime] = {}
        idx = layout.index
        line_at = tuple(idx.get(f) for f in LINE_FIELDS[:4])
        plain = None not in line_at and not any(f in m.values for f in LINE_FIELDS)
        self._fast_line = line_at if plain else None
        self._claim_cache: dict[tuple[str, str], Claim] = {}
        self._claim_kinds = (m.customer_id_kind, IdentityKind.EMAIL.value, IdentityKind.PHONE.value)
        self._buyer_columns = tuple(idx[f] for f in CLAIM_FIELDS if f in idx)
        self._order_mapped = tuple(f for f in ORDER_FIELDS if f in idx)
        # (field, column index, value table or None) of each order-level field in the file
        self._order_cells = tuple((f, idx[f], m.values.get(f)) for f in self._order_mapped)
        self._order_defaults = {f: v for f, v in m.defaults.items() if f in ORDER_FIELDS and v}
        self._order_limits = tuple(
            (f, TEXT_LIMITS[f])
            for f in ("country", "channel", "store", "department", "region", "city")
            if f in self._order_mapped or f in self._order_defaults
        )
        plain_id = "order_id" not in m.values and "order_id" not in m.defaults
        self._order_id_at = idx.get("order_id") if plain_id else None
        self._has_kind = "line_kind" in idx or "line_kind" in m.defaults
        if self._has_kind:
            self._fast_line = None
        self._line_defaults = (
            m.defaults.get("sku", ""),
            m.defaults.get("product_name", ""),
            m.defaults.get("quantity", "1"),
            m.defaults.get("unit_price", ""),
        )
        self._buyers: dict[tuple, ProfileRecord] = {}
        # Orders' shapes (``orders.OrderShape``) by currency and the head's other values;
        # the buyers' records by the head's values of the buyer. Fields that are neither
        # mapped nor defaulted are never in a head: they are left out of the keys.
        self._shapes: dict[tuple, OrderShape] = {}
        present = set(self._order_mapped) | set(self._order_defaults)
        self._shape_fields = tuple(f for f in SHAPE_FIELDS if f in present)
        self._buyer_fields = tuple(f for f in BUYER_FIELDS if f in present)
        # Equal lines of different orders are one LineInput (frozen), which keeps what is
        # derived from it once (``orders.rules`` fingerprint, the importer's packed row).
        self._shared_lines: dict[tuple, LineInput] = {}

    # raw access ----------------------------------------------------------------

    def raw(self, values: list, field_name: str) -> str:
        """The cell of ``field_name``, trimmed, through ``values``, else the default."""
        return self.cell(values, field_name) or self.mapping.defaults.get(field_name, "")

    def cell(self, values: list, field_name: str) -> str:
        """The cell of ``field_name``, trimmed and through ``values``; no default."""
        i = self.layout.index.get(field_name)
        if i is None:
            return ""
        text = values[i]
        if not isinstance(text, str):
            raise self._error(field_name, N_("must be text or a number, not a JSON object or list"))
        text = text.strip()
        table = self.mapping.values.get(field_name)
        if table is not None and text in table:
            text = table[text]
        return text

    def _label(self, field_name: str) -> str:
        column = self.layout.column(field_name)
        return f"{field_name} ({column})" if column and column != field_name else field_name

    def _error(self, field_name: str, template: str, **params) -> RowError:
        return RowError(self._label(field_name), template, key=field_name, **params)

    def _error_of(self, field_name: str, problem: Problem) -> RowError:
        return RowError.of(self._label(field_name), problem, key=field_name)

    def text(self, field_name: str, raw: str) -> str:
        limit = TEXT_LIMITS.get(field_name)
        if limit and len(raw) > limit:
            raise self._error(field_name, TOO_LONG, limit=limit)
        if field_name in IDENTIFIERS:
            self._not_shortened(field_name, raw)
        return raw

    def _not_shortened(self, field_name: str, raw: str) -> None:
        """Refuse an id that Excel showed, and saved, in scientific notation: every order
        number 3849201938475xxxxxx is then ``3.8492E+18``, and different orders (or
        customers, products) would be taken for one."""
        if "E+" in raw and _EXCEL_SHORTENED.fullmatch(raw):
            raise self._error(field_name, SHORTENED, value=repr(raw))

    def decimal(self, field_name: str, raw: str, places: int = 4) -> Decimal:
        cache = self._decimals.setdefault(places, {})
        cached = cache.get(raw)
        if cached is not None:
            return cached
        text = raw.strip(_CURRENCY_MARKS)
        if text[:1] == "(" and text[-1:] == ")":  # Excel's accounting format: (5.00) is -5
            text = "-" + text[1:-1].strip(_CURRENCY_MARKS)
        elif text == "-":  # and its zero, " ¥-   "
            text = "0"
        if "," in text:
            text = _without_commas(text)
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise self._error(field_name, NOT_A_NUMBER, value=repr(raw)) from None
        if not value.is_finite():
            raise self._error(field_name, NOT_A_NUMBER, value=repr(raw))
        exponent = value.as_tuple().exponent
        if -exponent > places:
            raise self._error(
                field_name,
                N_("%(value)s has more than %(places)s decimal places"),
                value=repr(raw),
                places=places,
            )
        if abs(value) >= 10**11:
            raise self._error(field_name, N_("%(value)s is too large"), value=repr(raw))
        if len(cache) > 200_000:
            cache.clear()
        cache[raw] = value
        return value

    def datetime(self, field_name: str, raw: str) -> dt.datetime:
        cached = self._datetimes.get(raw)
        if cached is not None:
            return cached
        fmt = self.mapping.date_format
        try:
            if fmt in ISO_FORMATS and len(raw) == ISO_FORMATS[fmt]:
                value = dt.datetime.fromisoformat(raw)
            elif fmt:
                value = dt.datetime.strptime(raw, fmt)
            else:
                value = _iso_or_spreadsheet_datetime(raw)
        except ValueError:
            if fmt:
                raise self._error(
                    field_name,
                    N_("%(value)s is not a date and time (%(format)s)"),
                    value=repr(raw),
                    format=fmt,
                ) from None
            raise self._error(
                field_name,
                N_("%(value)s is not a date and time (ISO 8601, e.g. 2024-06-18 20:15:00)"),
                value=repr(raw),
            ) from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        if len(self._datetimes) > 200_000:
            self._datetimes.clear()
        self._datetimes[raw] = value
        return value

    def date(self, field_name: str, raw: str) -> dt.date:
        fmt = self.mapping.date_format
        try:
            if fmt:
                return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            pass
        try:  # a date, or a date and time (Excel's "1990-05-01 00:00:00"), nothing more
            return _iso_or_spreadsheet_datetime(raw).date()
        except ValueError:
            raise self._error(field_name, NOT_A_DATE, value=repr(raw)) from None

    def flag(self, field_name: str, raw: str) -> str:
        value = raw.lower()
        if value in YES:
            return "granted"
        if value in NO:
            return "denied"
        raise self._error(
            field_name, N_("%(value)s is not yes/no (1/0, true/false, 是/否)"), value=repr(raw)
        )

    def country_code(self, field_name: str, raw: str) -> str:
        if len(raw) == 2 and raw.isalpha() and raw.isascii():
            return raw.upper()
        raise self._error(
            field_name,
            N_('%(value)s is not a two-letter ISO 3166 country code; map it under "values"'),
            value=repr(raw),
        )

    # records ------------------------------------------------------------------

    def claims(self, raws: dict[str, str]) -> tuple[Claim, ...]:
        """The identifiers of a customer in priority order: customer id, email, phone
        (``raws``: their raw texts by field, ``CLAIM_FIELDS``)."""
        out = []
        for kind, field_name in zip(self._claim_kinds, CLAIM_FIELDS, strict=True):
            raw = raws.get(field_name, "")
            if not raw:
                continue
            claim = self._claim_cache.get((kind, raw))
            if claim is None:
                claim = self._claim(kind, field_name, raw)
            out.append(claim)
        return tuple(out)

    def _claim(self, kind: str, field_name: str, raw: str) -> Claim:
        identifier = kind in ID_KINDS
        text = self.text(field_name, _integral(raw)) if identifier else raw
        namespace = self.mapping.namespace if kind == IdentityKind.EXTERNAL else ""
        try:
            claim = make_claim(kind, text, namespace, verified=True)
        except ProfileError as exc:
            raise self._error_of(field_name, exc) from None
        if len(self._claim_cache) > 200_000:
            self._claim_cache.clear()
        self._claim_cache[(kind, raw)] = claim
        return claim

    def customer(self, values: list) -> ProfileRecord:
        """A customer row; a bad row's error names every bad field (``Problem.together``)."""
        problems: list[RowError] = []

        def checked(read, *args):
            try:
                return read(*args)
            except RowError as exc:
                problems.append(exc)
                return None

        claims: tuple = ()
        for f in CLAIM_FIELDS:
            raw = self.raw(values, f)
            if raw:
                claims += checked(self.claims, {f: raw}) or ()
        if not claims and not problems:
            raise RowError("customer_id", N_("a customer needs a customer_id, email or phone"))
        profile: dict = {}
        for key in (
            "name",
            "gender",
            "province",
            "city",
            "registration_channel",
        ):
            raw = self.raw(values, key)
            if raw:
                profile[key] = raw
        for claim in claims:
            if claim.kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
                profile[claim.kind] = claim.value
        for key, read in (
            ("country", self.country_code),
            ("birthday", self.date),
            ("registered_at", self.datetime),
        ):
            raw = self.raw(values, key)
            value = checked(read, key, raw) if raw else None
            if value is not None:
                profile[key] = value
        try:
            profile = clean_profile(profile)
        except ProfileError:  # every field's problem, not only the first
            problems += [self._error_of(p.field, p) for p in profile_problems(profile)]
        consents = {}
        for channel, key in (("email", "email_opt_in"), ("sms", "sms_opt_in")):
            raw = self.raw(values, key)
            flag = checked(self.flag, key, raw) if raw else None
            if flag is not None:
                consents[channel] = flag
        if problems:
            raise RowError.together(problems)
        attributes = {}
        for name, i in self.layout.attributes:
            value = values[i]
            if isinstance(value, str):
                value = value.strip()
            if value not in ("", None):
                attributes[name] = value
        return ProfileRecord(claims, profile, attributes, consents)

    def product(self, values: list) -> ProductInput:
        sku = self.text("sku", self.raw(values, "sku"))
        if not sku:
            raise self._error("sku", EMPTY)
        money = {}
        for key in ("price", "cost"):
            raw = self.raw(values, key)
            money[key] = self.decimal(key, raw) if raw else None
            if money[key] is not None and money[key] < 0:  # as the catalogue API refuses it
                raise self._error(key, NOT_NEGATIVE)
        currency = self.raw(values, "currency")
        if currency:
            currency = self._currency(currency)
        return ProductInput(
            sku=sku,
            name=self.text("name", self.raw(values, "name")),
            category=self.text("category", self.raw(values, "category")),
            brand=self.text("brand", self.raw(values, "brand")),
            price=money["price"],
            cost=money["cost"],
            currency=currency,
            url=self.text("url", self.raw(values, "url")),
            image_url=self.text("image_url", self.raw(values, "image_url")),
        )

    def _currency(self, raw: str) -> str:
        code = iso_code(raw)
        if code is None:
            raise self._error("currency", NOT_A_CURRENCY, value=repr(raw))
        return code

    @property
    def order_id_column(self) -> int | None:
        """The column of order ids where a cell, trimmed, is the id (no value table or
        default in the mapping); None otherwise."""
        return self._order_id_at

    def order_id(self, values: list) -> str:
        i = self._order_id_at
        if i is not None:
            value = values[i]
            if value.__class__ is str:
                return value.strip()
        return self.raw(values, "order_id")

    def order_id_problem(self, values: list) -> Message:
        """Why ``values`` give no order id: the cell's own error, or that it is empty."""
        try:
            self.order_id(values)
        except RowError as exc:
            return exc.text
        return self._error("order_id", EMPTY).text

    @property
    def buyer_columns(self) -> tuple[int, ...]:
        """The file's columns of a buyer's identifiers (customer id, email, phone)."""
        return self._buyer_columns

    def order(self, rows: list[list]) -> OrderRecord:
        """One order (or return) from all its rows; order-level values come from the first
        row that has them. A ``RowError`` says in ``row`` which of the rows is bad."""
        source: dict[str, int] = {}
        try:
            return self._order(rows, source)
        except RowError as exc:
            if exc.row is None:
                exc.row = source.get(exc.key, 0)
            raise

    def _head(self, rows: list[list], source: dict[str, int]) -> dict[str, str]:
        """The order-level values: each from the first row that has it, else the default.
        ``source`` learns the row of a value that is not in the first row."""
        head = self._order_defaults.copy()
        first = rows[0]
        for field_name, i, table in self._order_cells:
            raw = first[i]
            if raw.__class__ is not str:
                raw = self._cell_at(rows, 0, field_name)
            else:
                raw = raw.strip()
                if table is not None:
                    raw = table.get(raw, raw)
            if raw:
                head[field_name] = raw
                continue
            for n in range(1, len(rows)):
                raw = self._cell_at(rows, n, field_name)
                if raw:
                    head[field_name] = raw
                    source[field_name] = n
                    break
        return head

    def _cell_at(self, rows: list[list], n: int, field_name: str) -> str:
        try:
            return self.cell(rows[n], field_name)
        except RowError as exc:
            exc.row = n
            raise

    def _order(self, rows: list[list], source: dict[str, int]) -> OrderRecord:
        head = self._head(rows, source)
        external_id = self.text("order_id", head.get("order_id", ""))
        if not external_id:
            raise self._error("order_id", EMPTY)
        if "placed_at" not in head:
            raise self._error("placed_at", EMPTY)
        placed_at = self._datetimes.get(head["placed_at"]) or self.datetime(
            "placed_at", head["placed_at"]
        )
        currency = head.get("currency")
        currency = self.currency if not currency else self._currency(currency)
        prefix = self.mapping.return_prefix
        is_return = bool(prefix) and external_id.startswith(prefix)
        lines = self._lines(rows, is_return)
        customer = self._order_customer(head)
        if is_return:
            document = ReturnInput(
                external_id=external_id,
                returned_at=placed_at,
                currency=currency,
                lines=lines,
                source="import",
            )
            return OrderRecord(document, customer, True)
        get = head.get
        key = (currency, *map(get, self._shape_fields))
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shape(head, currency)
            if len(self._shapes) > 10_000:
                self._shapes.clear()
            self._shapes[key] = shape
        return OrderRecord(ShapedOrder(shape, external_id, placed_at, lines), customer, False)

    def _shape(self, head: dict, currency: str) -> OrderShape:
        """The order-level fields but number and time, checked (status, lengths, money)."""
        status = head.get("status", OrderStatus.PAID.value).lower()
        if status not in STATUSES:
            raise self._error(
                "status",
                ONE_OF,
                value=repr(head["status"]),
                choices=", ".join(OrderStatus.values),
            )
        for field_name, limit in self._order_limits:
            if len(head.get(field_name, "")) > limit:
                raise self._error(field_name, TOO_LONG, limit=limit)
        get = head.get
        return OrderShape(
            currency=currency,
            status=status,
            channel=get("channel", ""),
            store=get("store", ""),
            department=get("department", ""),
            country=get("country", ""),
            region=get("region", ""),
            city=get("city", ""),
            discount=self._money(head, "discount"),
            shipping=self._money(head, "shipping"),
            tax=self._money(head, "tax"),
            coupon=self.text("coupon", get("coupon", "")),
            employee=self.text("employee", get("employee", "")),
            source="import",
        )

    def _money(self, head: dict, key: str) -> Decimal:
        raw = head.get(key)
        return self.decimal(key, raw) if raw else ZERO

    def _lines(self, rows: list[list], negate: bool) -> tuple[LineInput, ...]:
        """The lines of an order, one per row; a ``RowError`` names the row in ``row``."""
        fast = self._fast_line
        if fast is None:
            return tuple(self._line_at(rows, n, negate) for n in range(len(rows)))
        i_sku, i_name, i_qty, i_price = fast
        d_sku, d_name, d_qty, d_price = self._line_defaults
        quantities, prices, kinds = self._quantities, self._prices, self._kinds
        shared = self._shared_lines
        if len(shared) > 200_000:
            shared.clear()
        lines = []
        for n, values in enumerate(rows):
            try:
                sku = values[i_sku].strip() or d_sku
                name = values[i_name].strip() or d_name
                qty_raw = values[i_qty].strip() or d_qty
                price_raw = values[i_price].strip() or d_price
            except AttributeError:
                lines.append(self._line_at(rows, n, negate))
                continue
            key = (sku, name, qty_raw, price_raw, negate)
            line = shared.get(key)
            if line is not None:
                lines.append(line)
                continue
            quantity = quantities.get(qty_raw)
            unit_price = prices.get(price_raw)
            kind = kinds.get(sku)
            if quantity is None or unit_price is None or kind is None or not (sku or name):
                lines.append(self._line_at(rows, n, negate))
                continue
            if negate:
                quantity = -quantity
            amount = quantity * unit_price
            line = shared[key] = LineInput(sku, name[:300], quantity, unit_price, kind, amount)
            lines.append(line)
        return tuple(lines)

    def _line_at(self, rows: list[list], n: int, negate: bool) -> LineInput:
        try:
            return self._line(rows[n], negate)
        except RowError as exc:
            exc.row = n
            raise

    def _line(self, values: list, negate: bool) -> LineInput:
        sku, name, qty_raw, price_raw = (self.raw(values, f) for f in LINE_FIELDS[:4])
        qty_raw = qty_raw or "1"
        if not sku and not name:
            raise self._error("sku", N_("a line needs a sku or a product name"))
        quantity = self._quantities.get(qty_raw)
        if quantity is None:
            quantity = self.decimal("quantity", qty_raw, 3)
        unit_price = self._prices.get(price_raw)
        if unit_price is None:
            if not price_raw:
                raise self._error("unit_price", EMPTY)
            unit_price = self.decimal("unit_price", price_raw)
        kind = self.raw(values, "line_kind").lower() if self._has_kind else ""
        if kind:
            if kind not in LINE_KINDS:
                raise self._error(
                    "line_kind", N_("%(value)s is not product or fee"), value=repr(kind)
                )
        else:
            kind = self._kinds.get(sku) or self._kind_of(sku)
        if negate:
            quantity = -quantity
        return LineInput(sku, name[:300], quantity, unit_price, kind, quantity * unit_price)

    def _kind_of(self, sku: str) -> str:
        """Fee or product, from the mapping's fee SKUs and prefixes (remembered per SKU)."""
        if len(sku) > 80:
            raise self._error("sku", TOO_LONG, limit=80)
        self._not_shortened("sku", sku)
        m = self.mapping
        fee = sku and (
            sku.upper() in m.fee_skus or (m.fee_prefixes and sku.lower().startswith(m.fee_prefixes))
        )
        kind = FEE if fee else PRODUCT
        if len(self._kinds) < 1_000_000:
            self._kinds[sku] = kind
        return kind

    def _order_customer(self, head: dict) -> ProfileRecord | None:
        """The buyer; orders of the same buyer share one record (the importer resolves each
        buyer once per batch)."""
        get = head.get
        if not (get("customer_id") or get("email") or get("phone")):
            return None
        key = tuple(map(get, self._buyer_fields))
        record = self._buyers.get(key)
        if record is not None:
            return record
        claims = self.claims(head)
        profile: dict = {}
        for claim in claims:
            if claim.kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
                profile[claim.kind] = claim.value
        if head.get("customer_name"):
            profile["name"] = self.text("name", head["customer_name"])[:200]
        country = head.get("country", "")
        if len(country) == 2 and country.isalpha() and country.isascii():
            profile["country"] = country.upper()
        for key_name in ("city",):
            if head.get(key_name):
                profile[key_name] = head[key_name][:60]
        record = ProfileRecord(claims, profile, {}, {})
        if len(self._buyers) > 200_000:
            self._buyers.clear()
        self._buyers[key] = record
        return record


# What spreadsheets show a date as, besides ISO 8601: Chinese Excel ``2024/6/18 20:15``,
# ``2024年6月18日``, ``2024.6.18`` (year first; day-first dates need "date_format").
_SPREADSHEET_DATE = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


def _spreadsheet_datetime(raw: str) -> dt.datetime | None:
    """A year-first date (and time) whose month, day or hour may have one digit, or None
    (ISO 8601 with zero-padded parts is left to ``fromisoformat``)."""
    found = _SPREADSHEET_DATE.fullmatch(raw)
    if found is None:
        return None
    try:
        return dt.datetime(*(int(part) for part in found.groups() if part is not None))
    except ValueError:  # 2024/2/30 or 25:00
        return None


def _iso_or_spreadsheet_datetime(raw: str) -> dt.datetime:
    """ISO 8601, else what a spreadsheet shows (``_spreadsheet_datetime``); ValueError."""
    try:
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("/", "-"))
    except ValueError:
        value = _spreadsheet_datetime(raw)
        if value is None:
            raise
        return value


def _without_commas(text: str) -> str:
    """A number's text with its commas read as thousands separators or as a decimal comma
    (``_THOUSANDS_COMMAS``, ``_DECIMAL_COMMA``); other commas (``1,2,3``) stay, so that
    ``Decimal`` refuses the text rather than a price being read a hundred times too large."""
    if _THOUSANDS_COMMAS.fullmatch(text):
        return text.replace(",", "")
    if _DECIMAL_COMMA.fullmatch(text):
        return text.replace(".", "").replace(",", ".")
    return text


def _integral(raw: str) -> str:
    """Spreadsheets turn ids into floats: ``17850.0`` is customer ``17850``."""
    if raw.endswith(".0") and raw[:-2].isdigit():
        return raw[:-2]
    return raw


@dataclass(frozen=True)
class OrderRecord:
    document: ShapedOrder | ReturnInput
    customer: ProfileRecord | None
    is_return: bool
