"""Sharing tables: short links, visits through them, attributed purchases, and the two-level
commission scheme (shop rates, promoters, bindings, commissions). Rules live in services.py."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shoploop.core import clock
from shoploop.core.ids import PublicIdField


class TargetKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    GROUP = "group", _("Group buy")
    BARGAIN = "bargain", _("Bargain")
    CROWDFUNDING = "crowdfunding", _("Crowdfunding")
    FLASH = "flash", _("Flash sale")
    COMMUNITY = "community", _("Community")
    POST = "post", pgettext_lazy("share target", "Post")
    REVIEW = "review", _("Review")


class ShareLink(models.Model):
    """Who shared what, from which community. ``code`` is random (about 70 bits): unguessable."""

    code = PublicIdField()
    sharer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="share_links"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=TargetKind.choices)
    target_public_id = models.CharField(_("target"), max_length=12)
    community = models.ForeignKey(
        "communities.Community", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    signups_count = models.PositiveIntegerField(default=0)
    purchases_count = models.PositiveIntegerField(default=0)
    # The poster cache: the storage name of the last drawing and the state it drew.
    poster_name = models.CharField(max_length=200, blank=True)
    poster_state = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("share link")
        verbose_name_plural = _("share links")
        constraints = [
            # Sharing the same thing from the same place again gives the same link.
            models.UniqueConstraint(
                fields=["sharer", "kind", "target_public_id", "community"],
                condition=Q(community__isnull=False),
                name="referrals_one_link_per_target_in_community",
            ),
            models.UniqueConstraint(
                fields=["sharer", "kind", "target_public_id"],
                condition=Q(community__isnull=True),
                name="referrals_one_link_per_target",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def visits_count(self) -> int:
        """Counted from the visits: following a link does not write the link's row (a viral
        link's visitors would all queue on its lock). Lists annotate ``visit_total``."""
        annotated = self.__dict__.get("visit_total")
        return annotated if annotated is not None else self.visits.count()


class ShareVisit(models.Model):
    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="visits")
    # Null while the visitor is signed out; filled when they sign in or up in the same session.
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="share_visits",
    )
    signed_up = models.BooleanField(default=False)
    # SHA-256 of the truncated address (/24 or /48) with the secret key; erased after
    # REFERRALS_IP_HASH_HOURS by the ``referrals.forget_ip_hashes`` deadline handler.
    ip_hash = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["visitor", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.link_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class Attribution(models.Model):
    """A paid order credited to one sharer (the attribution rule, docs/sharing.md)."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="+")
    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="attributions")
    sharer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    total_fen = models.BigIntegerField()
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"order {self.order_id} → {self.sharer_id}"


class ShopCommission(models.Model):
    """A shop's commission scheme: level 1 (the sharer) and level 2 (who brought the sharer)."""

    shop = models.OneToOneField(
        "catalog.Shop", on_delete=models.CASCADE, related_name="commission_scheme"
    )
    enabled = models.BooleanField(default=False)
    level1_bps = models.PositiveIntegerField(default=0)
    level2_bps = models.PositiveIntegerField(default=0)
    requires_approval = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(level1_bps__lte=10000) & Q(level2_bps__lte=10000),
                name="referrals_shop_rates_bounded",
            )
        ]

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.level1_bps}/{self.level2_bps}"


class ProductCommission(models.Model):
    product = models.OneToOneField(
        "catalog.Product", on_delete=models.CASCADE, related_name="commission_override"
    )
    level1_bps = models.PositiveIntegerField()
    level2_bps = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.product_id}: {self.level1_bps}/{self.level2_bps}"


class Promoter(models.Model):
    """Someone who opted in to earn commissions (推广员). One per user, hence one per phone."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="promoter"
    )
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"promoter {self.user_id}"


class ShopPromoter(models.Model):
    """A promoter's standing with a shop that requires approval."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    shop = models.ForeignKey("catalog.Shop", on_delete=models.CASCADE, related_name="+")
    promoter = models.ForeignKey(Promoter, on_delete=models.CASCADE, related_name="shops")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "promoter"], name="referrals_one_application")
        ]

    def __str__(self) -> str:
        return f"{self.promoter_id} @ {self.shop_id}: {self.state}"


class Binding(models.Model):
    """Who brought a user: decided once (first visit through a promoter's link)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_binding"
    )
    promoter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bound_users"
    )
    link = models.ForeignKey(ShareLink, on_delete=models.SET_NULL, null=True, related_name="+")
    ip_hash = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(user=models.F("promoter")), name="referrals_no_self_binding"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ← {self.promoter_id}"


class Commission(models.Model):
    """One commission per (order line, level): frozen (a ledger hold), then available (posted),
    or reversed (voided). ``amount_fen`` is the current amount; ``hold_version`` the ledger hold
    that carries it (a partial refund voids it and holds the smaller amount as the next one)."""

    class State(models.TextChoices):
        FROZEN = "frozen", _("Frozen")
        AVAILABLE = "available", _("Available")
        REVERSED = "reversed", _("Reversed")

    public_id = PublicIdField()
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    shop = models.ForeignKey("catalog.Shop", on_delete=models.PROTECT, related_name="+")
    promoter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commissions"
    )
    level = models.PositiveSmallIntegerField()
    rate_bps = models.PositiveIntegerField()
    base_fen = models.BigIntegerField()
    original_fen = models.BigIntegerField()
    amount_fen = models.BigIntegerField()
    hold_version = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=10, choices=State.choices, default=State.FROZEN)
    created_at = models.DateTimeField(default=clock.now, db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order_line", "level"], name="referrals_one_per_level"),
            models.CheckConstraint(
                condition=Q(amount_fen__gte=0) & Q(amount_fen__lte=models.F("original_fen")),
                name="referrals_amount_within_original",
            ),
            models.CheckConstraint(condition=Q(level__in=[1, 2]), name="referrals_level_1_or_2"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} L{self.level} {self.amount_fen} ({self.state})"

    @property
    def ref(self) -> str:
        return f"commission:{self.public_id}"
