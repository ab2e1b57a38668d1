"""Bargaining (砍价): a merchant's campaign on a SKU, buyers' bargains, and friends' helps.

Field-level rules only; the business rules live in ``services.py``. A campaign's ``stock_left``
and a bargain's ``current_price_fen`` / ``helps_count`` change only through conditional updates
or under a row lock (see services).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField

MAX_HELPERS = 100
MAX_HOURS = 72
DEFAULT_HOURS = 24
DEFAULT_HELPS_PER_DAY = 3
MAX_HELPS_PER_DAY = 20


class BargainCampaign(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("Running")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")

    public_id = PublicIdField()
    shop = models.ForeignKey(
        "catalog.Shop",
        on_delete=models.CASCADE,
        related_name="bargain_campaigns",
        verbose_name=_("shop"),
    )
    sku = models.ForeignKey(
        "catalog.SKU", on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU")
    )
    title = models.CharField(_("title"), max_length=200)
    start_price_fen = models.BigIntegerField(_("start price (fen)"))
    floor_price_fen = models.BigIntegerField(_("floor price (fen)"))
    helpers_needed = models.PositiveSmallIntegerField(_("helpers needed"))
    hours_per_bargain = models.PositiveSmallIntegerField(
        _("hours per bargain"), default=DEFAULT_HOURS
    )
    stock_total = models.PositiveIntegerField(_("campaign stock"))
    stock_left = models.PositiveIntegerField(_("stock left"))
    buy_before_floor = models.BooleanField(_("may buy before the floor"), default=False)
    new_users_only = models.BooleanField(_("helpers must be new users"), default=False)
    helps_per_day = models.PositiveSmallIntegerField(
        _("helps per helper per day"), default=DEFAULT_HELPS_PER_DAY
    )
    starts_at = models.DateTimeField(_("starts at"), default=clock.now)
    ends_at = models.DateTimeField(_("ends at"))
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.ACTIVE, verbose_name=_("state")
    )
    stock_returned = models.PositiveIntegerField(default=0, verbose_name=_("returned to the SKU"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("bargain campaign")
        verbose_name_plural = _("bargain campaigns")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    floor_price_fen__gte=0, start_price_fen__gt=models.F("floor_price_fen")
                ),
                name="bargain_floor_below_start",
            ),
            models.CheckConstraint(
                condition=Q(stock_left__lte=models.F("stock_total")),
                name="bargain_stock_left_le_total",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "ends_at"]),
            models.Index(fields=["shop", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.public_id})"

    @property
    def total_cut_fen(self) -> int:
        return self.start_price_fen - self.floor_price_fen


class Bargain(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("Bargaining")
        BUYING = "buying", _("Waiting for payment")
        BOUGHT = "bought", _("Bought")
        EXPIRED = "expired", _("Expired")

    OPEN_STATES = (State.ACTIVE, State.BUYING)

    public_id = PublicIdField()
    campaign = models.ForeignKey(
        BargainCampaign,
        on_delete=models.CASCADE,
        related_name="bargains",
        verbose_name=_("campaign"),
    )
    initiator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="bargains",
        verbose_name=_("started by"),
    )
    # Server-side random seed of the cut sequence (see cuts.py); never shown to clients.
    seed = models.CharField(max_length=64, editable=False)
    # Which cut algorithm the seed feeds (cuts.ALGORITHMS): kept for the bargain's whole life so
    # a new algorithm never mixes with the cuts already made. Rows from before versions: 1.
    cuts_version = models.PositiveSmallIntegerField(
        _("cut algorithm version"), default=1, editable=False
    )
    current_price_fen = models.BigIntegerField(verbose_name=_("current price (fen)"))
    helps_count = models.PositiveSmallIntegerField(default=0, verbose_name=_("helps"))
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.ACTIVE, verbose_name=_("state")
    )
    deadline = models.DateTimeField(verbose_name=_("deadline"))
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("order"),
    )
    pay_deadline = models.DateTimeField(null=True, blank=True, verbose_name=_("pay before"))
    bought_at = models.DateTimeField(null=True, blank=True, verbose_name=_("bought at"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("bargain")
        verbose_name_plural = _("bargains")
        constraints = [
            # One open bargain per user per campaign at a time (the database decides races).
            models.UniqueConstraint(
                fields=["campaign", "initiator"],
                condition=Q(state__in=["active", "buying"]),
                name="one_open_bargain_per_user_campaign",
            ),
            models.CheckConstraint(
                condition=Q(current_price_fen__gte=0), name="bargain_price_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "deadline"]),
            models.Index(fields=["state", "pay_deadline"]),
            models.Index(fields=["initiator", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"bargain {self.public_id}"

    @property
    def helps_left(self) -> int:
        return max(self.campaign.helpers_needed - self.helps_count, 0)

    @property
    def floor_reached(self) -> bool:
        return self.helps_count >= self.campaign.helpers_needed


class Help(models.Model):
    bargain = models.ForeignKey(
        Bargain, on_delete=models.CASCADE, related_name="helps", verbose_name=_("bargain")
    )
    helper = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="bargain_helps",
        verbose_name=_("helper"),
    )
    position = models.PositiveSmallIntegerField(verbose_name=_("position"))
    cut_fen = models.BigIntegerField(verbose_name=_("cut (fen)"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("help")
        verbose_name_plural = _("helps")
        constraints = [
            models.UniqueConstraint(fields=["bargain", "helper"], name="one_help_per_bargain"),
            models.UniqueConstraint(fields=["bargain", "position"], name="one_help_per_position"),
            models.CheckConstraint(condition=Q(cut_fen__gte=1), name="help_cut_positive"),
        ]
        indexes = [models.Index(fields=["helper", "-created_at"])]

    def __str__(self) -> str:
        return f"help {self.position} on {self.bargain_id}: {self.cut_fen}"


class HelpQuota(models.Model):
    """Helps a user gave on one (local) day across all bargains; bumped by a conditional update
    so parallel helps on different bargains cannot pass the daily limit."""

    helper = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("helper"),
    )
    day = models.DateField(verbose_name=_("day"))
    used = models.PositiveSmallIntegerField(default=0, verbose_name=_("helps used"))

    class Meta:
        verbose_name = _("daily help count")
        verbose_name_plural = _("daily help counts")
        constraints = [
            models.UniqueConstraint(fields=["helper", "day"], name="one_help_quota_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.helper_id} on {self.day}: {self.used}"
