"""Text keys for search (pinyin of Chinese names, normalised e-mail addresses) and the text no
database stores."""

import json
import math
import re
import unicodedata
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_noop as N_

from ecrm.core.messages import Problem

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NOT_LETTER = re.compile(r"[^a-z0-9]")


# The largest key a database's BIGINT column holds: a larger number names no row.
MAX_KEY = 2**63 - 1


def whole_number(text: str) -> int | None:
    """``text`` (spaces around it allowed) as a whole number of ASCII digits that a database
    key can hold, else None. ``str.isdigit`` alone admits digits ``int`` refuses ("²") and
    numbers no database stores, which typed into a search box or a form must not fail."""
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(MAX_KEY)):  # and int() refuses past 4,300 digits
        return None
    value = int(digits)
    return value if value <= MAX_KEY else None


class InvalidEmail(Problem):
    """Not an e-mail address; raised with no field: the caller knows which one it was."""


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


@lru_cache(maxsize=65536)
def pinyin_keys(name: str) -> tuple[str, str]:
    """``张伟`` -> (``zhangwei``, ``zw``); a Latin name gives its folded letters twice-ish.

    Both keys are lowercase ASCII letters and digits only, so prefix search over them
    behaves the same under every database collation.
    """
    name = unicodedata.normalize("NFKC", name or "").strip().lower()
    if not name:
        return "", ""
    # Imported here: loading pypinyin's dictionaries takes 0.2 s of every command's start.
    from pypinyin import Style, lazy_pinyin

    syllables = [s for s in lazy_pinyin(name, style=Style.NORMAL, errors="default") if s.strip()]
    words = [_NOT_LETTER.sub("", s) for s in syllables]
    words = [w for w in words if w]
    full = "".join(words)[:120]
    if has_cjk(name):
        initials = "".join(w[0] for w in words)[:40]
    else:
        initials = "".join(p[0] for p in re.split(r"[\s\-\.]+", name) if p and p[0].isalnum())
        initials = _NOT_LETTER.sub("", initials)[:40]
    return full, initials


# Pinyin typed with tone numbers: syllables of letters, each with one digit 0-5 or none.
_TONE_NUMBERED = re.compile(r"(?:[a-zv]+[0-5]?[\s'\-]*)+")


def search_key(query: str) -> str:
    """What a pinyin query typed as ``Zhang Wei``, ``zhang-wei``, ``Zhāng Wěi`` or
    ``zhang1 wei3`` is compared as: the names' keys carry neither tone marks nor tone
    numbers, and write ü as v (``lv``), as pypinyin does."""
    text = unicodedata.normalize("NFKD", query).lower().replace("u\u0308", "v")
    text = "".join(c for c in text if not unicodedata.combining(c)).strip()
    if _TONE_NUMBERED.fullmatch(text) and not text.isalpha():
        text = re.sub(r"[0-5]", "", text)
    return _NOT_LETTER.sub("", text)


def normalize_email(raw: str) -> str:
    text = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    try:
        validate_email(text)
    except ValidationError as exc:
        raise InvalidEmail("", N_("%(value)s is not an e-mail address"), value=repr(raw)) from exc
    return text


NUL_CHARACTER = "contains a NUL character"
LONE_SURROGATE = "contains an unpaired surrogate"
# How a JSON body spells what no database stores: NUL and the surrogate range.
SUSPECT_JSON = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class NotFinite(ValueError):
    """A JSON number no database stores in a JSON column: ``NaN``, ``Infinity``, or a literal
    beyond a float's range (``1e999``), which Python reads as infinity."""

    def __init__(self, literal: str):
        self.literal = literal if len(literal) <= 24 else literal[:20] + "…"
        super().__init__(f"{self.literal} is not a number a database can store")


def _not_finite(literal: str):
    raise NotFinite(literal)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise NotFinite(literal)
    return value


def load_json(raw: str | bytes):
    """``json.loads`` refusing numbers no database stores (``NotFinite``). Python's reader
    takes NaN and Infinity and writes them back as such; SQLite's JSON check and PostgreSQL's
    jsonb both refuse them, which reaching the database was a 500."""
    return json.loads(raw, parse_constant=_not_finite, parse_float=_finite_float)


def unstorable(value, path: str = "", item: str = "[{}]") -> tuple[str, str] | None:
    """The first string in decoded JSON ``value`` that a database cannot store, as (its path,
    why): a NUL character (PostgreSQL refuses it in text) or an unpaired surrogate (no UTF-8
    for it: both drivers fail). A key is reported at its object's path; ``item`` formats a
    list index onto the path. Worth calling only where ``SUSPECT_JSON`` matches the body."""
    if isinstance(value, str):
        if "\x00" in value:
            return path, NUL_CHARACTER
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, LONE_SURROGATE
        return None
    if isinstance(value, dict):
        for key, child in value.items():
            found = unstorable(key, path, item) or unstorable(
                child, f"{path}.{key}" if path else key, item
            )
            if found:
                return found
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found = unstorable(child, path + item.format(i), item)
            if found:
                return found
    return None
