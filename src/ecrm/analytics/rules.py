"""Report definitions as data: dimensions and their levels, measures, cubes, and the
validation of a report request. Pure: no ORM, no request.

A report request is JSON (the API body, the console's query string, the CLI):

    {"dimensions": ["region", "month"],
     "measures": ["revenue", "orders", "customers"],
     "filters": {"country": ["CN"], "channel": ["app", "web"], "year": ["2025"]},
     "from": "2025-01-01", "to": "2025-12-31",
     "sort": "-revenue", "limit": 100}

Every error names the JSON path of the bad part and, for an unknown name, lists the names that
exist. ``queries.run_report`` answers a validated ``Report`` from the smallest cube
(``CUBES``) that keeps every dimension and filter it needs, or from the facts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_noop as N_  # marks texts for translation; no ORM

from ecrm.core import clock
from ecrm.core.messages import NOT_A_DATE, OUT_OF_CALENDAR, Problem
from ecrm.core.text import whole_number

MAX_DIMENSIONS = 3
MAX_ROWS = 5_000
MAX_COHORT_MONTHS = 120  # months of retention a cohort table shows at most
DEFAULT_LIMIT = 500


class ReportError(Problem):
    """A report request was refused; ``field`` is the JSON path of the bad part. English
    through ``str()`` (the API, the CLI), the console's language through ``text``."""


# Why a request is refused (translated in analytics/locale).
UNKNOWN = {
    "key": N_("unknown key %(value)s; the keys are: %(known)s"),
    "dimension": N_("unknown dimension %(value)s; the dimensions are: %(known)s"),
    "measure": N_("unknown measure %(value)s; the measures are: %(known)s"),
    "column": N_("unknown column %(value)s; the columns are: %(known)s"),
}
NAMES_LIST = {
    "dimension": N_("must be a list of dimension names"),
    "measure": N_("must be a list of measure names"),
}
GIVEN_TWICE = {
    "dimension": N_("dimension %(value)s is given twice"),
    "measure": N_("measure %(value)s is given twice"),
}
NOT_A_PERIOD = {
    "year": N_("%(value)s is not a year (like 2025)"),
    "quarter": N_("%(value)s is not a quarter (like 2025-Q2)"),
    "month": N_("%(value)s is not a month (like 2025-03)"),
    "week": N_("%(value)s is not a week (like 2025-03-03, its Monday)"),
    "day": N_("%(value)s is not a day (like 2025-03-05)"),
}
NOT_A_MONDAY = N_("a week is named by its Monday; %(value)s is not one")
NOT_AN_OBJECT = N_("a report request is a JSON object")
TOO_MANY_DIMENSIONS = N_("at most %(max)s dimensions at a time")
ONE_TIME_LEVEL = N_("at most one time level (year, quarter, month, ...)")
NO_MEASURE = N_("name at least one measure")
FILTERS_OBJECT = N_("must be an object of dimension -> list of values")
FILTER_VALUES = N_("must be a non-empty list of values")
ONE_TIME_VALUE = N_("a time filter takes one value")
IDS_ONLY = N_("%(name)s filters take ids; %(value)s is not one")
ENDS_BEFORE_START = N_("the period ends before it starts")
WHOLE_NUMBER = N_("must be a whole number")
BETWEEN = N_("must be between %(min)s and %(max)s")
NOT_BY_CATEGORY = N_(
    "%(value)s does not exist per product category; by category the measures are: %(known)s"
)


# ---------------------------------------------------------------------------------------
# Dimensions: levels grouped in hierarchies. Drilling into a row of one level filters on
# its value and groups by the next level.

TIME_LEVELS = ("year", "quarter", "month", "week", "day")


@dataclass(frozen=True)
class Level:
    name: str
    hierarchy: str
    label: str  # English; translated by the console
    drill_to: str | None  # the next level down
    column: str | None  # the fact / cell column ('' for time and derived levels)


