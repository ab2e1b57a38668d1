"""For tests and benchmarks: the payment provider's report about a payment, as if its signed
callback had arrived and been verified (a fresh event id each time, so never a replay)."""

from shoploop.core.ids import new_public_id
from shoploop.ledger.providers.base import SUCCEEDED, CallbackEvent
from shoploop.ledger.services import payments


def report_payment(payment, *, kind: str = SUCCEEDED, amount: int | None = None):
    """Record the provider's ``kind`` report (captured by default) of ``payment`` for
    ``amount`` (default: the payment's amount); its event is delivered after the commit."""
    return payments.record_payment_event(
        provider=payment.provider,
        event=CallbackEvent(
            event_id=f"evt_{new_public_id()}",
            payment_public_id=payment.public_id,
            kind=kind,
            amount=payment.amount if amount is None else amount,
        ),
    )
