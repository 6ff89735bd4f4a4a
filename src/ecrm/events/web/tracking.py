"""Segment's HTTP Tracking API: ``POST /v1/identify|track|page|screen|group|alias|batch``.

Unmodified Segment and RudderStack SDKs work against these: the write key is the HTTP
Basic user name (``writeKey`` in the body is accepted too), bodies may be gzip
compressed, and ``{"success": true}`` is sent only once the request is committed.

Errors are JSON: ``{"success": false, "error": "...", "field": "batch[3].timestamp"}``
(plus Segment's ``code``/``message`` so SDKs log them). A batch is validated whole:
when one message is bad, nothing from the request is stored, and the SDK is told which.
"""

from __future__ import annotations

import base64
import binascii
import logging
import zlib

from django.conf import settings
from django.db import DataError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from ecrm.core import clock
from ecrm.customers.api import ProfileError
from ecrm.events import keys, rules, writer
from ecrm.events.rules import InvalidMessage
from ecrm.orders.api import OrderError

log = logging.getLogger(__name__)


def error_response(status: int, field: str, message: str, code: str) -> JsonResponse:
    body = {
        "success": False,
        "error": message,
        "field": field,
        "code": code,
        "message": f"{field}: {message}" if field else message,
    }
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


class _Refused(Exception):
    def __init__(self, response: JsonResponse):
        self.response = response


def _basic_key(request: HttpRequest) -> str | None:
    """The HTTP Basic user name, "" when the header is absent."""
    header = request.headers.get("Authorization", "")
    if not header:
        return ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise _Refused(
            error_response(401, "Authorization", "expected HTTP Basic auth", "unauthorized")
        )
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _Refused(
            error_response(401, "Authorization", "malformed Basic credentials", "unauthorized")
        ) from exc
    return decoded.partition(":")[0]


def _read_body(request: HttpRequest) -> bytes:
    limit = settings.ECRM["MAX_EVENT_PAYLOAD"]
    too_big = error_response(413, "body", f"the payload is larger than {limit} bytes", "too_large")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise _Refused(too_big)
    raw = request.body
    if len(raw) > limit:
        raise _Refused(too_big)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise _Refused(
            error_response(
                415,
                "Content-Encoding",
                f"{encoding!r} is not supported; use gzip",
                "unsupported_encoding",
            )
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise _Refused(
            error_response(400, "body", f"is not valid gzip ({exc})", "invalid_request")
        ) from exc
    if len(out) > limit:
        raise _Refused(
            error_response(413, "body", f"decompresses to more than {limit} bytes", "too_large")
        )
    if not inflater.eof:
        raise _Refused(error_response(400, "body", "is truncated gzip", "invalid_request"))
    return out


def _handle(request: HttpRequest, kind: str | None) -> JsonResponse:
    if request.method != "POST":
        response = error_response(405, "", "use POST", "method_not_allowed")
        response["Allow"] = "POST"
        return response
    received_at = clock.now()
    try:
        key = _basic_key(request)
        if key and keys.key_id_for(key) is None:
            return error_response(401, "writeKey", "unknown or revoked write key", "unauthorized")
        body = rules.decode_body(_read_body(request))
        if not key:
            key = body.get("writeKey")
            key = key if isinstance(key, str) else ""
        key_id = keys.key_id_for(key)
        if key_id is None:
            return error_response(401, "writeKey", "unknown or revoked write key", "unauthorized")
        currency = settings.ECRM["CURRENCY"]
        if kind is None:
            messages = rules.batch_messages(body, received_at=received_at, currency=currency)
        else:
            messages = [rules.parse_message(body, kind, received_at=received_at, currency=currency)]
        writer.ingest(messages, key_id)
    except _Refused as refused:
        return refused.response
    except (InvalidMessage, ProfileError, OrderError) as exc:
        return error_response(400, exc.field, exc.message, "invalid_request")
    except DataError as exc:
        log.warning("tracking request refused by the database: %s", exc)
        return error_response(400, "body", "a value does not fit the database", "invalid_request")
    except OperationalError:
        log.exception("tracking request failed; the client will retry")
        response = error_response(503, "", "the database is busy, retry later", "unavailable")
        response["Retry-After"] = "1"
        return response
    return JsonResponse({"success": True})


def _endpoint(kind: str | None):
    @csrf_exempt
    def view(request: HttpRequest) -> JsonResponse:
        return _handle(request, kind)

    view.__name__ = f"tracking_{kind or 'batch'}"
    view.__doc__ = f"POST /v1/{kind or 'batch'}: Segment's tracking API."
    return view


urlpatterns = [
    path("batch", _endpoint(None), name="tracking-batch"),
    *[path(kind, _endpoint(kind), name=f"tracking-{kind}") for kind in rules.MESSAGE_TYPES],
]
