"""ECharts options as plain data, drawn by console/charts.js (``{% chart option %}``)."""

from __future__ import annotations


def _num(value):
    if value is None:
        return None
    return float(value)


def bars(
    labels,
    series: list[tuple[str, list]],
    *,
    fmt="integer",
    stack=False,
    horizontal=False,
    urls=None,
    line: tuple[str, list, str] | None = None,
) -> dict:
    """Bars per label, one series each (stacked with ``stack``); ``urls`` (per label) make
    bars clickable; ``line`` adds (name, values, format) on a second axis."""
    category = {"type": "category", "data": list(labels)}
    value = {"type": "value"}
    option: dict = {
        "ecrmFormat": fmt,
        "tooltip": {"trigger": "axis"},
        "legend": {"show": len(series) > 1 or line is not None, "top": 0},
        "xAxis": value if horizontal else category,
        "yAxis": category if horizontal else value,
        "series": [],
    }
    if horizontal:
        option["yAxis"]["inverse"] = True
    for name, values in series:
        data = []
        for i, v in enumerate(values):
            if urls and urls[i]:
                data.append({"value": _num(v), "url": urls[i]})
            else:
                data.append(_num(v))
        entry = {"name": name, "type": "bar", "data": data, "barMaxWidth": 28}
        if stack:
            entry["stack"] = "total"
        option["series"].append(entry)
    if line is not None:
        name, values, line_fmt = line
        # The line reads in its own format on its axis and in the tooltip (charts.js).
        second = {"type": "value", "splitLine": {"show": False}, "ecrmFormat": line_fmt}
        option["yAxis"] = [value, second]
        option["series"].append(
            {
                "name": name,
                "type": "line",
                "yAxisIndex": 1,
                "smooth": True,
                "data": [_num(v) for v in values],
                "ecrmFormat": line_fmt,
            }
        )
    return option


def lines(labels, series: list[tuple[str, list]], *, fmt="integer", area=False) -> dict:
    return {
        "ecrmFormat": fmt,
        "tooltip": {"trigger": "axis"},
        "legend": {"show": len(series) > 1, "top": 0},
        "xAxis": {"type": "category", "data": list(labels), "boundaryGap": False},
        "yAxis": {"type": "value"},
        "series": [
            {
                "name": name,
                "type": "line",
                "smooth": True,
                "showSymbol": len(labels) < 40,
                "data": [_num(v) for v in values],
                **({"areaStyle": {"opacity": 0.12}} if area else {}),
            }
            for name, values in series
        ],
    }


def pie(items: list[tuple[str, float]], *, fmt="integer") -> dict:
    return {
        "ecrmFormat": fmt,
        "tooltip": {"trigger": "item"},
        "legend": {"type": "scroll", "bottom": 0},
        "series": [
            {
                "type": "pie",
                "radius": ["45%", "72%"],
                "center": ["50%", "45%"],
                "label": {"show": False},
                "data": [{"name": name, "value": _num(v)} for name, v in items],
            }
        ],
    }


def funnel(stages: list[tuple[str, int]]) -> dict:
    return {
        "ecrmFormat": "integer",
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "funnel",
                "sort": "none",
                "left": "10%",
                "width": "80%",
                "minSize": "8%",
                "gap": 2,
                "label": {"show": True, "position": "inside"},
                "data": [{"name": name, "value": v} for name, v in stages],
            }
        ],
    }


def heatmap(x_labels, y_labels, cells: list[tuple[int, int, float | None]]) -> dict:
    """Cells (x index, y index, share 0..1): the cohort retention matrix."""
    return {
        "ecrmFormat": "percent",
        "tooltip": {"position": "top"},
        "grid": {"left": 12, "right": 16, "top": 8, "bottom": 56, "containLabel": True},
        "xAxis": {"type": "category", "data": list(x_labels), "splitArea": {"show": True}},
        "yAxis": {
            "type": "category",
            "data": list(y_labels),
            "inverse": True,
            "splitArea": {"show": True},
        },
        "visualMap": {
            "min": 0,
            "max": 1,
            "calculable": True,
            "orient": "horizontal",
            "left": "center",
            "bottom": 0,
        },
        "series": [
            {
                "type": "heatmap",
                "label": {"show": True, "fontSize": 10},
                "data": [[x, y, None if v is None else round(v, 4)] for x, y, v in cells],
            }
        ],
    }
