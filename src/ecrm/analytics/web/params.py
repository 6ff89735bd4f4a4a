"""A report request in a console URL: ``?dims=region,month&measures=revenue,orders
&from=2025-01-01&to=2025-12-31&f.region=浙江省&sort=-revenue``."""

from __future__ import annotations

from urllib.parse import urlencode


def from_query(query) -> dict:
    """The report request a query string describes (validated later by rules.parse_report)."""
    data: dict = {}
    dims = [d for d in query.getlist("dims") for d in d.split(",") if d.strip()]
    data["dimensions"] = dims
    measures = [m for m in query.getlist("measures") for m in m.split(",") if m.strip()]
    if measures:
        data["measures"] = measures
    filters = {}
    for key in query:
        if key.startswith("f."):
            values = [v for v in query.getlist(key) if v != ""]
            if values:
                filters[key[2:]] = values
    if filters:
        data["filters"] = filters
    for key in ("from", "to", "sort", "limit"):
        if query.get(key):
            data[key] = query.get(key)
    return data


def to_query(data: dict) -> str:
    """The query string of a report request (the inverse of ``from_query``)."""
    pairs: list[tuple[str, str]] = []
    if data.get("dimensions"):
        pairs.append(("dims", ",".join(data["dimensions"])))
    if data.get("measures"):
        pairs.append(("measures", ",".join(data["measures"])))
    for key in ("from", "to", "sort"):
        if data.get(key):
            pairs.append((key, str(data[key])))
    for name, values in (data.get("filters") or {}).items():
        for value in values:
            pairs.append((f"f.{name}", str(value)))
    return urlencode(pairs)
