"""Double-entry ledger tables (TigerBeetle's model, in SQL).

Every movement of money is a ``Transfer`` from a debit account to a credit account. Transfers are
immutable. A pending transfer reserves funds and is resolved exactly once by a post or a void
transfer that points at it (the database enforces "once" with a unique constraint). The four
balance columns on ``Account`` are a cache of sums over transfers, updated by conditional UPDATEs
in the same transaction as the transfer; ``verify_ledger`` recomputes them from the transfers.
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField


class AccountKind(models.TextChoices):
    PROVIDER_CLEARING = "provider_clearing", _("Payment provider clearing")
    BUYER_ESCROW = "buyer_escrow", _("Buyer escrow")
    MERCHANT_PENDING = "merchant_pending", _("Merchant pending")
    MERCHANT_AVAILABLE = "merchant_available", _("Merchant available")
    PLATFORM_FEES = "platform_fees", _("Platform fees")
    REFUNDS = "refunds", _("Refunds")
    PAYOUTS_IN_TRANSIT = "payouts_in_transit", _("Payouts in transit")
    COMMISSIONS = "commissions", _("Referral commissions")
    # What a shop owes its promoters for frozen commissions: debited when a commission is held,
    # settled from the shop's available funds when it is released (docs/sharing.md).
    COMMISSIONS_PAYABLE = "commissions_payable", _("Commissions payable")
    # What an order's completion kept back from the shop's share for its frozen commissions, so
    # the shop cannot withdraw it; it settles them when they are released (docs/sharing.md).
    COMMISSIONS_RESERVED = "commissions_reserved", _("Commissions reserved")
    # A crowdsourcing task's money reward, reserved from the shop's available funds when the task
    # is published, paid to winners and the rest returned to the shop (docs/crowdtasks.md).
    TASK_REWARDS = "task_rewards", _("Task rewards reserved")


class Limit(models.TextChoices):
    NONE = "none", _("No limit")
    # Money held for someone: never pay out more than came in.
    DEBITS_MUST_NOT_EXCEED_CREDITS = "debits_le_credits", _("Debits must not exceed credits")
    CREDITS_MUST_NOT_EXCEED_DEBITS = "credits_le_debits", _("Credits must not exceed debits")


class Account(models.Model):
    public_id = PublicIdField()
    kind = models.CharField(_("kind"), max_length=32, choices=AccountKind.choices)
    # A stable natural key ("merchant_available:shop:Ab3…"), so opening an account is idempotent.
    code = models.CharField(_("code"), max_length=120, unique=True)
    owner_ref = models.CharField(_("owner"), max_length=80, blank=True, db_index=True)
    limit = models.CharField(_("limit"), max_length=24, choices=Limit.choices, default=Limit.NONE)
    debits_pending = models.BigIntegerField(default=0, editable=False)
    debits_posted = models.BigIntegerField(default=0, editable=False)
    credits_pending = models.BigIntegerField(default=0, editable=False)
    credits_posted = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            # A backstop behind the services' conditional updates: a limited account can never be
            # overdrawn, whatever code writes to it.
            models.CheckConstraint(
                condition=~Q(limit="debits_le_credits")
                | Q(credits_posted__gte=F("debits_posted") + F("debits_pending")),
                name="ledger_debits_within_credits",
            ),
            models.CheckConstraint(
                condition=~Q(limit="credits_le_debits")
                | Q(debits_posted__gte=F("credits_posted") + F("credits_pending")),
                name="ledger_credits_within_debits",
            ),
            models.CheckConstraint(
                condition=Q(debits_pending__gte=0)
                & Q(debits_posted__gte=0)
                & Q(credits_pending__gte=0)
                & Q(credits_posted__gte=0),
                name="ledger_sums_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def credit_balance(self) -> int:
        """Posted credits minus posted debits: what a credit-normal account (money held for
        someone, e.g. a merchant's available funds) holds."""
        return self.credits_posted - self.debits_posted

    @property
    def debit_balance(self) -> int:
        return self.debits_posted - self.credits_posted


class TransferKind(models.TextChoices):
    SINGLE = "single", _("Posted")
    PENDING = "pending", _("Pending (hold)")
    POST = "post", _("Post of a hold")
    VOID = "void", _("Void of a hold")


class Transfer(models.Model):
    public_id = PublicIdField()
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=TransferKind.choices)
    debit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="debit_transfers"
    )
    credit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="credit_transfers"
    )
    amount = models.BigIntegerField(_("amount (fen)"))
    pending = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="resolutions"
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=80)
    cause = models.CharField(_("caused by"), max_length=80, blank=True, db_index=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")), name="ledger_distinct_accounts"
            ),
            # A hold is posted or voided exactly once: the database refuses a second resolution.
            models.UniqueConstraint(
                fields=["pending"],
                condition=Q(pending__isnull=False),
                name="ledger_one_resolution_per_hold",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["post", "void"], pending__isnull=False)
                | Q(kind__in=["single", "pending"], pending__isnull=True),
                name="ledger_resolution_points_at_hold",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(kind="pending", expires_at__isnull=False),
                name="ledger_expiring_holds",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.debit_account_id}→{self.credit_account_id}"

    def save(self, *args, **kwargs):
        # Transfers are facts: a correction is a new transfer, never an edit.
        if not self._state.adding:
            raise ValueError("ledger transfers are immutable")
        super().save(*args, **kwargs)


# --- payments, refunds, payouts --------------------------------------------------------------
# These tables record what happened with the outside world (a provider, a bank). The money itself
# moves only as ledger transfers keyed by these rows' public ids.


