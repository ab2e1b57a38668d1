"""Group buying (拼团): a merchant's campaign on one or more SKUs of a product, the groups buyers
open, and their seats.

A campaign sells one or more variants (``GroupCampaignSKU``: a SKU of the product with its own
group price, optional leader price and stock), as Pinduoduo shows a group price per size or
colour. The campaign's own ``stock`` is the sum of its variants' stock, kept equal by the
services (every change to a variant's stock first changes the campaign's in the same
transaction: campaign row → variant row, on every path).

Counters that many buyers race on (campaign stock, a group's seats and paid members) change only
through conditional updates in ``services``; the CHECK constraints below are the database's last
word that a group is never over-full and stock never negative.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField

MIN_GROUP_SIZE = 2
MAX_GROUP_SIZE = 50
DEFAULT_GROUP_MINUTES = 24 * 60
MIN_GROUP_MINUTES = 5
MAX_GROUP_MINUTES = 72 * 60


class GroupCampaign(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")

    public_id = PublicIdField()
    shop = models.ForeignKey(
        "catalog.Shop",
        on_delete=models.PROTECT,
        related_name="group_campaigns",
        verbose_name=_("shop"),
    )
    # The first variant's SKU: the product the campaign sells (every variant is of it).
    sku = models.ForeignKey(
        "catalog.SKU",
        on_delete=models.PROTECT,
        related_name="group_campaigns",
        verbose_name=_("SKU"),
    )
    # The lowest group price of its variants (what lists show as "from"), and the first
    # variant's leader price; what a buyer pays is the chosen variant's.
    group_price_fen = models.PositiveIntegerField(_("group price (fen)"))
    leader_price_fen = models.PositiveIntegerField(_("leader price (fen)"), null=True, blank=True)
    group_size = models.PositiveSmallIntegerField(_("group size"))
    group_minutes = models.PositiveIntegerField(
        _("time limit per group (minutes)"), default=DEFAULT_GROUP_MINUTES
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    # Units carved from the SKUs at creation (the sum of the variants'); what is left goes back to
    # the SKUs when it ends.
    stock = models.PositiveIntegerField(_("stock left"))
    stock_total = models.PositiveIntegerField(_("campaign stock"))
    per_user_limit = models.PositiveSmallIntegerField(_("seats per buyer"), default=1)
    # The K rule: at the deadline a group with at least K paid members completes. Off when null.
    min_paid_to_complete = models.PositiveSmallIntegerField(
        _("complete with at least K paid members"), null=True, blank=True
    )
    communities = models.ManyToManyField(
        "communities.Community",
        related_name="group_campaigns",
        blank=True,
        verbose_name=_("only members of these communities may join"),
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("group campaign")
        verbose_name_plural = _("group campaigns")
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="group_campaign_stock_gte_0"),
            models.CheckConstraint(
                condition=Q(group_size__gte=MIN_GROUP_SIZE, group_size__lte=MAX_GROUP_SIZE),
                name="group_campaign_size_range",
            ),
        ]
        indexes = [models.Index(fields=["state", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.sku} ×{self.group_size} @ {self.group_price_fen}"

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE


class GroupCampaignSKU(models.Model):
    """One variant a campaign sells: a SKU of its product, its group price (and leader price),
    and the units carved from that SKU for the campaign."""

    campaign = models.ForeignKey(
        GroupCampaign, on_delete=models.CASCADE, related_name="variants", verbose_name=_("campaign")
    )
    sku = models.ForeignKey(
        "catalog.SKU", on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU")
    )
    group_price_fen = models.PositiveIntegerField(_("group price (fen)"))
    leader_price_fen = models.PositiveIntegerField(_("leader price (fen)"), null=True, blank=True)
    stock = models.PositiveIntegerField(_("stock left"))
    stock_total = models.PositiveIntegerField(_("campaign stock"))

    class Meta:
        verbose_name = _("campaign variant")
        verbose_name_plural = _("campaign variants")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "sku"], name="one_variant_per_campaign_sku"
            ),
            models.CheckConstraint(condition=Q(stock__gte=0), name="group_variant_stock_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} @ {self.group_price_fen}"

    @property
    def price_for_leader(self) -> int:
        return self.group_price_fen if self.leader_price_fen is None else self.leader_price_fen


class GroupBuyer(models.Model):
    """One row per (campaign, buyer): the lock a buyer's opens and joins in a campaign take first,
    so the per-buyer limit is counted (live seats) while no other open or join of the same buyer
    can add a seat. Nothing is stored to give back: a freed or refunded seat stops counting."""

    campaign = models.ForeignKey(
        GroupCampaign, on_delete=models.CASCADE, related_name="buyers", verbose_name=_("campaign")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )

    class Meta:
        verbose_name = _("group campaign buyer")
        verbose_name_plural = _("group campaign buyers")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="one_group_buyer_row"),
        ]

    def __str__(self) -> str:
        return f"buyer {self.user_id} in campaign {self.campaign_id}"


class Group(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("Open")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    public_id = PublicIdField()
    campaign = models.ForeignKey(
        GroupCampaign, on_delete=models.PROTECT, related_name="groups", verbose_name=_("campaign")
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_groups",
        verbose_name=_("leader"),
    )
    # A copy of the campaign's size, so the CHECK constraints below can see it on this row.
    size = models.PositiveSmallIntegerField(_("size"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    deadline = models.DateTimeField(_("deadline"))
    seats_taken = models.PositiveSmallIntegerField(_("seats taken"), default=0)
    # Members whose payment is held or kept: back to 0 when the group fails and refunds them.
    paid_count = models.PositiveSmallIntegerField(_("paid members"), default=0)
    refunded_count = models.PositiveSmallIntegerField(_("refunded members"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        constraints = [
            models.CheckConstraint(
                condition=Q(seats_taken__lte=F("size")), name="group_seats_taken_lte_size"
            ),
            models.CheckConstraint(
                condition=Q(paid_count__lte=F("size")), name="group_paid_count_lte_size"
            ),
            models.CheckConstraint(
                condition=Q(paid_count__lte=F("seats_taken")) | ~Q(state="open"),
                name="group_paid_lte_seats_when_open",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "deadline"]),
            models.Index(fields=["campaign", "state"]),
        ]

    def __str__(self) -> str:
        return f"group {self.public_id} ({self.paid_count}/{self.size}, {self.state})"

    @property
    def seats_left(self) -> int:
        return max(self.size - self.seats_taken, 0)

    @property
    def more_needed(self) -> int:
        return max(self.size - self.paid_count, 0)


class Seat(models.Model):
    class State(models.TextChoices):
        RESERVED = "reserved", _("Reserved, awaiting payment")
        PAID = "paid", _("Paid")
        FREED = "freed", _("Freed")
        REFUNDED = "refunded", _("Refunded")

    public_id = PublicIdField()
    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="seats", verbose_name=_("group")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="group_seats",
        verbose_name=_("user"),
    )
    order = models.OneToOneField(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="group_seat",
        verbose_name=_("order"),
    )
    # The variant this member chose. Always set; nullable only so that the migration could add
    # it to the seats that existed before variants (it fills them in).
    variant = models.ForeignKey(
        GroupCampaignSKU,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="seats",
        verbose_name=_("variant"),
    )
    price_fen = models.PositiveIntegerField(_("price (fen)"))
    is_leader = models.BooleanField(_("leader"), default=False)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.RESERVED
    )
    reserved_until = models.DateTimeField(_("reserved until"))
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("seat")
        verbose_name_plural = _("seats")
        constraints = [
            # One live seat per user per group: a freed seat lets the user try again.
            models.UniqueConstraint(
                fields=["group", "user"],
                condition=~Q(state="freed"),
                name="one_live_seat_per_user_per_group",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "reserved_until"]),
            models.Index(fields=["user", "state"]),
        ]

    def __str__(self) -> str:
        return f"seat {self.public_id} of {self.user} ({self.state})"
