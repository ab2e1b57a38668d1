from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import Conflict, NotFound, ValidationFailed


class InsufficientFunds(Conflict):
    code = "insufficient_funds"
    default_message = _("There is not enough money in the account for this transfer.")


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = _("This request key was already used for a different transfer.")


class HoldAlreadyResolved(Conflict):
    code = "hold_already_resolved"
    default_message = _("This hold was already settled.")


class HoldExpired(Conflict):
    code = "hold_expired"
    default_message = _("This hold has expired and can no longer be captured.")


class InvalidTransfer(ValidationFailed):
    code = "invalid_transfer"
    default_message = _("This transfer is not valid.")


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    default_message = _("No such payment.")


class PaymentStateConflict(Conflict):
    code = "payment_state"
    default_message = _("This payment can no longer be changed.")


class InvalidCallback(ValidationFailed):
    """A callback that is forged, stale, malformed or about a payment we do not know."""

    code = "invalid_callback"
    status = 400
    default_message = _("The payment notification was refused.")


class RefundTooLarge(Conflict):
    code = "refund_exceeds_payment"
    default_message = _("This refund is more than what is left of the payment.")


class RefundKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = _("This refund key was already used for a different refund.")


class WithdrawalRefused(ValidationFailed):
    code = "withdrawal_invalid"
    default_message = _("This withdrawal is not valid.")


class ProviderError(Exception):
    """A provider call failed (network, refusal): retried later, never shown as a DomainError."""


class ProviderUnavailable(Conflict):
    code = "provider_unavailable"
    status = 503
    default_message = _("The payment provider could not be reached. Please try again in a moment.")
