"""Crowdfunding (众筹): a shop proposes a product that does not exist yet; backers pledge to reward
tiers and pay into holds; at the deadline the project succeeds (every hold goes on to fulfilment)
or fails (every hold is voided and refunded), all or nothing, exactly once."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField


class Project(models.Model):
    class TargetKind(models.TextChoices):
        FEN = "fen", _("Amount")
        UNITS = "units", _("Units")

    class State(models.TextChoices):
        LIVE = "live", _("Live")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    CLOSED_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    public_id = PublicIdField()
    shop = models.ForeignKey(
        "catalog.Shop",
        on_delete=models.PROTECT,
        related_name="crowdfunding_projects",
        verbose_name=_("shop"),
    )
    title = models.CharField(_("title"), max_length=120)
    # Plain text, stored as typed and escaped on output.
    story = models.TextField(_("story"), max_length=10000)
    target_kind = models.CharField(
        _("target kind"), max_length=5, choices=TargetKind.choices, default=TargetKind.FEN
    )
    target_value = models.PositiveBigIntegerField(_("target"))
    deadline = models.DateTimeField(_("deadline"))
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.LIVE, db_index=True
    )
    # Counts of ACTIVE (paid, held) pledges, changed only by conditional UPDATEs guarded by
    # state=live, so the outcome decided by the settle sees every counted pledge.
    pledged_fen = models.BigIntegerField(default=0, verbose_name=_("pledged (fen)"))
    pledged_units = models.IntegerField(default=0, verbose_name=_("pledged units"))
    backers = models.IntegerField(default=0, verbose_name=_("backers"))
    # Set while the creator has paused the project: no new pledges; the deadline still applies
    # and backers may still pay, cancel and be settled.
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    # When the outcome was decided (live → succeeded/failed) and when every pledge was processed.
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    settled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("settled at"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("crowdfunding project")
        verbose_name_plural = _("crowdfunding projects")
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=("state", "deadline"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(pledged_fen__gte=0, pledged_units__gte=0, backers__gte=0),
                name="crowdfunding_counters_non_negative",
            ),
            models.CheckConstraint(condition=Q(target_value__gt=0), name="crowdfunding_target"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def progress_value(self) -> int:
        return self.pledged_fen if self.target_kind == self.TargetKind.FEN else self.pledged_units

    @property
    def percent(self) -> int:
        return int(self.progress_value * 100 // self.target_value) if self.target_value else 0

    @property
    def reached(self) -> bool:
        return self.progress_value >= self.target_value

    @property
    def is_open(self) -> bool:
        return self.state == self.State.LIVE and clock.now() < self.deadline

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    @property
    def takes_pledges(self) -> bool:
        return self.is_open and not self.is_paused


class RewardTier(models.Model):
    public_id = PublicIdField()
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="tiers", verbose_name=_("project")
    )
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))
    title = models.CharField(_("title"), max_length=120)
    price_fen = models.BigIntegerField(_("price"))
    units = models.PositiveIntegerField(_("units per pledge"), default=1)
    limit = models.PositiveIntegerField(_("limit"), null=True, blank=True)
    # Pledges holding a place in the tier (awaiting payment or paid); conditional updates only.
    claimed = models.PositiveIntegerField(default=0, verbose_name=_("claimed"))
    estimated_delivery = models.DateField(_("estimated delivery"))

    class Meta:
        verbose_name = _("reward tier")
        verbose_name_plural = _("reward tiers")
        ordering = ("position", "pk")
        constraints = [
            models.CheckConstraint(
                condition=Q(limit__isnull=True) | Q(claimed__lte=models.F("limit")),
                name="crowdfunding_tier_within_limit",
            ),
            models.CheckConstraint(condition=Q(price_fen__gt=0), name="crowdfunding_tier_price"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.claimed, 0)


class Pledge(models.Model):
    class State(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
        ACTIVE = "active", _("Pledged")
        CANCELLED = "cancelled", _("Cancelled")
        CHARGED = "charged", _("Charged")
        REFUNDED = "refunded", _("Refunded")

    OPEN_STATES = (State.PENDING_PAYMENT, State.ACTIVE)

    public_id = PublicIdField()
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="pledges", verbose_name=_("project")
    )
    tier = models.ForeignKey(
        RewardTier, on_delete=models.PROTECT, related_name="pledges", verbose_name=_("reward tier")
    )
    backer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="pledges",
        verbose_name=_("backer"),
    )
    order = models.OneToOneField(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="crowdfunding_pledge",
        verbose_name=_("order"),
    )
    state = models.CharField(
        max_length=16,
        choices=State.choices,
        default=State.PENDING_PAYMENT,
        db_index=True,
        verbose_name=_("state"),
    )
    amount_fen = models.BigIntegerField(verbose_name=_("amount (fen)"))
    units = models.PositiveIntegerField(verbose_name=_("units"))
    expires_at = models.DateTimeField(verbose_name=_("pay before"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))

    class Meta:
        verbose_name = _("pledge")
        verbose_name_plural = _("pledges")
        ordering = ("-created_at", "-pk")
        constraints = [
            # One open pledge per backer per project: backers count people, not clicks.
            models.UniqueConstraint(
                fields=("project", "backer"),
                condition=Q(state__in=("pending_payment", "active")),
                name="crowdfunding_one_open_pledge",
            )
        ]
        indexes = [
            models.Index(fields=("project", "state")),
            models.Index(fields=("state", "expires_at")),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.backer_id}"


class Update(models.Model):
    public_id = PublicIdField()
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="updates", verbose_name=_("project")
    )
    body = models.TextField(max_length=5000, verbose_name=_("text"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("project update")
        verbose_name_plural = _("project updates")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return self.body[:40]


MAX_PROJECT_IMAGES = 9


class ProjectImage(models.Model):
    """A photo of the project's story: checked, shrunk and re-encoded by ``core.images`` (the
    product photos' pipeline) before it is stored."""

    public_id = PublicIdField()
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="images", verbose_name=_("project")
    )
    image = models.ImageField(_("image"), upload_to="crowdfunding/%Y/%m/")
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("project image")
        verbose_name_plural = _("project images")
        ordering = ("position", "created_at", "pk")

    def __str__(self) -> str:
        return f"{self.project} #{self.position}"
