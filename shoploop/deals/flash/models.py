"""Flash sales (秒杀): a merchant's time-boxed low price on one SKU with its own carved stock.

The sale row is the hot row of a rush: a buyer touches it with exactly one conditional UPDATE
(``available = available - q WHERE available >= q``). Sold and reserved counts are derived from the
purchases, so paying or watching a sale never writes to that row.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField

MAX_PER_USER_LIMIT = 99


STATUS_LABELS = {
    "scheduled": _("Upcoming"),
    "live": _("Live"),
    "paused": _("Paused"),
    "ended": _("Ended"),
}


class FlashSale(models.Model):
    class State(models.TextChoices):
        # "live" is not stored: a scheduled sale is live between starts_at and ends_at
        # (see ``status``), so starting a sale needs no write and no timer.
        SCHEDULED = "scheduled", _("Scheduled")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")

    public_id = PublicIdField()
    shop = models.ForeignKey(
        "catalog.Shop", on_delete=models.PROTECT, related_name="flash_sales", verbose_name=_("shop")
    )
    sku = models.ForeignKey(
        "catalog.SKU", on_delete=models.PROTECT, related_name="flash_sales", verbose_name=_("SKU")
    )
    price_fen = models.BigIntegerField(_("flash price (fen)"))
    # Units carved from the SKU at creation; ``available`` is what buyers can still reserve.
    stock = models.PositiveIntegerField(_("stock"))
    available = models.PositiveIntegerField(_("available"))
    per_user_limit = models.PositiveSmallIntegerField(_("limit per user"), default=1)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.SCHEDULED
    )
    # Units given back to the SKU when the sale ended (leftovers, then late releases).
    returned = models.PositiveIntegerField(_("returned to the SKU"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("flash sale")
        verbose_name_plural = _("flash sales")
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["state", "ends_at"], name="flash_sale_state_end")]
        constraints = [
            models.CheckConstraint(condition=Q(price_fen__gt=0), name="flash_sale_price_gt0"),
            models.CheckConstraint(condition=Q(stock__gt=0), name="flash_sale_stock_gt0"),
            models.CheckConstraint(
                condition=Q(available__lte=models.F("stock")), name="flash_sale_available_le_stock"
            ),
            models.CheckConstraint(
                condition=Q(per_user_limit__gte=1, per_user_limit__lte=MAX_PER_USER_LIMIT),
                name="flash_sale_limit_range",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="flash_sale_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"flash {self.public_id}"

    def status(self, now=None) -> str:
        """scheduled (not started yet), live, paused or ended, as buyers see it."""
        now = now or clock.now()
        if self.state != self.State.SCHEDULED:
            return self.state
        if now >= self.ends_at:
            return "ended"
        return "live" if now >= self.starts_at else "scheduled"

    def status_label(self, now=None) -> str:
        return STATUS_LABELS[self.status(now)]


class FlashQuota(models.Model):
    """How many units a buyer holds in a sale (reserved or paid). One row per (sale, buyer);
    the limit is one conditional UPDATE on it (``bought <= limit - q``), so parallel requests
    of the same buyer cannot both pass."""

    sale = models.ForeignKey(
        FlashSale, on_delete=models.CASCADE, related_name="quotas", verbose_name=_("flash sale")
    )
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    bought = models.PositiveSmallIntegerField(default=0, verbose_name=_("bought"))

    class Meta:
        verbose_name = _("flash-sale quota")
        verbose_name_plural = _("flash-sale quotas")
        constraints = [
            models.UniqueConstraint(fields=["sale", "buyer"], name="flash_one_quota_per_buyer"),
            models.CheckConstraint(condition=Q(bought__gte=0), name="flash_quota_not_negative"),
        ]

    def __str__(self) -> str:
        return f"flash quota {self.sale_id}/{self.buyer_id}: {self.bought}"


class FlashPurchase(models.Model):
    class State(models.TextChoices):
        RESERVED = "reserved", _("Reserved, awaiting payment")
        PAID = "paid", _("Paid")
        RELEASED = "released", _("Released")

    public_id = PublicIdField()
    sale = models.ForeignKey(
        FlashSale, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("flash sale")
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="flash_purchases",
        verbose_name=_("buyer"),
    )
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    order = models.OneToOneField(
        "orders.Order",
        on_delete=models.PROTECT,
        related_name="flash_purchase",
        verbose_name=_("order"),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.RESERVED
    )
    reserved_until = models.DateTimeField(_("pay before"))
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("flash-sale purchase")
        verbose_name_plural = _("flash-sale purchases")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "reserved_until"], name="flash_purchase_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="flash_purchase_qty_gt0"),
        ]

    def __str__(self) -> str:
        return f"flash purchase {self.public_id}"
