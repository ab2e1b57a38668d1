"""Crowdsourcing tasks (众包): a shop asks its people to name, test, photograph or design
something; entrants submit one entry each; the merchant picks winners before the deadline.

A task's money reward is reserved in the ledger when the task is published (``reserved_fen``),
paid to each winner once (``paid_fen``) and the rest returned to the shop when the task ends
(``refunded_fen``). The counters are written under the task's row lock in the same transaction
as the transfers they describe; ``verify_ledger`` reconciles both (crowdtasks/verification.py).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField

TITLE_MAX_LENGTH = 80
BRIEF_MAX_LENGTH = 2000
ENTRY_MAX_LENGTH = 1000
MAX_WINNERS = 20


class Task(models.Model):
    class Kind(models.TextChoices):
        NAME = "name", _("Name a product")
        TEST = "test", _("Test a sample")
        PHOTO = "photo", _("Photograph it")
        LABEL = "label", _("Design a label")

    class RewardKind(models.TextChoices):
        MONEY = "money", _("Money")
        COUPON = "coupon", _("Coupon")

    class Audience(models.TextChoices):
        EVERYONE = "everyone", _("Everyone signed in")
        FOLLOWERS = "followers", _("The shop's followers and its communities' members")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        # The deadline passed (or every winner was picked) after at least one winner.
        CLOSED = "closed", _("Closed")
        # The deadline passed with no winner: the whole reward went back to the shop.
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = PublicIdField()
    shop = models.ForeignKey(
        "catalog.Shop", on_delete=models.PROTECT, related_name="crowdtasks", verbose_name=_("shop")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    brief = models.TextField(_("brief"), max_length=BRIEF_MAX_LENGTH)
    deadline = models.DateTimeField(_("deadline"))
    winners_count = models.PositiveSmallIntegerField(_("number of winners"))
    audience = models.CharField(
        _("open to"), max_length=10, choices=Audience.choices, default=Audience.EVERYONE
    )
    reward_kind = models.CharField(_("reward"), max_length=8, choices=RewardKind.choices)
    reward_fen = models.PositiveBigIntegerField(_("money per winner (fen)"), default=0)
    coupon = models.ForeignKey(
        "coupons.Coupon",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("coupon"),
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    winners_picked = models.PositiveSmallIntegerField(_("winners picked"), default=0)
    entries_count = models.PositiveIntegerField(_("entries"), default=0)
    reserved_fen = models.PositiveBigIntegerField(_("reserved (fen)"), default=0)
    paid_fen = models.PositiveBigIntegerField(_("paid (fen)"), default=0)
    refunded_fen = models.PositiveBigIntegerField(_("refunded (fen)"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("crowdsourcing task")
        verbose_name_plural = _("crowdsourcing tasks")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(winners_count__gte=1, winners_count__lte=MAX_WINNERS),
                name="crowdtask_winners_count_range",
            ),
            models.CheckConstraint(
                condition=Q(winners_picked__lte=F("winners_count")),
                name="crowdtask_winners_within_count",
            ),
            models.CheckConstraint(
                condition=Q(reward_kind="money", reward_fen__gte=1, coupon__isnull=True)
                | Q(reward_kind="coupon", reward_fen=0, coupon__isnull=False),
                name="crowdtask_reward_shape",
            ),
            models.CheckConstraint(
                condition=Q(reserved_fen__gte=F("paid_fen") + F("refunded_fen")),
                name="crowdtask_paid_within_reserved",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "-created_at"]),
            models.Index(
                fields=["deadline"], condition=Q(state="open"), name="crowdtask_open_deadline"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_money(self) -> bool:
        return self.reward_kind == self.RewardKind.MONEY

    @property
    def still_reserved_fen(self) -> int:
        return self.reserved_fen - self.paid_fen - self.refunded_fen

    @property
    def accepts_entries(self) -> bool:
        return self.state == self.State.OPEN and clock.now() < self.deadline


class Entry(models.Model):
    public_id = PublicIdField()
    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="entries", verbose_name=_("task")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="crowdtask_entries",
        verbose_name=_("author"),
    )
    text = models.TextField(_("entry"), max_length=ENTRY_MAX_LENGTH)
    photo = models.ImageField(_("photo"), upload_to="crowdtasks/%Y/%m/", blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("task entry")
        verbose_name_plural = _("task entries")
        ordering = ["created_at", "pk"]
        constraints = [
            # One entry per person per task: the database decides a race.
            models.UniqueConstraint(fields=["task", "author"], name="crowdtask_one_entry_each")
        ]

    def __str__(self) -> str:
        return self.text[:40]


class Winner(models.Model):
    """A picked entry and the reward it was given (exactly once: one row per entry)."""

    public_id = PublicIdField()
    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="winners", verbose_name=_("task")
    )
    entry = models.OneToOneField(
        Entry, on_delete=models.CASCADE, related_name="winner", verbose_name=_("entry")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crowdtask_wins"
    )
    amount_fen = models.PositiveBigIntegerField(_("money paid (fen)"), default=0)
    coupon_claim_public_id = models.CharField(_("coupon given"), max_length=12, blank=True)
    picked_at = models.DateTimeField(_("picked at"), default=clock.now)

    class Meta:
        verbose_name = _("task winner")
        verbose_name_plural = _("task winners")
        ordering = ["picked_at", "pk"]

    def __str__(self) -> str:
        return f"{self.task_id}:{self.entry_id}"