LEVELS: dict[str, Level] = {
    level.name: level
    for level in (
        Level("year", "time", N_("Year"), "quarter", None),
        Level("quarter", "time", N_("Quarter"), "month", None),
        Level("month", "time", N_("Month"), "day", None),
        Level("week", "time", N_("Week"), "day", None),
        Level("day", "time", N_("Day"), None, None),
        Level("country", "geography", N_("Country"), "region", "country"),
        Level("region", "geography", N_("Province / region"), "city", "region"),
        Level("city", "geography", N_("City"), None, "city"),
        # Categories drill into their own children (``category`` filtered on the parent).
        Level("category", "product", N_("Product category"), "category", "category_id"),
        Level("channel", "channel", N_("Channel"), None, "channel"),
        Level("department", "organisation", N_("Department"), "store", "department"),
        Level("store", "organisation", N_("Store"), "employee", "store"),
        Level("employee", "organisation", N_("Employee"), None, "employee"),
        Level("currency", "currency", N_("Currency"), None, "currency"),
        Level("segment", "customer", N_("Customer segment"), None, None),
    )
}
DIMENSION_NAMES = tuple(LEVELS)


# ---------------------------------------------------------------------------------------
# Measures. ``sums`` are the additive columns a measure is computed from; ``by_category``
# says whether it exists per product category (order-level amounts such as discounts,
# shipping and service contacts do not belong to any category).


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    kind: str  # money, count, ratio, quantity
    by_category: bool
    help: str


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure(
            "revenue",
            N_("Revenue"),
            "money",
            True,
            N_("Order totals of orders not cancelled; by category: the product lines' amounts."),
        ),
        Measure(
            "orders",
            N_("Orders"),
            "count",
            True,
            N_("Orders not cancelled; by category: orders with a line in the category."),
        ),
        Measure(
            "customers",
            N_("Customers"),
            "count",
            True,
            N_("Distinct customers who ordered."),
        ),
        Measure(
            "new_customers",
            N_("New customers"),
            "count",
            False,
            N_("Customers' first orders."),
        ),
        Measure(
            "aov",
            N_("Average order value"),
            "money",
            True,
            N_("Revenue / orders."),
        ),
        Measure(
            "margin",
            N_("Margin"),
            "money",
            True,
            N_(
                "Product line sales minus product cost, over lines whose product has a cost above "
                "zero (lines without one are left out; see cost coverage)."
            ),
        ),
        Measure(
            "margin_rate",
            N_("Margin rate"),
            "ratio",
            True,
            N_("Margin / sales of costed lines."),
        ),
        Measure(
            "cost_coverage",
            N_("Cost coverage"),
            "ratio",
            True,
            N_("Share of product line sales whose product has a cost."),
        ),
        Measure(
            "cost",
            N_("Product cost"),
            "money",
            True,
            N_("Quantity × product cost."),
        ),
        Measure("discounts", N_("Discounts"), "money", False, N_("Order discounts.")),
        Measure("shipping", N_("Shipping"), "money", False, N_("Shipping charged.")),
        Measure(
            "returns",
            N_("Returns"),
            "money",
            True,
            N_("Amounts refunded, on the return's day."),
        ),
        Measure(
            "quantity",
            N_("Units"),
            "quantity",
            True,
            N_("Units of product lines."),
        ),
        Measure(
            "contacts",
            N_("Service contacts"),
            "count",
            False,
            N_("Contacts logged."),
        ),
        Measure(
            "service_cost",
            N_("Service cost"),
            "money",
            False,
            N_("Contacts × cost per contact of their channel (the customer-value settings)."),
        ),
    )
}
MEASURE_NAMES = tuple(MEASURES)
DEFAULT_MEASURES = ("revenue", "orders", "customers", "margin", "returns")

# The columns each measure needs summed (``customers`` is a distinct count on the facts).
SUMS: dict[str, tuple[str, ...]] = {
    "revenue": ("revenue",),
    "orders": ("orders",),
    "customers": (),
    "new_customers": ("new_customers",),
    "aov": ("revenue", "orders"),
    "margin": ("costed_sales", "cost"),
    "margin_rate": ("costed_sales", "cost"),
    "cost_coverage": ("costed_sales", "line_sales"),
    "cost": ("cost",),
    "discounts": ("discount",),
    "shipping": ("shipping",),
    "returns": ("returned",),
    "quantity": ("quantity",),
    "contacts": ("contacts",),
    "service_cost": ("contacts",),
}


# ---------------------------------------------------------------------------------------
# Cubes: pre-aggregated cells, smallest first. ``source`` is the fact table they sum
# (``fact``: orders, returns and contacts; ``item``: order lines per category node).


