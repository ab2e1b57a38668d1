"""Carts, checkouts, orders, their lines and timeline, and after-sale requests.

Tables and field validation only; every rule lives in services.py. Money is integer fen.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField

MIN_QUANTITY = 1
MAX_QUANTITY = 99
CARRIER_MAX_LENGTH = 40
TRACKING_MAX_LENGTH = 60
REASON_MAX_LENGTH = 500
SESSION_KEY_MAX_LENGTH = 40


# Codes are 2 (province), 4 (city) and 6 digits (district), but a city without districts
# (东莞市, 中山市, 嘉峪关市…) lists its 9-digit street codes in the district place.
REGION_CODE_LENGTH = 9


class Cart(models.Model):
    """One cart per signed-in user, or per anonymous session until sign-in merges it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="cart",
        verbose_name=_("user"),
    )
    session_key = models.CharField(
        _("session key"), max_length=SESSION_KEY_MAX_LENGTH, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, session_key__isnull=True)
                | Q(user__isnull=True, session_key__isnull=False),
                name="orders_cart_has_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"cart of {self.user_id or 'session'}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(
        "catalog.SKU", on_delete=models.CASCADE, related_name="+", verbose_name=_("SKU")
    )
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku"], name="orders_one_line_per_sku"),
            models.CheckConstraint(
                condition=Q(quantity__gte=MIN_QUANTITY, quantity__lte=MAX_QUANTITY),
                name="orders_cart_quantity_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku_id}"


class Checkout(models.Model):
    """One press of "check out": an order per shop, one payment for all of them."""

    public_id = PublicIdField()
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="checkouts",
        verbose_name=_("buyer"),
    )
    total_fen = models.BigIntegerField(_("total (fen)"))
    # "" for a cart checkout; for a deal (group seat, bargain, pledge, flash sale) the deal's
    # reference, e.g. "group_seat:<public id>". The deals app drives such checkouts' payments
    # and deadlines; the cart paths leave them alone.
    deal_ref = models.CharField(_("deal"), max_length=64, blank=True, db_index=True)
    # The ledger's Payment, by public id (the payments module owns that table): the current
    # attempt. A declined or abandoned one is replaced by a new attempt (retry_payment).
    payment_public_id = models.CharField(_("payment"), max_length=12, blank=True, db_index=True)
    payment_attempts = models.PositiveSmallIntegerField(_("payment attempts"), default=1)
    expires_at = models.DateTimeField(_("reservation expires at"))
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("checkout")
        verbose_name_plural = _("checkouts")
        constraints = [
            # A deal may be free (a bargain down to 0): no payment then; a cart checkout is > 0.
            models.CheckConstraint(
                condition=Q(total_fen__gt=0) | ~Q(deal_ref=""), name="orders_checkout_total_gt0"
            ),
            models.CheckConstraint(
                condition=Q(total_fen__gte=0), name="orders_checkout_total_gte0"
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def reference(self) -> str:
        return f"checkout:{self.public_id}"


class Order(models.Model):
    class State(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
        # Paid for a deal that has not succeeded yet (a group filling up, a crowdfunding running):
        # the money is held; the deal moves the order to "paid" or cancels and refunds it.
        AWAITING_DEAL = "awaiting_deal", _("Paid, waiting for the deal")
        PAID = "paid", _("Paid, to be shipped")
        SHIPPED = "shipped", _("Shipped")
        RECEIVED = "received", _("Received")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    class CancelReason(models.TextChoices):
        BUYER = "buyer", _("Cancelled by the buyer")
        MERCHANT = "merchant", _("Cancelled by the shop")
        EXPIRED = "expired", _("Not paid in time")
        PAYMENT_FAILED = "payment_failed", _("Payment failed")
        DEAL_FAILED = "deal_failed", _("The deal did not succeed")

    public_id = PublicIdField()
    checkout = models.ForeignKey(Checkout, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("buyer"),
    )
    shop = models.ForeignKey(
        "catalog.Shop", on_delete=models.PROTECT, related_name="orders", verbose_name=_("shop")
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING_PAYMENT
    )
    subtotal_fen = models.BigIntegerField(_("subtotal (fen)"))
    discount_fen = models.BigIntegerField(_("discount (fen)"), default=0)
    total_fen = models.BigIntegerField(_("total (fen)"))
    refunded_fen = models.BigIntegerField(_("refunded (fen)"), default=0)
    coupon_claim_public_id = models.CharField(_("coupon claim"), max_length=12, blank=True)
    # The current ledger hold toward the merchant is f"order:{public_id}:hold:{hold_version}".
    hold_version = models.PositiveIntegerField(default=0, editable=False)
    has_hold = models.BooleanField(default=False, editable=False)

    class DeliveryMethod(models.TextChoices):
        DELIVERY = "delivery", _("Delivery to an address")
        # 自提: the shop ships to a community's pickup point; its 团长 hands it over (pickup.md).
        PICKUP = "pickup", _("Pick up at a pickup point")

    delivery_method = models.CharField(
        _("delivery method"),
        max_length=16,
        choices=DeliveryMethod.choices,
        default=DeliveryMethod.DELIVERY,
    )
    # A copy of the address the order ships to, taken at checkout (the address book may change
    # later; this does not). Blank for an order that ships nothing (digital goods, some deals).
    ship_recipient = models.CharField(_("recipient"), max_length=40, blank=True)
    ship_phone = models.CharField(_("recipient's phone"), max_length=20, blank=True)
    ship_province = models.CharField(_("province"), max_length=40, blank=True)
    ship_city = models.CharField(_("city"), max_length=40, blank=True)
    ship_district = models.CharField(_("district"), max_length=40, blank=True)
    ship_district_code = models.CharField(
        _("district code"), max_length=REGION_CODE_LENGTH, blank=True
    )
    ship_street = models.CharField(_("street address"), max_length=120, blank=True)
    ship_postcode = models.CharField(_("postcode"), max_length=6, blank=True)
    carrier = models.CharField(_("carrier"), max_length=CARRIER_MAX_LENGTH, blank=True)
    tracking_number = models.CharField(
        _("tracking number"), max_length=TRACKING_MAX_LENGTH, blank=True
    )
    cancel_reason = models.CharField(
        _("cancel reason"), max_length=16, choices=CancelReason.choices, blank=True
    )
    reservation_expires_at = models.DateTimeField(_("reservation expires at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    fee_fen = models.BigIntegerField(_("platform fee (fen)"), default=0)
    # Pickup orders only (delivery_method "pickup"): the point, the code the buyer shows there,
    # and the 团长 and commission snapshotted at checkout (a later change of the point's leader
    # or the shop's setting does not move what this order owes). The commission is only
    # recorded here; the ledger transfer is wired by the referrals work (docs/pickup.md).
    pickup_point = models.ForeignKey(
        "orders.PickupPoint",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("pickup point"),
    )
    pickup_code = models.CharField(_("pickup code"), max_length=12, blank=True)
    pickup_leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pickup_orders",
        verbose_name=_("group leader"),
    )
    leader_commission_fen = models.BigIntegerField(_("group leader commission (fen)"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_fen__gte=0) & Q(total_fen=F("subtotal_fen") - F("discount_fen")),
                name="orders_total_is_subtotal_minus_discount",
            ),
            models.CheckConstraint(
                condition=Q(refunded_fen__gte=0) & Q(refunded_fen__lte=F("total_fen")),
                name="orders_refunded_within_total",
            ),
            models.CheckConstraint(
                condition=Q(leader_commission_fen__gte=0)
                & Q(leader_commission_fen__lte=F("total_fen")),
                name="orders_leader_commission_within_total",
            ),
            # The 团长 finds an order by the code the buyer shows: one order per code per point.
            models.UniqueConstraint(
                fields=["pickup_point", "pickup_code"],
                condition=Q(pickup_point__isnull=False),
                name="orders_one_pickup_code_per_point",
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "-created_at"]),
            models.Index(fields=["shop", "state", "-created_at"]),
            models.Index(fields=["state", "reservation_expires_at"]),
            models.Index(fields=["state", "shipped_at"]),
            models.Index(fields=["state", "received_at"]),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def ref(self) -> str:
        return f"order:{self.public_id}"

    @property
    def net_fen(self) -> int:
        return self.total_fen - self.refunded_fen

    @property
    def has_address(self) -> bool:
        return bool(self.ship_street)

    @property
    def is_pickup(self) -> bool:
        return self.delivery_method == self.DeliveryMethod.PICKUP

    @property
    def ship_region(self) -> str:
        parts = (self.ship_province, self.ship_city, self.ship_district)
        return " ".join(part for part in parts if part and part != "市辖区")

    @property
    def ship_address_line(self) -> str:
        """One line for a label: "广东省 深圳市 南山区 科技园 1 栋 (518000)"."""
        line = f"{self.ship_region} {self.ship_street}".strip()
        return f"{line} ({self.ship_postcode})" if self.ship_postcode else line

    @property
    def ship_national_phone(self) -> str:
        return self.ship_phone.removeprefix("+86")

    @property
    def carrier_label(self) -> str:
        from shoploop.orders.carriers import label

        return label(self.carrier)


class OrderLine(models.Model):
    """A snapshot of what was bought: title, options and price at checkout time."""

    public_id = PublicIdField()
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.SKU", on_delete=models.SET_NULL, null=True, related_name="+")
    product_public_id = models.CharField(max_length=12, blank=True)
    title = models.CharField(_("title"), max_length=200)
    options = models.JSONField(_("options"), default=dict, blank=True)
    unit_price_fen = models.BigIntegerField(_("unit price (fen)"))
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    # This line's share of the order total after the coupon (what a full refund of it returns).
    paid_fen = models.BigIntegerField(_("paid (fen)"))
    refunded_quantity = models.PositiveSmallIntegerField(_("refunded quantity"), default=0)
    refunded_fen = models.BigIntegerField(_("refunded (fen)"), default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_quantity__lte=F("quantity")),
                name="orders_line_refunded_quantity_within",
            ),
            models.CheckConstraint(
                condition=Q(refunded_fen__gte=0) & Q(refunded_fen__lte=F("paid_fen")),
                name="orders_line_refunded_within_paid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"

    @property
    def line_total_fen(self) -> int:
        return self.unit_price_fen * self.quantity

    @property
    def options_label(self) -> str:
        return " / ".join(str(value) for value in self.options.values())

    @property
    def refundable_quantity(self) -> int:
        return self.quantity - self.refunded_quantity

    @property
    def to_ship_quantity(self) -> int:
        """Units still to pack: a refund before shipping took the others back."""
        return self.quantity - self.refunded_quantity


EVENT_LABELS = {
    "placed": _("Order placed"),
    "paid": _("Paid"),
    "shipped": _("Shipped"),
    "sent_to_pickup": _("Sent to the pickup point"),
    "received": _("Received"),
    "completed": _("Completed"),
    "cancelled": _("Cancelled"),
    "refunded": _("Refunded"),
    "address_changed": _("Delivery address changed"),
    "payment_failed": _("Payment not completed"),
    "after_sale_requested": _("After-sale requested"),
    "after_sale_rejected": _("After-sale rejected by the shop"),
    "after_sale_escalated": _("After-sale escalated to the platform"),
    "after_sale_closed": _("After-sale closed by the platform"),
}


class OrderEvent(models.Model):
    """One entry of an order's timeline."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=REASON_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"

    @property
    def label(self) -> str:
        return str(EVENT_LABELS.get(self.kind, self.kind))

    @property
    def note_text(self) -> str:
        """The note in the reader's language when it is one of the system's own notes (stored
        as its English message id), else as typed by the person who wrote it."""
        return gettext(self.note) if self.note in EVENT_NOTES else self.note


class AfterSale(models.Model):
    """A buyer's refund request and its way to an end: every open state has a deadline
    (``due_at``) that ``settle_after_sale_deadlines`` acts on, or waits for an operator."""

    class Kind(models.TextChoices):
        REFUND_ONLY = "refund_only", _("Refund only")
        RETURN_AND_REFUND = "return_and_refund", _("Return and refund")

    class State(models.TextChoices):
        REQUESTED = "requested", _("Waiting for the shop")
        ACCEPTED = "accepted", _("Accepted: send the goods back")
        RETURN_SHIPPED = "return_shipped", _("Goods sent back: waiting for the shop")
        REJECTED = "rejected", _("Rejected by the shop")
        ESCALATED = "escalated", _("Waiting for the platform")
        REFUNDED = "refunded", _("Refunded")
        CLOSED = "closed", _("Closed without refund")

    class Reason(models.TextChoices):
        NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
        DAMAGED = "damaged", _("Arrived damaged")
        WRONG_ITEM = "wrong_item", _("Wrong item")
        QUALITY = "quality", _("Quality problem")
        CHANGED_MIND = "changed_mind", _("Changed my mind")
        NOT_RECEIVED = "not_received", _("Not received")
        OTHER = "other", _("Other")

    class Escalation(models.TextChoices):
        BUYER = "buyer", _("The buyer disagreed with the shop's rejection")
        NO_ANSWER = "no_answer", _("The shop did not answer in time")
        DISPUTE = "dispute", _("The shop disputed the returned goods")

    OPEN_STATES = (State.REQUESTED, State.ACCEPTED, State.RETURN_SHIPPED, State.ESCALATED)
    # The states whose ``due_at`` the deadline handler acts on.
    DEADLINE_STATES = (State.REQUESTED, State.ACCEPTED, State.RETURN_SHIPPED)

    public_id = PublicIdField()
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="after_sales")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.REQUESTED
    )
    reason_code = models.CharField(
        _("reason"), max_length=20, choices=Reason.choices, default=Reason.OTHER
    )
    reason = models.CharField(_("details"), max_length=REASON_MAX_LENGTH, blank=True)
    # When the current open state ends by itself: the shop's answer, the buyer's return
    # shipment, or the automatic refund of a shipped return. Null once decided or escalated.
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    return_carrier = models.CharField(
        _("return carrier"), max_length=CARRIER_MAX_LENGTH, blank=True
    )
    return_tracking_number = models.CharField(
        _("return tracking number"), max_length=TRACKING_MAX_LENGTH, blank=True
    )
    amount_fen = models.BigIntegerField(_("refund amount (fen)"))
    rejection_reason = models.CharField(
        _("rejection reason"), max_length=REASON_MAX_LENGTH, blank=True
    )
    dispute_reason = models.CharField(_("dispute reason"), max_length=REASON_MAX_LENGTH, blank=True)
    escalation = models.CharField(
        _("escalated because"), max_length=12, choices=Escalation.choices, blank=True
    )
    decision_note = models.CharField(_("operator note"), max_length=REASON_MAX_LENGTH, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    return_shipped_at = models.DateTimeField(_("return shipped at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("after-sale request")
        verbose_name_plural = _("after-sale requests")
        ordering = ["-created_at"]
        constraints = [
            # One open request per order at a time: the database refuses a second.
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(state__in=["requested", "accepted", "return_shipped", "escalated"]),
                name="orders_one_open_after_sale",
            ),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="orders_after_sale_gt0"),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="orders_after_sale_due"),
            models.Index(fields=["state", "escalated_at"], name="orders_after_sale_queue"),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def due_label(self) -> str:
        """What happens at ``due_at``, in the words the buyer and the shop read."""
        key = self.state
        if (
            self.state == self.State.REQUESTED
            and self.kind == self.Kind.REFUND_ONLY
            and self.order.state == Order.State.PAID
        ):
            key = "requested_unshipped"
        return str(DUE_LABELS.get(key, ""))


DUE_LABELS = {
    "requested_unshipped": _(
        "If the shop does not answer by then, the buyer is refunded automatically."
    ),
    AfterSale.State.REQUESTED: _("If the shop does not answer by then, the platform decides."),
    AfterSale.State.ACCEPTED: _(
        "The goods must be sent back with a tracking number by then, or the request closes."
    ),
    AfterSale.State.RETURN_SHIPPED: _(
        "Unless the shop disputes the returned goods by then, the buyer is refunded automatically."
    ),
}


class AfterSaleLine(models.Model):
    after_sale = models.ForeignKey(AfterSale, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    amount_fen = models.BigIntegerField(_("amount (fen)"))

    class Meta:
        verbose_name = _("after-sale line")
        verbose_name_plural = _("after-sale lines")
        constraints = [
            models.UniqueConstraint(
                fields=["after_sale", "order_line"], name="orders_after_sale_line_once"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_after_sale_qty"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line_id}"


RECIPIENT_MAX_LENGTH = 40
STREET_MAX_LENGTH = 120
PHONE_MAX_LENGTH = 20
POSTCODE_LENGTH = 6


class Address(models.Model):
    """One entry of a buyer's address book. The region is three codes of China's administrative
    divisions (see regions.py), never free text; an order keeps its own copy (``Order.ship_*``)."""

    public_id = PublicIdField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="addresses",
        verbose_name=_("user"),
    )
    recipient_name = models.CharField(_("recipient"), max_length=RECIPIENT_MAX_LENGTH)
    # E.164, e.g. +8613812345678 (accounts.phones.normalize_phone).
    phone = models.CharField(_("phone"), max_length=PHONE_MAX_LENGTH)
    province_code = models.CharField(_("province"), max_length=REGION_CODE_LENGTH)
    city_code = models.CharField(_("city"), max_length=REGION_CODE_LENGTH)
    district_code = models.CharField(_("district"), max_length=REGION_CODE_LENGTH)
    street = models.CharField(_("street address"), max_length=STREET_MAX_LENGTH)
    postcode = models.CharField(_("postcode"), max_length=POSTCODE_LENGTH, blank=True)
    is_default = models.BooleanField(_("default address"), default=False)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            # At most one default per user: the database refuses a second.
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default=True), name="orders_one_default_address"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_name} {self.street}"

    @property
    def region_label(self) -> str:
        from shoploop.orders import regions

        return regions.label(self.province_code, self.city_code, self.district_code)

    @property
    def masked_phone(self) -> str:
        national = self.phone.removeprefix("+86")
        return f"{national[:3]}****{national[-4:]}" if len(national) == 11 else national

    @property
    def national_phone(self) -> str:
        return self.phone.removeprefix("+86")


class EscalatedAfterSale(AfterSale):
    """The operators' queue in the admin: the same rows, only the escalated ones."""

    class Meta:
        proxy = True
        verbose_name = _("escalated after-sale request")
        verbose_name_plural = _("escalated after-sales (operator queue)")


# Timeline labels of the after-sale steps added with deadlines and returns (kept here, next to
# the after-sale models, and merged into the order timeline's labels).
EVENT_LABELS.update(
    {
        "after_sale_accepted": _("After-sale accepted: return the goods"),
        "after_sale_return_shipped": _("Goods sent back to the shop"),
        "after_sale_disputed": _("The shop disputed the returned goods"),
        "after_sale_expired": _("After-sale closed: the goods were not sent back in time"),
        "after_sale_auto_escalated": _("The shop did not answer: escalated to the platform"),
        "after_sale_void": _("After-sale closed: the order was already refunded"),
    }
)

# System notes of the after-sale steps: stored as the English message id, translated when shown
# (OrderEvent.note_text), so a note written while the shop browsed in Chinese reads in English
# on an English page.
NOTE_REFUND_ACCEPTED = gettext_noop("Refund accepted.")
NOTE_RETURN_RECEIVED = gettext_noop("The shop received the returned goods.")
NOTE_REFUNDED_BEFORE_SHIPPING = gettext_noop("Refunded in full before shipping.")
NOTE_NOTHING_TO_REFUND = gettext_noop("Nothing is left to refund.")
NOTE_AUTO_REFUND_RETURN = gettext_noop(
    "Refunded automatically: the shop did not dispute the returned goods."
)
NOTE_AUTO_REFUND_NO_ANSWER = gettext_noop(
    "Refunded automatically: the shop did not answer in time."
)
EVENT_NOTES = frozenset(
    {
        NOTE_REFUND_ACCEPTED,
        NOTE_RETURN_RECEIVED,
        NOTE_REFUNDED_BEFORE_SHIPPING,
        NOTE_NOTHING_TO_REFUND,
        NOTE_AUTO_REFUND_RETURN,
        NOTE_AUTO_REFUND_NO_ANSWER,
    }
)

MAX_AFTER_SALE_PHOTOS = 6


class AfterSalePhoto(models.Model):
    """A buyer's photo of the problem: checked, shrunk and re-encoded by ``core.images``."""

    public_id = PublicIdField()
    after_sale = models.ForeignKey(
        AfterSale, on_delete=models.CASCADE, related_name="photos", verbose_name=_("request")
    )
    image = models.ImageField(_("image"), upload_to="after-sales/%Y/%m/")
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("after-sale photo")
        verbose_name_plural = _("after-sale photos")
        ordering = ("position", "pk")

    def __str__(self) -> str:
        return f"{self.after_sale_id} #{self.position}"


PICKUP_NAME_MAX_LENGTH = 40
PICKUP_ADDRESS_MAX_LENGTH = 200
PICKUP_HOURS_MAX_LENGTH = 100


class PickupPoint(models.Model):
    """A community's pickup point (自提点), run by one of its 团长
    (``communities.CommunityLeader``). A community may have several; its members choose one
    instead of delivery at checkout."""

    public_id = PublicIdField()
    community = models.ForeignKey(
        "communities.Community",
        on_delete=models.PROTECT,
        related_name="pickup_points",
        verbose_name=_("community"),
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="pickup_points",
        verbose_name=_("group leader"),
    )
    name = models.CharField(_("name"), max_length=PICKUP_NAME_MAX_LENGTH)
    address = models.CharField(_("address"), max_length=PICKUP_ADDRESS_MAX_LENGTH)
    hours = models.CharField(_("opening hours"), max_length=PICKUP_HOURS_MAX_LENGTH)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("pickup point")
        verbose_name_plural = _("pickup points")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["community", "is_active"])]

    def __str__(self) -> str:
        return self.name


class ShopPickupSettings(models.Model):
    """A shop's pickup choices. No row means the defaults: pickup offered, no commission."""

    shop = models.OneToOneField(
        "catalog.Shop",
        on_delete=models.CASCADE,
        related_name="pickup_settings",
        verbose_name=_("shop"),
    )
    offers_pickup = models.BooleanField(_("offers pickup"), default=True)
    leader_commission_fen = models.PositiveIntegerField(
        _("group leader commission per order (fen)"), default=0
    )
    updated_at = models.DateTimeField(_("updated at"), default=clock.now)

    class Meta:
        verbose_name = _("shop pickup settings")
        verbose_name_plural = _("shop pickup settings")

    def __str__(self) -> str:
        return f"pickup settings of {self.shop_id}"


class LeaderCommission(models.Model):
    """The 团长's pickup commission on one order, paid through the ledger like a promoter's:
    frozen (a hold the shop owes) when the order is paid, brought down in proportion by refunds
    or reversed, available when the order completes. ``amount_fen`` is the current amount;
    ``hold_version`` the ledger hold that carries it (docs/pickup.md)."""

    class State(models.TextChoices):
        FROZEN = "frozen", _("Frozen")
        AVAILABLE = "available", _("Available")
        REVERSED = "reversed", _("Reversed")

    public_id = PublicIdField()
    order = models.OneToOneField(
        Order, on_delete=models.PROTECT, related_name="leader_commission_row"
    )
    shop = models.ForeignKey("catalog.Shop", on_delete=models.PROTECT, related_name="+")
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="leader_commissions"
    )
    original_fen = models.BigIntegerField()
    amount_fen = models.BigIntegerField()
    hold_version = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=10, choices=State.choices, default=State.FROZEN)
    created_at = models.DateTimeField(default=clock.now, db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen__gte=0) & Q(amount_fen__lte=F("original_fen")),
                name="orders_leader_commission_amount_within_original",
            ),
        ]
        indexes = [models.Index(fields=["leader", "state"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount_fen} ({self.state})"

    @property
    def ref(self) -> str:
        return f"commission:{self.public_id}"
