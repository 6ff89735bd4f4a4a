"""Segment pages of the console: the list, the visual rule builder with a live preview,
a segment's members, recent entries and exits and size history, and static lists.

Views validate input and call ``segments.services``; every write there is audited with the
signed-in user as the actor.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_noop as N_
from django.views.decorators.http import require_POST

from ecrm.console.web.access import actor, allowed, int_param, is_htmx, require
from ecrm.core.messages import Message
from ecrm.core.text import whole_number
from ecrm.customers import api as customers
from ecrm.segments import fields, queries, rules, services
from ecrm.segments.models import ChangeReason, Segment, SegmentKind
from ecrm.segments.web import builder
from ecrm.staff import rules as perms

PAGE = 50
SAMPLE = 10

KIND_LABELS = {
    "profile": gettext_lazy("Profile"),
    "attribute": gettext_lazy("Custom attribute"),
    "figure": gettext_lazy("Purchase figures"),
    "consent": gettext_lazy("Consent"),
    "event": gettext_lazy("Tracked event"),
    "page": gettext_lazy("Page view"),
    "score": gettext_lazy("RFM score and predicted value"),
    "loyalty": gettext_lazy("Loyalty"),
}
PROFILE_LABELS = {
    "name": gettext_lazy("name"),
    "gender": gettext_lazy("gender"),
    "birthday": gettext_lazy("birthday"),
    "birthday_month": gettext_lazy("birthday month"),
    "country": gettext_lazy("country"),
    "province": gettext_lazy("province"),
    "city": gettext_lazy("city"),
    "registration_channel": gettext_lazy("registration channel"),
    "registered_at": gettext_lazy("registered at"),
    "is_anonymous": gettext_lazy("anonymous visitor"),
}
FIGURE_LABELS = {
    "order_count": gettext_lazy("orders"),
    "revenue": gettext_lazy("revenue"),
    "average_order_value": gettext_lazy("average order value"),
    "return_count": gettext_lazy("returns"),
    "distinct_products": gettext_lazy("distinct products"),
    "last_order_at": gettext_lazy("last order"),
    "last_seen_at": gettext_lazy("last seen"),
    "days_since_last_order": gettext_lazy("days since last order"),
    "days_since_last_seen": gettext_lazy("days since last seen"),
}
OP_LABELS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "contains": gettext_lazy("contains"),
    "starts_with": gettext_lazy("starts with"),
    "gt": gettext_lazy("more than"),
    "gte": gettext_lazy("at least"),
    "lt": gettext_lazy("less than"),
    "lte": gettext_lazy("at most"),
    "between": gettext_lazy("between"),
    "is_set": gettext_lazy("is known"),
    "is_not_set": gettext_lazy("is unknown"),
}
CONSENT_LABELS = {
    "email": gettext_lazy("e-mail"),
    "sms": gettext_lazy("SMS"),
    "phone": gettext_lazy("phone"),
    "wechat": gettext_lazy("WeChat"),
    "push": gettext_lazy("push"),
}
STATUS_LABELS = {
    "granted": gettext_lazy("granted"),
    "denied": gettext_lazy("denied"),
    "unknown": gettext_lazy("no decision"),
}
REASON_LABELS = dict(ChangeReason.choices)
EVENT_NAMES = (
    "Product Viewed",
    "Product Added",
    "Product Removed",
    "Checkout Started",
    "Order Completed",
    "Products Searched",
    "Product List Viewed",
    "Coupon Applied",
)


def _choices(labels: dict) -> list[tuple[str, str]]:
    return [(key, str(label)) for key, label in labels.items()]


def _catalogue(registries: dict) -> dict:
    """What the builder offers per condition kind: fields with their type and operators."""
    published = {source: fields.published(source) for source in registries}

    def entry(name, label, kind, choices=(), registry=False):
        ops = (*rules.ORDER_OPS, *rules.SET_OPS) if registry and kind == rules.NUMBER else None
        return {
            "name": name,
            "label": str(label),
            "kind": kind,
            "ops": [(op, str(OP_LABELS[op])) for op in ops or rules.OPS[kind]],
            "choices": list(choices),
        }

    out = {
        "profile": [
            entry(
                n,
                PROFILE_LABELS[n],
                k,
                [("f", _("female")), ("m", _("male")), ("o", _("other"))] if n == "gender" else (),
            )
            for n, k in rules.PROFILE_TYPES.items()
        ],
        "figure": [entry(n, FIGURE_LABELS[n], k) for n, k in rules.FIGURE_TYPES.items()],
    }
    for source, specs in registries.items():
        out[source] = [
            entry(
                name,
                spec.label,
                rules.REGISTRY_TYPES[spec.kind],
                fields.choice_labels(published[source].get(name, {})),
                registry=True,
            )
            for name, spec in specs.items()
        ]
    return out


def _attribute_ops():
    return [(op, str(OP_LABELS[op])) for op in rules.ATTRIBUTE_OPS]


def _count_ops():
    return [(op, str(OP_LABELS[op])) for op in rules.COUNT_OPS]


def _decorate(root: builder.Node, catalogue: dict) -> None:
    """Give each leaf what its template needs: its field entry and operator choices."""
    for node in builder.all_nodes(root):
        node.entry = None
        node.entry_list = catalogue.get(node.kind, [])
        if node.kind == "consent" and node.field not in CONSENT_LABELS:
            node.field = "email"
        if node.kind in catalogue:
            entries = catalogue[node.kind]
            entry = next((e for e in entries if e["name"] == node.field), None)
            if entry is None and entries:
                entry = entries[0]
                node.field = entry["name"]
            node.entry = entry
            if entry and node.op not in [op for op, _label in entry["ops"]]:
                node.op = entry["ops"][0][0] if entry["ops"] else ""
        elif node.kind == "attribute" and node.op not in rules.ATTRIBUTE_OPS:
            node.op = "eq"


def _context(root, *, segment=None, name="", description="", errors=None, preview=None):
    registries = fields.registries()
    catalogue = _catalogue(registries)
    _decorate(root, catalogue)
    kinds = [(k, str(v)) for k, v in KIND_LABELS.items() if k not in ("score", "loyalty")]
    kinds += [(k, str(KIND_LABELS[k])) for k in ("score", "loyalty") if k in registries]
    return {
        "segment": segment,
        "root": root,
        "name": name,
        "description": description,
        "errors": errors or {},
        "preview": preview,
        "catalogue": catalogue,
        "kinds": kinds,
        "attribute_ops": _attribute_ops(),
        "count_ops": _count_ops(),
        "consent_channels": _choices(CONSENT_LABELS),
        "consent_statuses": _choices(STATUS_LABELS),
        "event_names": EVENT_NAMES,
        "value_types": [("text", _("text")), ("number", _("number")), ("bool", _("yes / no"))],
    }


def _evaluate(root: builder.Node):
    """The definition the tree makes, validated; errors are placed on their nodes."""
    definition, paths = builder.to_definition(root, fields.registries())
    try:
        return fields.validate(definition), definition, None
    except rules.DefinitionError as exc:
        node = builder.place_error(root, paths, exc)
        return None, definition, node


def _preview(compiled):
    result = queries.preview(compiled, sample=SAMPLE)
    people = queries.member_names(result.sample)
    return {"size": result.size, "sample": [(pk, people.get(pk, "")) for pk in result.sample]}


# ---------------------------------------------------------------------------------------
# pages


@require(perms.VIEW_CUSTOMERS)
def segment_list(request):
    segments = list(queries.segments_list())
    sizes = queries.sizes([s.pk for s in segments])
    trends = queries.trends([s.pk for s in segments], dt.timedelta(days=7))
    rows = [{"segment": s, "size": sizes[s.pk], "trend": trends.get(s.pk)} for s in segments]
    return render(
        request,
        "segments/list.html",
        {"rows": rows, "can_manage": allowed(request.user, perms.MANAGE_SEGMENTS)},
    )


@require(perms.MANAGE_SEGMENTS)
def segment_new(request):
    if request.GET.get("kind") == SegmentKind.STATIC:
        return _static_form(request)
    root = builder.Node(builder.ROOT, "all")
    builder.apply(root, "add:n0:profile")
    return render(request, "segments/builder.html", _context(root))


def _static_form(request, segment=None):
    if request.method == "POST":
        name = request.POST.get("name", "")
        description = request.POST.get("description", "")
        try:
            saved = services.save_segment(
                name=name,
                description=description,
                kind=SegmentKind.STATIC,
                actor=actor(request),
                segment_id=segment.pk if segment else None,
            )
        except services.SegmentError as exc:
            context = {
                "segment": segment,
                "name": name,
                "description": description,
                "error": exc,
                "error_text": exc.text.localized(with_subject=False),
            }
            return render(request, "segments/static_form.html", context)
        messages.success(request, _("Saved."))
        return redirect("console:segment", segment_id=saved.pk)
    return render(
        request,
        "segments/static_form.html",
        {
            "segment": segment,
            "name": segment.name if segment else "",
            "description": segment.description if segment else "",
        },
    )


@require(perms.MANAGE_SEGMENTS)
def segment_static_new(request):
    return _static_form(request)


@require(perms.MANAGE_SEGMENTS)
def segment_edit(request, segment_id: int):
    segment = _segment(segment_id)
    if segment.is_static:
        return _static_form(request, segment)
    root = builder.from_definition(segment.definition)
    compiled, _definition, _bad = _evaluate(root)
    preview = _preview(compiled) if compiled else None
    context = _context(
        root,
        segment=segment,
        name=segment.name,
        description=segment.description,
        preview=preview,
    )
    return render(request, "segments/builder.html", context)


@require(perms.MANAGE_SEGMENTS)
@require_POST
def segment_builder(request):
    """The builder after a button or a change: the tree re-rendered with its live preview
    (htmx), or saved when "save" was pressed."""
    root = builder.from_form(request.POST)
    action = request.POST.get("action", "")
    if action.startswith("addkind:"):
        group = action.split(":", 1)[1]
        action = f"add:{group}:{request.POST.get(f'add_kind_{group}', 'profile')}"
    if action and action != "save":
        builder.apply(root, action)
    compiled, definition, bad = _evaluate(root)
    segment_id = int_param(request, "segment_id")
    segment = _segment(segment_id) if segment_id else None
    name = request.POST.get("name", "").strip()
    description = request.POST.get("description", "").strip()
    errors = {}
    if action == "save" and compiled is not None:
        try:
            saved = services.save_segment(
                name=name,
                description=description,
                definition=definition,
                actor=actor(request),
                segment_id=segment.pk if segment else None,
            )
        except services.SegmentError as exc:
            errors[exc.field_name] = exc.text.localized(with_subject=False)
        else:
            messages.success(request, _("Saved version %(version)s.") % {"version": saved.version})
            url = reverse("console:segment", args=[saved.pk])
            if is_htmx(request):
                response = render(request, "segments/_redirect.html", {"url": url})
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    preview = _preview(compiled) if compiled is not None else None
    context = _context(
        root,
        segment=segment,
        name=name,
        description=description,
        errors=errors,
        preview=preview,
    )
    context["invalid"] = bad
    template = "segments/_builder.html" if is_htmx(request) else "segments/builder.html"
    return render(request, template, context)


@require(perms.VIEW_CUSTOMERS)
def segment_detail(request, segment_id: int):
    segment = _segment(segment_id)
    after = int_param(request, "after") or 0
    members, next_after = queries.member_page(segment.pk, after=after, limit=PAGE)
    if is_htmx(request) and request.GET.get("part") == "members":
        return render(
            request,
            "segments/_members.html",
            {"segment": segment, "members": members, "next_after": next_after},
        )
    changes, _next = queries.change_page(segment.pk, limit=20)
    names = queries.member_names([c.customer_id for c in changes])
    history = queries.size_history(segment.pk)
    return render(
        request,
        "segments/detail.html",
        {
            "segment": segment,
            "size": queries.size_of(segment.pk),
            "members": members,
            "next_after": next_after,
            "changes": [
                {
                    "change": c,
                    "name": names.get(c.customer_id, ""),
                    "reason": REASON_LABELS.get(c.reason, c.reason),
                }
                for c in changes
            ],
            "history": history,
            "chart": _history_chart(history),
            "summary": _summary(segment),
            "can_manage": allowed(request.user, perms.MANAGE_SEGMENTS),
        },
    )


def _history_chart(history) -> dict | None:
    if len(history) < 2:
        return None
    return {
        "ecrmFormat": "integer",
        "grid": {"left": 56, "right": 16, "top": 16, "bottom": 32},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "name": str(_("Size")),
                "type": "line",
                "step": "end",
                "showSymbol": False,
                "data": [[at.isoformat(), size] for at, size in history],
            }
        ],
    }


def _summary(segment: Segment) -> str:
    """The definition in one line of words, for the detail page."""
    if segment.is_static:
        return ""
    try:
        compiled = fields.validate(segment.definition)
    except rules.DefinitionError as exc:
        return _("This definition is no longer valid: %(error)s") % {"error": exc.text.localized()}
    return _describe(compiled.match)


def _describe(node) -> str:
    if isinstance(node, rules.All | rules.AnyOf):
        word = str(_("and")) if isinstance(node, rules.All) else str(_("or"))
        parts = [_describe(c) for c in node.children]
        return f" {word} ".join(f"({p})" if " " in p and len(parts) > 1 else p for p in parts)
    if isinstance(node, rules.Not):
        word = _("not")
        return f"{word} ({_describe(node.child)})"
    if isinstance(node, rules.Behaviour):
        name = node.name or _("any page")
        text = _("%(name)s %(op)s %(count)s times in the last %(days)s days") % {
            "name": name,
            "op": OP_LABELS.get(node.count_op, node.count_op),
            "count": _value(node.count_value),
            "days": node.within_days,
        }
        if node.category_prefix:
            text += " · " + _("category %(prefix)s…") % {"prefix": node.category_prefix}
        return text
    if isinstance(node, rules.ConsentIs):
        word = _("consent")
        return f"{word} {CONSENT_LABELS[node.channel]}: {STATUS_LABELS[node.status]}"
    if isinstance(node, rules.Profile):
        label = PROFILE_LABELS[node.field]
    elif isinstance(node, rules.Figure):
        label = FIGURE_LABELS[node.figure]
    elif isinstance(node, rules.Attribute):
        label = node.key
    else:
        label = f"{KIND_LABELS[node.source]}: {node.field}"
    if node.op in rules.SET_OPS:
        return f"{label} {OP_LABELS[node.op]}"
    return f"{label} {OP_LABELS[node.op]} {_value(node.value)}"


def _value(value) -> str:
    if isinstance(value, tuple):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, bool):
        return str(_("yes")) if value else str(_("no"))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _segment(segment_id: int) -> Segment:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        raise Http404(_("No such segment."))
    return segment


@require(perms.MANAGE_SEGMENTS)
@require_POST
def segment_delete(request, segment_id: int):
    segment = _segment(segment_id)
    services.delete_segment(segment.pk, actor=actor(request))
    messages.success(request, _("Segment “%(name)s” deleted.") % {"name": segment.name})
    return redirect("console:segments")


@require(perms.MANAGE_SEGMENTS)
@require_POST
def segment_refresh(request, segment_id: int):
    segment = _segment(segment_id)
    if segment.is_static:
        raise Http404(_("A static list is not rebuilt."))
    result = services.build_segment(segment.pk, reason=ChangeReason.MANUAL)
    messages.success(
        request,
        _("Rebuilt: %(size)s members, %(entered)s entered, %(left)s left.")
        % {"size": result.size, "entered": result.entered, "left": result.left},
    )
    return redirect("console:segment", segment_id=segment.pk)


@require(perms.MANAGE_SEGMENTS)
@require_POST
def segment_members_change(request, segment_id: int):
    """A static list: add customers by id, remove one, or upload a CSV."""
    segment = _segment(segment_id)
    if not segment.is_static:
        raise Http404(_("Only a static list takes members by hand."))
    what = request.POST.get("what", "")
    try:
        if what == "upload":
            upload = request.FILES.get("file")
            if upload is None:
                raise services.SegmentError("file", N_("choose a CSV file"))
            result = services.upload_members(segment.pk, upload.read(), actor=actor(request))
            messages.success(
                request,
                _(
                    "%(lines)s lines read: %(added)s added, %(already)s already in the list, "
                    "%(rejected)s rejected."
                )
                % {
                    "lines": result.lines,
                    "added": result.added,
                    "already": result.already,
                    "rejected": len(result.rejects),
                },
            )
            # Template and values, not text: the rejects page speaks its own language. Kept
            # (empty too) for every upload, so the page never shows an earlier upload's lines.
            request.session[_rejects_key(segment.pk)] = [
                [r.line, r.value, r.reason.subject, r.reason.template, r.reason.params]
                for r in result.rejects[:500]
            ]
        elif what == "remove":
            numbers = (whole_number(c) for c in request.POST.getlist("customer_id"))
            ids = [n for n in numbers if n is not None]
            result = services.remove_members(segment.pk, ids, actor=actor(request))
            messages.success(request, _("%(n)s removed.") % {"n": result.removed})
        else:
            text = request.POST.get("customer_ids", "")
            parts = [p for p in text.replace(",", " ").replace("，", " ").split() if p]
            ids = [customers.customer_number(p) for p in parts]
            if None in ids or not ids:
                raise services.SegmentError(
                    "customer_ids", N_("give customer numbers, e.g. 12 345 6789")
                )
            result = services.add_members(segment.pk, ids, actor=actor(request))
            messages.success(
                request,
                _("%(added)s added, %(unchanged)s already in the list.")
                % {"added": result.added, "unchanged": result.unchanged},
            )
    except services.SegmentError as exc:
        messages.error(request, exc.text.localized(with_subject=False))
    return redirect("console:segment", segment_id=segment.pk)


@require(perms.MANAGE_SEGMENTS)
def segment_rejects(request, segment_id: int):
    segment = _segment(segment_id)
    rejects = [
        (line, value, Message(template, subject, **params).localized())
        for line, value, subject, template, params in request.session.get(
            _rejects_key(segment.pk), []
        )
    ]
    return render(request, "segments/rejects.html", {"segment": segment, "rejects": rejects})


def _rejects_key(segment_id: int) -> str:
    # Renamed when the reasons became templates: sessions may still hold English text
    # under the old ``segment_rejects_<id>``.
    return f"segment_upload_rejects_{segment_id}"