@dataclass(frozen=True)
class Cube:
    id: int
    name: str
    source: str
    grain: str  # day or month
    levels: frozenset[str]  # non-time levels kept


CUBES: tuple[Cube, ...] = (
    Cube(
        1, "sales_day", "fact", "day", frozenset({"country", "channel", "department", "currency"})
    ),
    Cube(
        2,
        "sales_region",
        "fact",
        "month",
        frozenset({"country", "region", "channel", "department", "currency"}),
    ),
    Cube(
        3,
        "sales_full",
        "fact",
        "month",
        frozenset(
            {"country", "region", "city", "channel", "department", "store", "employee", "currency"}
        ),
    ),
    Cube(
        4,
        "items_month",
        "item",
        "month",
        frozenset({"category", "country", "region", "channel", "department", "currency"}),
    ),
)
CUBE_BY_ID = {c.id: c for c in CUBES}
# The non-time columns of a cell, in the order of its unique key.
CELL_COLUMNS = (
    "category_id",
    "country",
    "region",
    "city",
    "channel",
    "department",
    "store",
    "employee",
    "currency",
)
FACT_SUMS = (
    "orders",
    "new_customers",
    "revenue",
    "discount",
    "shipping",
    "line_sales",
    "costed_sales",
    "cost",
    "quantity",
    "returned",
    "contacts",
)
ITEM_SUMS = ("orders", "line_sales", "costed_sales", "cost", "quantity", "returned")
# The node above every root category (and "uncategorised", 0): every order with product
# lines counts once in it, which gives the totals of a report grouped by category.
ALL_CATEGORIES = -1
# In the item cube and facts ``revenue`` is the product lines' sales.
ITEM_COLUMN = {"revenue": "line_sales"}


# ---------------------------------------------------------------------------------------
# Distinct customers by dimension (``CustomerCell``). Distinct counts do not add up across
# periods or values, so each path keeps exact counts per month, quarter, year and all time;
# a report reads them only when each of its rows is exactly one cell (``queries``).


@dataclass(frozen=True)
class CustomerPath:
    id: int
    source: str  # fact or item
    levels: frozenset[str]  # kept besides the currency, which every path keeps


CUSTOMER_PATHS: tuple[CustomerPath, ...] = (
    CustomerPath(0, "fact", frozenset()),  # the currency alone: a report's totals
    CustomerPath(1, "fact", frozenset({"country"})),
    CustomerPath(2, "fact", frozenset({"country", "region"})),
    CustomerPath(3, "fact", frozenset({"country", "region", "city"})),
    CustomerPath(4, "fact", frozenset({"channel"})),
    CustomerPath(5, "fact", frozenset({"department"})),
    CustomerPath(6, "fact", frozenset({"department", "store"})),
    CustomerPath(7, "fact", frozenset({"department", "store", "employee"})),
    CustomerPath(8, "item", frozenset({"category"})),
)
CUSTOMER_GRAINS = {"month": "m", "quarter": "q", "year": "y", "all": "a"}
ALL_TIME = dt.date(2000, 1, 1)  # the period of the all-time cells (grain a)


def _period_start(level: str, day: dt.date) -> dt.date:
    return {"month": month_start, "quarter": quarter_start, "year": year_start}[level](day)


def _period_end(level: str, day: dt.date) -> dt.date:
    months = {"month": 1, "quarter": 3, "year": 12}[level]
    return add_months(_period_start(level, day), months) - dt.timedelta(days=1)


def customer_cells_for(report: Report) -> tuple[CustomerPath, str] | None:
    """The customer path and grain whose cells can count the report's distinct customers,
    or None (count them on the facts). The report's dimensions and filters (other than the
    currency) must all be levels of the path, and its time must be whole periods of one
    grain: grouped by month / quarter / year over whole ones, one whole month / quarter /
    year, or no limit at all. Whether each row is one cell is checked on the cells."""
    levels = report.levels_used - {"currency"}
    if "segment" in levels:
        return None
    source = source_of(report)
    paths = [p for p in CUSTOMER_PATHS if p.source == source and levels <= p.levels]
    if not paths:
        return None
    path = min(paths, key=lambda p: len(p.levels))
    start, end = report.date_from, report.date_to
    level = report.time_level
    if level in ("week", "day"):
        return None
    if level is None:
        if start is None and end is None:
            return path, CUSTOMER_GRAINS["all"]
        if start is None or end is None:
            return None
        for name in ("month", "quarter", "year"):
            if _period_start(name, start) == start and _period_end(name, start) == end:
                return path, CUSTOMER_GRAINS[name]
        return None
    if start is not None and _period_start(level, start) != start:
        return None
    if end is not None and _period_end(level, end) != end:
        return None
    return path, CUSTOMER_GRAINS[level]


