"""Payment and payout providers behind one small interface (see ``base``)."""

from shoploop.ledger.providers.base import (
    CallbackEvent,
    PaymentProvider,
    PayoutProvider,
    PayoutResult,
    RefundResult,
    get_payout_provider,
    get_provider,
)

__all__ = [
    "CallbackEvent",
    "PaymentProvider",
    "PayoutProvider",
    "PayoutResult",
    "RefundResult",
    "get_payout_provider",
    "get_provider",
]
