"""Coupons: a shop's coupon and the claims users hold on it.

Tables and field validation only; every rule lives in services.py. The database guards the
counters a race could break: a coupon is never claimed more often than its quantity, a user never
holds more claims than the per-user limit, and an order redeems at most one claim.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField

COUPON_NAME_MAX_LENGTH = 40
MIN_PERCENT_OFF = 1
MAX_PERCENT_OFF = 90
MAX_TOTAL_QUANTITY = 1_000_000
MAX_PER_USER_LIMIT = 100
ORDER_REF_MAX_LENGTH = 64


class Coupon(models.Model):
    class Kind(models.TextChoices):
        FIXED = "fixed", _("Fixed amount off")
        PERCENT = "percent", _("Percentage off")

    public_id = PublicIdField()
    shop = models.ForeignKey(
        "catalog.Shop", on_delete=models.CASCADE, related_name="coupons", verbose_name=_("shop")
    )
    name = models.CharField(_("name"), max_length=COUPON_NAME_MAX_LENGTH)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    # Fixed coupons: the amount taken off. Percentage coupons: unused (0).
    amount_off_fen = models.PositiveBigIntegerField(_("amount off (fen)"), default=0)
    # Percentage coupons: whole percent off and the most one order may save.
    percent_off = models.PositiveSmallIntegerField(_("percent off"), default=0)
    max_discount_fen = models.PositiveBigIntegerField(_("discount cap (fen)"), default=0)
    min_spend_fen = models.PositiveBigIntegerField(_("minimum spend (fen)"), default=0)
    starts_at = models.DateTimeField(_("valid from"))
    ends_at = models.DateTimeField(_("valid until"))
    total_quantity = models.PositiveIntegerField(_("total quantity"))
    # Never changed after creation: every claim copies it so the database can check the limit.
    per_user_limit = models.PositiveSmallIntegerField(_("limit per user"), default=1)
    claimed_count = models.PositiveIntegerField(_("claimed"), default=0)
    is_paused = models.BooleanField(_("paused"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(claimed_count__lte=F("total_quantity")),
                name="coupon_claims_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="coupon_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(total_quantity__gte=1, per_user_limit__gte=1),
                name="coupon_positive_quantities",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="fixed", amount_off_fen__gte=1, percent_off=0, max_discount_fen=0)
                    | Q(
                        kind="percent",
                        amount_off_fen=0,
                        percent_off__gte=MIN_PERCENT_OFF,
                        percent_off__lte=MAX_PERCENT_OFF,
                        max_discount_fen__gte=1,
                    )
                ),
                name="coupon_kind_amounts",
            ),
        ]
        indexes = [models.Index(fields=["shop", "-created_at"])]

    def __str__(self) -> str:
        return self.name


class CouponClaim(models.Model):
    """One coupon a user holds. ``number`` counts the user's claims of this coupon (1, 2, …) so the
    unique (coupon, user, number) and the check ``number <= user_limit`` enforce the per-user limit
    in the database. ``order_ref`` is set while an order uses the claim."""

    public_id = PublicIdField()
    coupon = models.ForeignKey(
        Coupon, on_delete=models.CASCADE, related_name="claims", verbose_name=_("coupon")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="coupon_claims",
        verbose_name=_("user"),
    )
    number = models.PositiveSmallIntegerField(_("claim number"))
    user_limit = models.PositiveSmallIntegerField(_("limit per user at claim time"))
    claimed_at = models.DateTimeField(_("claimed at"), default=clock.now)
    order_ref = models.CharField(
        _("order"), max_length=ORDER_REF_MAX_LENGTH, null=True, blank=True, default=None
    )
    discount_fen = models.PositiveBigIntegerField(_("discount given (fen)"), default=0)
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("coupon claim")
        verbose_name_plural = _("coupon claims")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["coupon", "user", "number"], name="coupon_claim_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1, number__lte=F("user_limit")),
                name="coupon_claim_within_user_limit",
            ),
            # One coupon per order (an order belongs to one shop); NULLs (unused claims) are
            # distinct on both databases.
            models.UniqueConstraint(fields=["order_ref"], name="coupon_one_claim_per_order"),
            models.CheckConstraint(
                condition=Q(order_ref__isnull=True, redeemed_at__isnull=True, discount_fen=0)
                | Q(order_ref__isnull=False, redeemed_at__isnull=False),
                name="coupon_claim_redemption_consistent",
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.coupon} · {self.user}"

    @property
    def is_redeemed(self) -> bool:
        return self.order_ref is not None
