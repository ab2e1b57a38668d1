from django import template
from django.utils.translation import gettext_lazy as _

from shoploop.core.money import format_fen
from shoploop.ledger.models import AccountKind

register = template.Library()


@register.filter
def yuan(amount):
    """Fen as ¥ text; anything that is not an int shows as a dash rather than a wrong number."""
    try:
        return format_fen(amount)
    except TypeError:
        return "—"


@register.filter
def account_kind_label(kind: str) -> str:
    try:
        return AccountKind(kind).label
    except ValueError:
        return kind


# What each transfer reason means to the merchant reading their wallet. Reasons are stable codes
# written by the services; an unknown one is shown as it is rather than hidden.
TRANSFER_REASONS = {
    "payment_captured": _("Buyer paid"),
    "order_hold": _("Order paid: held until it completes"),
    "order_completed": _("Order completed: your share"),
    "platform_fee": _("Platform fee"),
    "commission_reserved": _("Order completed: kept back for commissions"),
    "after_sale": _("After-sale refund"),
    "cancelled": _("Order cancelled: refunded"),
    "refund_requested": _("Refund to the buyer"),
    "refund_paid_out": _("Refund paid out"),
    "paid_after_close": _("Late payment refunded"),
    "mismatch": _("Payment amount mismatch refunded"),
    "withdrawal": _("Withdrawal"),
    "withdrawal_paid": _("Withdrawal paid to your bank"),
}


@register.filter
def transfer_reason_label(reason: str) -> str:
    return TRANSFER_REASONS.get(reason, reason)
