from django.db import models
from django.utils.translation import gettext_lazy as _

from ecrm.core.fields import money


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned")
    REFUNDED = "refunded", _("Refunded")


class LineKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    FEE = "fee", _("Fee")


class Order(models.Model):
    external_id = models.CharField(_("order number"), max_length=80, unique=True)
    # Null for a guest order nobody could be identified for.
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # served by order_customer_idx (customer, placed_at)
    )
    status = models.CharField(_("status"), max_length=10, choices=OrderStatus.choices)
    channel = models.CharField(_("channel"), max_length=40, blank=True)
    store = models.CharField(_("store"), max_length=80, blank=True)
    department = models.CharField(_("department"), max_length=80, blank=True)
    country = models.CharField(_("country"), max_length=60, blank=True)
    region = models.CharField(_("region"), max_length=60, blank=True)
    city = models.CharField(_("city"), max_length=60, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    subtotal = money(_("subtotal"))
    discount = money(_("discount"))
    shipping = money(_("shipping"))
    tax = money(_("tax"))
    total = money(_("total"))
    coupon = models.CharField(_("coupon"), max_length=80, blank=True)
    # Who made the sale: a staff username or the shop's own employee code (store clerks
    # often have no console login); the staff KPIs and reports group by it.
    employee = models.CharField(_("employee"), max_length=80, blank=True)
    placed_at = models.DateTimeField(_("placed at"))
    status_changed_at = models.DateTimeField(_("status changed at"))
    source = models.CharField(_("source"), max_length=40, blank=True)
    content_hash = models.CharField(max_length=32, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # When the source said what the order holds (a tracked Order Completed / Updated's
    # time): an older message about the order does not replace it. Empty for orders from
    # an import or the JSON API, whose writes are not ordered by a time of their own.
    content_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            # Covering for what reads a customer's orders in bulk (loyalty's set-based award,
            # RFM's window, figures): status, total and currency come from the index, not
            # from a row lookup per order (half the time at 1M customers).
            models.Index(
                fields=["customer", "placed_at", "status", "total", "currency"],
                name="order_customer_idx",
            ),
            models.Index(fields=["placed_at"], name="order_placed_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id


class OrderLine(models.Model):
    # Indexed by order_line_unique (order, line_no).
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_no = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=LineKind.choices, default=LineKind.PRODUCT)
    product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # served by order_line_product_idx
    )
    sku = models.CharField(_("SKU"), max_length=80, blank=True)
    name = models.CharField(_("name"), max_length=300, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3, default=1)
    unit_price = money(_("unit price"))
    amount = money(_("amount"))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="order_line_unique")
        ]
        indexes = [models.Index(fields=["product"], name="order_line_product_idx")]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class Return(models.Model):
    """Goods coming back or money refunded: a cancellation invoice, an Order Refunded event."""

    external_id = models.CharField(_("return number"), max_length=80, unique=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="returns"
    )
    # The order number the return names, kept while no such order is known (an Order
    # Refunded that overtook its Order Completed): the order, once recorded, adopts it.
    order_number = models.CharField(
        _("order number"), max_length=80, blank=True, default="", db_default=""
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # served by return_customer_idx (customer, returned_at)
    )
    currency = models.CharField(_("currency"), max_length=3)
    amount = money(_("amount"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    returned_at = models.DateTimeField(_("returned at"))
    source = models.CharField(_("source"), max_length=40, blank=True)
    content_hash = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        indexes = [
            models.Index(fields=["customer", "returned_at"], name="return_customer_idx"),
            # Only returns still waiting for their order: empty in a shop whose events
            # arrive in order, so an order checks it for nothing.
            models.Index(
                fields=["order_number"],
                name="return_waiting_order_idx",
                condition=models.Q(order__isnull=True) & ~models.Q(order_number=""),
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class ReturnLine(models.Model):
    # Indexed by return_line_unique (ret, line_no).
    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_no = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=LineKind.choices, default=LineKind.PRODUCT)
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sku = models.CharField(_("SKU"), max_length=80, blank=True)
    name = models.CharField(_("name"), max_length=300, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3, default=1)
    unit_price = money(_("unit price"))
    amount = money(_("amount"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ret", "line_no"], name="return_line_unique")
        ]