class Payment(models.Model):
    """One buyer payment through a provider for one reference (e.g. "checkout:<id>")."""

    class State(models.TextChoices):
        REQUIRES_PAYMENT = "requires_payment", _("Awaiting payment")
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Paid")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    public_id = PublicIdField()
    payer = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="payments", verbose_name=_("payer")
    )
    amount = models.BigIntegerField(_("amount (fen)"))
    reference = models.CharField(_("reference"), max_length=120, db_index=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    provider = models.CharField(_("provider"), max_length=20)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.REQUIRES_PAYMENT
    )
    provider_trade_no = models.CharField(_("provider trade number"), max_length=64, blank=True)
    # What the provider actually took (0 or amount) and what went back: refunds never exceed it.
    captured_fen = models.BigIntegerField(_("captured (fen)"), default=0, editable=False)
    refunded_fen = models.BigIntegerField(_("refunded (fen)"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    captured_at = models.DateTimeField(_("captured at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("failed or canceled at"), null=True, blank=True)
    # Lost notifications: while the payment is open, we ask the provider at next_query_at (first
    # a few minutes after creation, then less and less often); see payments.settle_due_queries.
    next_query_at = models.DateTimeField(_("next provider query at"), null=True, blank=True)
    query_attempts = models.PositiveIntegerField(_("provider queries"), default=0)
    # The sandbox's own record of the buyer's answer ("succeeded"/"failed"), which its query
    # returns: the sandbox's equivalent of the provider's books.
    sandbox_outcome = models.CharField(_("sandbox answer"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(
                fields=["next_query_at"],
                condition=Q(state__in=["requires_payment", "processing"]),
                name="ledger_payments_to_query",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["payer", "idempotency_key"], name="ledger_payment_idempotency"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_payment_positive"),
            models.CheckConstraint(
                condition=Q(captured_fen=0) | Q(captured_fen=F("amount")),
                name="ledger_payment_captured_whole",
            ),
            models.CheckConstraint(
                condition=Q(refunded_fen__gte=0) & Q(refunded_fen__lte=F("captured_fen")),
                name="ledger_payment_refunds_within_capture",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.reference}"

    @property
    def refundable_fen(self) -> int:
        return self.captured_fen - self.refunded_fen


class PaymentEvent(models.Model):
    """A provider callback, processed once per (provider, event id) — the database guarantees it."""

    class Outcome(models.TextChoices):
        CAPTURED = "captured", _("Captured")
        FAILED = "failed", _("Marked failed")
        IGNORED = "ignored", _("Ignored (already settled)")
        AMOUNT_MISMATCH = "amount_mismatch", _("Refused: amount mismatch")
        LATE_CAPTURE_REFUNDED = "late_capture_refunded", _("Paid after closing; refunded")

    provider = models.CharField(_("provider"), max_length=20)
    event_id = models.CharField(_("provider event id"), max_length=100)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="events", verbose_name=_("payment")
    )
    kind = models.CharField(_("reported outcome"), max_length=20)
    amount = models.BigIntegerField(_("reported amount (fen)"))
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("received at"), default=clock.now)

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="ledger_payment_event_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id} {self.outcome}"


class Refund(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Failed (needs an operator)")

    public_id = PublicIdField()
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment")
    )
    key = models.CharField(_("idempotency key"), max_length=120)
    amount = models.BigIntegerField(_("amount (fen)"))
    reason = models.CharField(_("reason"), max_length=80, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default="pending")
    attempts = models.PositiveIntegerField(_("provider attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    provider_refund_no = models.CharField(_("provider refund number"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.UniqueConstraint(fields=["payment", "key"], name="ledger_refund_key_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_refund_positive"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="ledger_refunds_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount}"


class Withdrawal(models.Model):
    """A payout to a bank account (only a masked account number is stored): a merchant's from
    the shop's available funds, or a beneficiary's (a promoter) from their available
    commissions (``beneficiary_ref`` = ``user:<public_id>``, no shop)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed (funds returned)")

    public_id = PublicIdField()
    shop = models.ForeignKey(
        "catalog.Shop",
        on_delete=models.PROTECT,
        related_name="withdrawals",
        verbose_name=_("shop"),
        null=True,
        blank=True,
    )
    beneficiary_ref = models.CharField(_("beneficiary"), max_length=80, blank=True)
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    request_key = models.CharField(_("request key"), max_length=200)
    amount = models.BigIntegerField(_("amount (fen)"))
    account_holder = models.CharField(_("account holder"), max_length=60)
    account_masked = models.CharField(_("account number"), max_length=32)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="pending")
    attempts = models.PositiveIntegerField(_("provider attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=300, blank=True)
    provider_ref = models.CharField(_("provider reference"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        constraints = [
            models.UniqueConstraint(fields=["shop", "request_key"], name="ledger_withdrawal_once"),
            models.UniqueConstraint(
                fields=["beneficiary_ref", "request_key"],
                condition=Q(shop__isnull=True),
                name="ledger_beneficiary_withdrawal_once",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_withdrawal_positive"),
            # Either a shop's payout or a beneficiary's, never both nor neither.
            models.CheckConstraint(
                condition=(Q(shop__isnull=False) & Q(beneficiary_ref=""))
                | (Q(shop__isnull=True) & ~Q(beneficiary_ref="")),
                name="ledger_withdrawal_one_owner",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="ledger_withdrawals_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount}"