# ---------------------------------------------------------------------------------------
# The funnel and the activity flags of ``Activity.flags``.

FLAG = {
    "visit": 1,  # any event or order
    "view": 2,
    "cart": 4,
    "checkout": 8,
    "buy": 16,
    "repeat": 32,  # an order that was not the customer's first
    "first": 64,  # the customer's first order
}
# Events that mark each stage (E-commerce Spec v2 names).
FUNNEL_EVENTS = {
    "view": ("Product Viewed",),
    "cart": ("Product Added",),
    "checkout": ("Checkout Started", "Order Completed"),
}
FUNNEL_STAGES = (
    (
        "visitors",
        N_("Visitors"),
        N_("Customers with any event or order in the period."),
    ),
    ("viewers", N_("Product views"), N_("Customers who viewed a product.")),
    ("carters", N_("Carts"), N_("Customers who added a product to the cart.")),
    ("buyers", N_("Orders"), N_("Customers who ordered.")),
    (
        "repeat_buyers",
        N_("Repeat orders"),
        N_("Customers who ordered and had ordered before."),
    ),
)
ACTIVITY_GRAINS = {"m": "month", "q": "quarter", "y": "year"}

# Member status by the last time a profile was seen (an event or an order).
ACTIVE_DAYS = 30
RECENT_DAYS = 90
MEMBER_STATUSES = ("active", "recent", "lapsed", "never")


def member_status(last_seen: dt.datetime | None, now: dt.datetime) -> str:
    if last_seen is None:
        return "never"
    days = (now - last_seen).days
    if days < ACTIVE_DAYS:
        return "active"
    if days < RECENT_DAYS:
        return "recent"
    return "lapsed"


# ---------------------------------------------------------------------------------------
# Time


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def year_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 1, 1)


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_number(day: dt.date) -> int:
    """YYYYMM, as ``Activity.cohort`` keeps months."""
    return day.year * 100 + day.month


def period_label(level: str, start: dt.date) -> str:
    """The text a time level's row shows and filters by: 2025, 2025-Q2, 2025-03, 2025-03-03."""
    if level == "year":
        return f"{start.year}"
    if level == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if level == "month":
        return f"{start.year}-{start.month:02d}"
    return start.isoformat()  # week (its Monday) and day


