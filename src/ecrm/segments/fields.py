"""The fields other domains publish for segment conditions: RFM scores and predicted
values (``value.api``) and loyalty tier and points (``loyalty.api``).

Each publishing domain's ``api`` offers ``segment_fields()`` (name -> {"type", "expression",
"label", "choices"}) and ``segment_facts(customer_id)`` (name -> value). A domain that is
not installed, or publishes nothing, simply has no fields: its conditions are refused by
``rules.validate`` naming the JSON path.
"""

from __future__ import annotations

import importlib

from ecrm.segments import rules

# condition key in a definition -> the app whose api publishes its fields
SOURCES = {rules.SCORE: "value", rules.LOYALTY: "loyalty"}


def _api(source: str):
    app = SOURCES[source]
    try:
        module = importlib.import_module(f"ecrm.{app}.api")
    except ModuleNotFoundError as exc:
        if exc.name in (f"ecrm.{app}", f"ecrm.{app}.api"):
            return None
        raise
    if not hasattr(module, "segment_fields") or not hasattr(module, "segment_facts"):
        return None
    return module


def published(source: str) -> dict:
    """The raw ``segment_fields()`` of a source (with expressions), {} when it has none."""
    module = _api(source)
    return dict(module.segment_fields()) if module is not None else {}


def registries() -> dict[str, dict[str, rules.FieldSpec]]:
    """Every source's fields as plain specs, for ``rules.validate``."""
    out = {}
    for source in SOURCES:
        specs = {}
        for name, spec in published(source).items():
            kind = spec.get("type")
            if kind not in rules.REGISTRY_TYPES:
                continue  # a type segments cannot compare; not offered
            specs[name] = rules.FieldSpec(
                kind=kind, label=str(spec.get("label", name)), choices=_choices(spec)
            )
        if specs:
            out[source] = specs
    return out


def _choices(spec: dict) -> tuple:
    choices = spec.get("choices") or ()
    values = []
    for choice in choices:
        values.append(choice[0] if isinstance(choice, list | tuple) else choice)
    return tuple(values)


def choice_labels(spec: dict) -> list[tuple[str, str]]:
    out = []
    for choice in spec.get("choices") or ():
        if isinstance(choice, list | tuple):
            out.append((choice[0], str(choice[1])))
        else:
            out.append((choice, str(choice)))
    return out


def validate(raw) -> rules.Definition:
    """``rules.validate`` with the fields this installation publishes."""
    return rules.validate(raw, registries())


def facts(source: str, customer_id: int) -> dict:
    module = _api(source)
    return dict(module.segment_facts(customer_id) or {}) if module is not None else {}
