from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import DomainError
from shoploop.core.money import format_fen
from shoploop.ledger.models import Account, Payment, PaymentEvent, Refund, Transfer, Withdrawal
from shoploop.ledger.services import payments, payouts


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger changes only through its services; the admin shows, it never edits."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "limit", "posted_credit_balance", "pending_out", "created_at")
    list_filter = ("kind", "limit")
    search_fields = ("code", "owner_ref", "public_id")

    @admin.display(description="posted balance (credits − debits)")
    def posted_credit_balance(self, obj):
        return format_fen(obj.credit_balance)

    @admin.display(description="pending debits")
    def pending_out(self, obj):
        return format_fen(obj.debits_pending)


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "kind",
        "amount_display",
        "debit_account",
        "credit_account",
        "reason",
        "cause",
        "created_at",
    )
    list_filter = ("kind", "reason")
    search_fields = ("public_id", "idempotency_key", "cause")
    list_select_related = ("debit_account", "credit_account")
    date_hierarchy = "created_at"

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, obj):
        return format_fen(obj.amount)


# --- payments, refunds, payouts: read-only money; actions call the services --------------------


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "payer",
        "amount_display",
        "state",
        "provider",
        "reference",
        "refunded_display",
        "created_at",
    )
    list_filter = ("state", "provider")
    search_fields = ("public_id", "reference", "provider_trade_no", "payer__phone")
    list_select_related = ("payer",)
    date_hierarchy = "created_at"
    actions = ["cancel_unpaid", "ask_provider"]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj):
        return format_fen(obj.amount)

    @admin.display(description=_("refunded"))
    def refunded_display(self, obj):
        return format_fen(obj.refunded_fen)

    @admin.action(description=_("Cancel selected unpaid payments"))
    def cancel_unpaid(self, request, queryset):
        _run_each(self, request, queryset, lambda p: payments.cancel_payment(payment=p))

    @admin.action(description=_("Ask the provider about the selected payments now"))
    def ask_provider(self, request, queryset):
        # A lost notification, settled now instead of at the next scheduled query.
        _run_each(
            self,
            request,
            queryset,
            lambda p: payments.refresh_payment(public_id=p.public_id, actor=request.user),
        )


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "provider", "payment", "kind", "amount", "outcome", "created_at")
    list_filter = ("outcome", "provider", "kind")
    search_fields = ("event_id", "payment__public_id")
    list_select_related = ("payment",)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "payment",
        "amount_display",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
    )
    list_filter = ("state",)
    search_fields = ("public_id", "key", "payment__public_id")
    list_select_related = ("payment",)
    actions = ["retry"]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj):
        return format_fen(obj.amount)

    @admin.action(description=_("Retry selected failed refunds"))
    def retry(self, request, queryset):
        _run_each(
            self, request, queryset, lambda r: payments.retry_refund(refund=r, actor=request.user)
        )


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "shop",
        "amount_display",
        "state",
        "account_holder",
        "account_masked",
        "attempts",
        "failure_reason",
        "created_at",
    )
    list_filter = ("state",)
    search_fields = ("public_id", "shop__name")
    list_select_related = ("shop",)
    actions = ["process_now"]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj):
        return format_fen(obj.amount)

    @admin.action(description=_("Send selected pending withdrawals to the bank now"))
    def process_now(self, request, queryset):
        _run_each(self, request, queryset, lambda w: payouts.process_withdrawal(withdrawal=w))


def _run_each(model_admin, request, queryset, action) -> None:
    done = 0
    for obj in queryset.order_by("pk"):
        try:
            action(obj)
        except DomainError as failure:
            model_admin.message_user(request, f"{obj}: {failure.message}", messages.ERROR)
        else:
            done += 1
    model_admin.message_user(request, _("%(count)d done.") % {"count": done}, messages.SUCCESS)