_TIME_VALUE = {
    "year": re.compile(r"^(\d{4})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "week": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    "day": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
}


def _in_calendar(day: dt.date, path: str) -> dt.date:
    if not clock.in_calendar(day):
        raise ReportError(path, OUT_OF_CALENDAR, first=clock.FIRST_DAY, last=clock.LAST_DAY)
    return day


def time_range(level: str, value: str, path: str) -> tuple[dt.date, dt.date]:
    """The days [start, end] one value of a time level covers."""
    match = _TIME_VALUE[level].match(str(value))
    try:
        if not match:
            raise ValueError
        parts = [int(p) for p in match.groups()]
        if level == "year":
            start = dt.date(parts[0], 1, 1)
            end = dt.date(parts[0], 12, 31)
        elif level == "quarter":
            start = dt.date(parts[0], 3 * parts[1] - 2, 1)
            end = add_months(start, 3) - dt.timedelta(days=1)
        elif level == "month":
            start = dt.date(parts[0], parts[1], 1)
            end = add_months(start, 1) - dt.timedelta(days=1)
        else:
            start = dt.date(*parts)
            end = start + dt.timedelta(days=6 if level == "week" else 0)
    except ValueError:
        raise ReportError(path, NOT_A_PERIOD[level], value=repr(value)) from None
    _in_calendar(start, path)
    _in_calendar(end, path)
    if level == "week" and start.weekday() != 0:
        raise ReportError(path, NOT_A_MONDAY, value=value)
    return start, end


def parse_date(value, path: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        raise ReportError(path, NOT_A_DATE, value=repr(value)) from None
    return _in_calendar(day, path)


# ---------------------------------------------------------------------------------------
# The report request


@dataclass(frozen=True)
class Report:
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]
    # Non-time filters: level -> allowed values (category and segment: ids as text).
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    date_from: dt.date | None = None  # inclusive
    date_to: dt.date | None = None  # inclusive
    sort: str = ""  # a measure or dimension, "-" for descending
    limit: int = DEFAULT_LIMIT
    # Time filters as given (level, value), kept for breadcrumbs; already in date_from/to.
    time_filters: tuple[tuple[str, str], ...] = field(default=())

    def filter_values(self, level: str) -> tuple[str, ...] | None:
        for name, values in self.filters:
            if name == level:
                return values
        return None

    @property
    def levels_used(self) -> frozenset[str]:
        return frozenset(d for d in self.dimensions if d not in TIME_LEVELS) | frozenset(
            name for name, _ in self.filters
        )

    @property
    def time_level(self) -> str | None:
        return next((d for d in self.dimensions if d in TIME_LEVELS), None)

    @property
    def by_category(self) -> bool:
        return "category" in self.levels_used

    def as_dict(self) -> dict:
        filters = {name: list(values) for name, values in self.filters}
        for level, value in self.time_filters:
            filters.setdefault(level, []).append(value)
        data = {
            "dimensions": list(self.dimensions),
            "measures": list(self.measures),
            "filters": filters,
            "sort": self.sort,
            "limit": self.limit,
        }
        if self.date_from:
            data["from"] = self.date_from.isoformat()
        if self.date_to:
            data["to"] = self.date_to.isoformat()
        return data


def _unknown(path: str, kind: str, value, known) -> ReportError:
    return ReportError(path, UNKNOWN[kind], value=repr(value), known=", ".join(known))


def _names(data, key: str, known, kind: str, default=()) -> tuple[str, ...]:
    raw = data.get(key, default)
    if isinstance(raw, str):
        raw = [p for p in raw.split(",") if p.strip()]
    if not isinstance(raw, list | tuple):
        raise ReportError(key, NAMES_LIST[kind])
    names = []
    for i, name in enumerate(raw):
        name = str(name).strip()
        if name not in known:
            raise _unknown(f"{key}[{i}]", kind, name, known)
        if name in names:
            raise ReportError(f"{key}[{i}]", GIVEN_TWICE[kind], value=repr(name))
        names.append(name)
    return tuple(names)


def parse_report(data: dict) -> Report:
    """Validate a report request; raises ``ReportError`` naming the bad part."""
    if not isinstance(data, dict):
        raise ReportError("", NOT_AN_OBJECT)
    allowed_keys = {"dimensions", "measures", "filters", "from", "to", "sort", "limit"}
    for key in data:
        if key not in allowed_keys:
            raise _unknown(key, "key", key, sorted(allowed_keys))
    dimensions = _names(data, "dimensions", DIMENSION_NAMES, "dimension")
    if len(dimensions) > MAX_DIMENSIONS:
        raise ReportError("dimensions", TOO_MANY_DIMENSIONS, max=MAX_DIMENSIONS)
    if sum(d in TIME_LEVELS for d in dimensions) > 1:
        raise ReportError("dimensions", ONE_TIME_LEVEL)
    measures = _names(data, "measures", MEASURE_NAMES, "measure", DEFAULT_MEASURES)
    if not measures:
        raise ReportError("measures", NO_MEASURE)

    raw_filters = data.get("filters") or {}
    if not isinstance(raw_filters, dict):
        raise ReportError("filters", FILTERS_OBJECT)
    filters: list[tuple[str, tuple[str, ...]]] = []
    time_filters: list[tuple[str, str]] = []
    date_from = parse_date(data["from"], "from") if data.get("from") else None
    date_to = parse_date(data["to"], "to") if data.get("to") else None
    for name, values in raw_filters.items():
        path = f"filters.{name}"
        if name not in LEVELS:
            raise _unknown(path, "dimension", name, DIMENSION_NAMES)
        if isinstance(values, str | int):
            values = [values]
        if not isinstance(values, list | tuple) or not values:
            raise ReportError(path, FILTER_VALUES)
        values = tuple(str(v) for v in values)
        if name in TIME_LEVELS:
            if len(values) != 1:
                raise ReportError(path, ONE_TIME_VALUE)
            start, end = time_range(name, values[0], f"{path}[0]")
            date_from = max(date_from, start) if date_from else start
            date_to = min(date_to, end) if date_to else end
            time_filters.append((name, values[0]))
            continue
        if name in ("category", "segment"):
            for i, v in enumerate(values):
                if whole_number(v) is None:
                    raise ReportError(f"{path}[{i}]", IDS_ONLY, name=name, value=repr(v))
        filters.append((name, values))
    if date_from and date_to and date_from > date_to:
        raise ReportError("to", ENDS_BEFORE_START)

    sort = str(data.get("sort") or "")
    if sort and sort.lstrip("-") not in set(measures) | set(dimensions):
        raise _unknown("sort", "column", sort.lstrip("-"), measures + dimensions)
    try:
        limit = int(data.get("limit") or DEFAULT_LIMIT)
    except (TypeError, ValueError):
        raise ReportError("limit", WHOLE_NUMBER) from None
    if not 1 <= limit <= MAX_ROWS:
        raise ReportError("limit", BETWEEN, min=1, max=MAX_ROWS)

    report = Report(
        dimensions=dimensions,
        measures=measures,
        filters=tuple(filters),
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        limit=limit,
        time_filters=tuple(time_filters),
    )
    if report.by_category:
        for i, name in enumerate(measures):
            if not MEASURES[name].by_category:
                available = [m for m in MEASURE_NAMES if MEASURES[m].by_category]
                raise ReportError(
                    f"measures[{i}]", NOT_BY_CATEGORY, value=repr(name), known=", ".join(available)
                )
    return report


def category_measures(measures: tuple[str, ...]) -> tuple[str, ...]:
    """The measures that survive adding the category dimension (the console drops the rest)."""
    return tuple(m for m in measures if MEASURES[m].by_category)


def source_of(report: Report) -> str:
    return "item" if report.by_category else "fact"


def needed_grain(report: Report) -> str:
    """``month`` when the time level and the period fall on month boundaries, else ``day``."""
    if report.time_level in ("week", "day"):
        return "day"
    if report.date_from and report.date_from.day != 1:
        return "day"
    if report.date_to and (report.date_to + dt.timedelta(days=1)).day != 1:
        return "day"
    return "month"


def choose_cube(report: Report) -> Cube | None:
    """The smallest cube that answers the report, or None: read the facts."""
    if "segment" in report.levels_used:
        return None
    source = source_of(report)
    grain = needed_grain(report)
    for cube in CUBES:
        if cube.source != source:
            continue
        if grain == "day" and cube.grain != "day":
            continue
        if report.levels_used <= cube.levels:
            return cube
    return None


def drill(report: Report, level: str, value: str) -> dict | None:
    """The request for one row's drill-down: filter on the row's value, group by the next
    level of that dimension. None when the level has no next level."""
    target = LEVELS[level].drill_to
    if target is None:
        return None
    data = report.as_dict()
    filters = data["filters"]
    if level == "category":
        filters["category"] = [value]
    else:
        filters[level] = [value]
    data["dimensions"] = [target if d == level else d for d in data["dimensions"]]
    if data["sort"].lstrip("-") == level:
        data["sort"] = data["sort"].replace(level, target)
    return data


# ---------------------------------------------------------------------------------------
# Service cost


def contact_costs(settings: dict | None) -> tuple[dict[str, Decimal], Decimal]:
    """Cost per contact by channel and the default for other channels, from the value
    domain's profit settings ``{"contact_costs": {"phone": "8.00"}, "default_contact_cost":
    "0"}``; a missing or unreadable amount counts as 0."""

    def amount(value) -> Decimal:
        try:
            result = Decimal(str(value))
        except (InvalidOperation, ValueError):
            return Decimal(0)
        return result if result.is_finite() and result >= 0 else Decimal(0)

    settings = settings or {}
    per_channel = {str(k): amount(v) for k, v in (settings.get("contact_costs") or {}).items()}
    return per_channel, amount(settings.get("default_contact_cost", 0))
