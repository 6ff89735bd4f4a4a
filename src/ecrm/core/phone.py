"""Phone numbers: everything stored is E.164; +86 is the default region."""

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext_noop as N_

from ecrm.core.messages import Problem


class InvalidPhone(Problem):
    """Not a phone number; raised with no field: the caller knows which one it was."""


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return ``raw`` as E.164 (``+8613812345678``) or raise ``InvalidPhone``.

    Accepts the ways shops write numbers: ``138 1234 5678``, ``+86-138-1234-5678``,
    ``008613812345678``, ``(010) 6552-9988``.
    """
    text = str(raw).strip()
    if not text:
        raise InvalidPhone("", N_("empty phone number"))
    if text.startswith("00"):
        text = "+" + text[2:]
    region = region or settings.ECRM["DEFAULT_REGION"]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("", N_("%(value)s is not a phone number"), value=repr(raw)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("", N_("%(value)s is not a valid phone number"), value=repr(raw))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    return digits >= 7 and all(c.isdigit() or c in "+-() " for c in text.strip())
