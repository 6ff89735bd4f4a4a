"""The analytics read model: facts copied from orders, returns, contacts and events, and the
pre-aggregated cells the reports read. Rebuilt by ``analytics.services``; never edited by hand.

Customer ids are plain integers, not foreign keys: a merge re-points nothing here, the flow
refreshes both profiles instead (the source's facts disappear, the target's are rewritten).
"""

from django.db import models

from ecrm.analytics.rules import CELL_COLUMNS
from ecrm.core.fields import money


def _text(max_length: int = 80) -> models.CharField:
    return models.CharField(max_length=max_length, blank=True, default="")


# The dimensions a distinct-customer count on the facts may group or filter by: the covering
# index ``an_fact_day_buyers`` holds them, so such a count reads the index alone.
BUYER_COLUMNS = (
    "currency",
    "country",
    "region",
    "city",
    "channel",
    "department",
    "store",
    "employee",
)


class FactKind(models.TextChoices):
    ORDER = "o", "order"
    RETURN = "r", "return"
    CONTACT = "c", "contact"


class Fact(models.Model):
    """One order, one return or one contact, with its dimensions denormalised.

    ``day`` is the shop's calendar day (``rules.day_offset_seconds``). A return takes the
    dimensions of the order it refers to; a contact takes its channel and employee and the
    customer's province and city.
    """

    kind = models.CharField(max_length=1, choices=FactKind.choices)
    source_id = models.BigIntegerField()
    customer_id = models.BigIntegerField(null=True)
    day = models.DateField()
    country = _text(60)
    region = _text(60)
    city = _text(60)
    channel = _text(40)
    department = _text(80)
    store = _text(80)
    employee = _text(150)
    currency = _text(3)
    orders = models.IntegerField(default=0)
    new_customers = models.IntegerField(default=0)  # 1 on a customer's first order
    revenue = money("revenue")
    discount = money("discount")
    shipping = money("shipping")
    line_sales = money("product line sales")
    costed_sales = money("sales of lines with a known cost")
    cost = money("product cost")
    quantity = models.DecimalField(max_digits=18, decimal_places=3, default=0)
    returned = money("returned")
    contacts = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_id"], name="analytics_fact_once")
        ]
        indexes = [
            models.Index(fields=["customer_id"], name="analytics_fact_customer_idx"),
            # Reports read from the facts filter their kinds and a range of days; distinct
            # customers over such a range (weeks, days, several dimensions, segments: what
            # the customer cells do not answer) read this covering index alone.
            models.Index(
                fields=["kind", "day", "customer_id", *BUYER_COLUMNS], name="an_fact_day_buyers"
            ),
        ]


class ItemFact(models.Model):
    """One order's (or return's) product lines summed per category node: the leaf category
    and each of its ancestors get a row, so an order counts once in every node it touches and
    rolling a category up to its parent needs no DISTINCT. ``category_id`` 0: uncategorised."""

    kind = models.CharField(max_length=1, choices=FactKind.choices)
    source_id = models.BigIntegerField()
    customer_id = models.BigIntegerField(null=True)
    day = models.DateField()
    category_id = models.BigIntegerField()
    country = _text(60)
    region = _text(60)
    city = _text(60)
    channel = _text(40)
    department = _text(80)
    store = _text(80)
    employee = _text(150)
    currency = _text(3)
    orders = models.IntegerField(default=0)
    line_sales = money("product line sales")
    costed_sales = money("sales of lines with a known cost")
    cost = money("product cost")
    quantity = models.DecimalField(max_digits=18, decimal_places=3, default=0)
    returned = money("returned")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "source_id", "category_id"], name="analytics_item_once"
            )
        ]
        indexes = [
            models.Index(fields=["customer_id"], name="analytics_item_customer_idx"),
            models.Index(
                fields=["kind", "category_id", "day", "customer_id", "currency"],
                name="analytics_item_day_buyers",
            ),
        ]


class Cell(models.Model):
    """One cell of a pre-aggregated cube (``rules.CUBES``): the sums of the facts sharing its
    period and dimension values. Dimensions a cube does not keep hold ''. Every measure is
    additive, so a refresh adds the new facts' sums and subtracts the old ones'."""

    cube = models.SmallIntegerField()
    period = models.DateField()
    category_id = models.BigIntegerField(default=0)
    country = _text(60)
    region = _text(60)
    city = _text(60)
    channel = _text(40)
    department = _text(80)
    store = _text(80)
    employee = _text(150)
    currency = _text(3)
    orders = models.BigIntegerField(default=0)
    new_customers = models.BigIntegerField(default=0)
    revenue = money("revenue")
    discount = money("discount")
    shipping = money("shipping")
    line_sales = money("product line sales")
    costed_sales = money("sales of lines with a known cost")
    cost = money("product cost")
    quantity = models.DecimalField(max_digits=20, decimal_places=3, default=0)
    returned = money("returned")
    contacts = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cube", "period", *CELL_COLUMNS],
                name="analytics_cell_key",
            )
        ]


