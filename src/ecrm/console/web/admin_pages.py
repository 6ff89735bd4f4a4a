"""Administration pages of the console: write keys and the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecrm.console.web.access import ADMIN_ONLY, actor, int_param, require
from ecrm.core.models import AuditEntry
from ecrm.events import keys
from ecrm.events.models import WriteKey
from ecrm.staff import rules as perms

NEW_KEY = "console:new-write-key"
AUDIT_PAGE = 50


@require(perms.MANAGE_KEYS)
def write_keys(request):
    error = ""
    name = ""
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        try:
            row, secret = keys.create_write_key(name, actor=actor(request))
        except keys.WriteKeyError as exc:
            error = exc.text.localized(with_subject=False)
        else:
            # Shown once, on the next page view, then forgotten: only its hash is stored.
            request.session[NEW_KEY] = {"id": row.pk, "name": row.name, "key": secret}
            return redirect("console:write_keys")
    return render(
        request,
        "console/write_keys.html",
        {
            "rows": list(WriteKey.objects.order_by("-created_at", "-pk")),
            "new_key": request.session.pop(NEW_KEY, None),
            "error": error,
            "name": name,
        },
        status=400 if error else 200,
    )


@require_POST
@require(perms.MANAGE_KEYS)
def revoke_write_key(request, key_id: int):
    try:
        keys.revoke_write_key(key_id, actor=actor(request))
    except WriteKey.DoesNotExist:
        messages.error(request, _("No such write key."))
    else:
        messages.success(request, _("Write key revoked; requests using it are now refused."))
    return redirect("console:write_keys")


@require(ADMIN_ONLY)
def audit_log(request):
    qs = AuditEntry.objects.all()
    object_type = request.GET.get("type", "").strip()[:60]
    object_id = request.GET.get("id", "").strip()[:64]
    actor_label = request.GET.get("actor", "").strip()[:120]
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if actor_label:
        qs = qs.filter(actor_label=actor_label)
    after = int_param(request, "after")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(qs.order_by("-pk")[: AUDIT_PAGE + 1])
    next_after = rows[AUDIT_PAGE - 1].pk if len(rows) > AUDIT_PAGE else None
    return render(
        request,
        "console/audit.html",
        {
            "rows": rows[:AUDIT_PAGE],
            "next_after": next_after,
            "filters": {"type": object_type, "id": object_id, "actor": actor_label},
        },
    )
