"""Chart options built for console/charts.js."""

from ecrm.analytics.web import charts


def test_a_line_on_a_second_axis_keeps_its_own_format():
    """Bars of buyers read as counts; the repeat-purchase rate beside them as percentages,
    on its axis and in the tooltip (charts.js reads "ecrmFormat" on an axis and a series)."""
    option = charts.bars(
        ["2026-10", "2026-11"],
        [("New buyers", [3, 4]), ("Returning buyers", [1, 6])],
        stack=True,
        line=("Repeat-purchase rate", [0.25, 0.6], "percent"),
    )

    assert option["ecrmFormat"] == "integer"
    assert option["yAxis"] == [
        {"type": "value"},
        {"type": "value", "splitLine": {"show": False}, "ecrmFormat": "percent"},
    ]
    assert [(s["name"], s["type"], s.get("ecrmFormat")) for s in option["series"]] == [
        ("New buyers", "bar", None),
        ("Returning buyers", "bar", None),
        ("Repeat-purchase rate", "line", "percent"),
    ]
    assert option["series"][2]["yAxisIndex"] == 1
    assert option["series"][2]["data"] == [0.25, 0.6]