class CustomerCell(models.Model):
    """Distinct customers who ordered, per month / quarter / year / all time (``grain``
    m / q / y / a; ``period`` the first day, ``rules.ALL_TIME`` for a) and per value of one
    customer path (``rules.CUSTOMER_PATHS``: a dimension with the levels above it, such as
    country / region / city). Dimensions the path does not keep hold ''. Exact: a count is
    never added to another; the report uses a cell only when each of its rows is exactly one
    cell. A refresh subtracts the scope's customers from the cells their old facts counted
    them in and adds them where their new facts do."""

    path = models.SmallIntegerField()
    grain = models.CharField(max_length=1)
    period = models.DateField()
    category_id = models.BigIntegerField(default=0)
    country = _text(60)
    region = _text(60)
    city = _text(60)
    channel = _text(40)
    department = _text(80)
    store = _text(80)
    employee = _text(150)
    currency = _text(3)
    customers = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["path", "grain", "period", *CELL_COLUMNS],
                name="analytics_customercell_key",
            )
        ]
        indexes = [
            # Cells a refresh emptied, found without a scan.
            models.Index(
                fields=["customers"],
                name="an_customercell_empty",
                condition=models.Q(customers=0),
            )
        ]


class Activity(models.Model):
    """What one customer did in one month, quarter or year (``grain`` m / q / y): the stages
    of the funnel they reached (``flags``, bits in ``rules.FLAG``), their orders and revenue,
    and their cohort (first-order month as YYYYMM, 0 before any order)."""

    customer_id = models.BigIntegerField()
    grain = models.CharField(max_length=1)
    period = models.DateField()
    cohort = models.IntegerField(default=0)
    flags = models.IntegerField(default=0)
    orders = models.IntegerField(default=0)
    revenue = money("revenue")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id", "grain", "period"], name="analytics_activity_once"
            )
        ]


class ActivityCell(models.Model):
    """Distinct customers per period and cohort at each stage: sums over ``Activity`` rows,
    exact because each row is one customer in one period."""

    grain = models.CharField(max_length=1)
    period = models.DateField()
    cohort = models.IntegerField(default=0)
    visitors = models.BigIntegerField(default=0)
    viewers = models.BigIntegerField(default=0)
    carters = models.BigIntegerField(default=0)
    checkouts = models.BigIntegerField(default=0)
    buyers = models.BigIntegerField(default=0)
    repeat_buyers = models.BigIntegerField(default=0)
    new_buyers = models.BigIntegerField(default=0)
    orders = models.BigIntegerField(default=0)
    revenue = money("revenue")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "period", "cohort"], name="analytics_activitycell_key"
            )
        ]


class MemberCell(models.Model):
    """A snapshot of the customer base counted by registration month and channel
    (``view`` 1) or by country, province and city (``view`` 2), split by whether the
    profile is anonymous and by its activity status (``rules.MEMBER_STATUSES``)."""

    view = models.SmallIntegerField()
    registered = models.IntegerField(default=0)  # YYYYMM, 0 unknown
    channel = _text(40)
    country = _text(60)
    region = _text(60)
    city = _text(60)
    anonymous = models.BooleanField(default=False)
    status = models.CharField(max_length=10)
    customers = models.BigIntegerField(default=0)


class Snapshot(models.Model):
    """When each part of the read model was last rebuilt, and how long it took."""

    part = models.CharField(max_length=20, unique=True)
    built_at = models.DateTimeField()
    seconds = models.FloatField(default=0)
    rows = models.BigIntegerField(default=0)


class Pending(models.Model):
    """Customers whose orders changed since their facts were last refreshed; customer 0
    stands for the guest orders. Writers only add a row here (``flows``), so an order or an
    import never waits for the read model; ``refresh_pending`` (every minute on the worker)
    brings them up to date in short transactions."""

    customer_id = models.BigIntegerField(primary_key=True)


class CategoryPath(models.Model):
    """The category tree as a closure: each category with itself and every ancestor
    (``depth`` 0 is itself). Category 0 stands for lines without a category."""

    category_id = models.BigIntegerField()
    ancestor_id = models.BigIntegerField()
    depth = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["category_id", "ancestor_id"], name="analytics_categorypath_once"
            )
        ]
