"""Payment outcomes of deal checkouts go to the deal kind that placed them."""

from shoploop.core.events import DomainEvent, subscribe
from shoploop.deals.registry import kind_for
from shoploop.orders import selectors as order_selectors


def _deal_order_and_kind(event: DomainEvent):
    order = order_selectors.deal_order_for_payment(reference=event.payload.get("reference", ""))
    if order is None:
        return None, None
    return order, kind_for(order.checkout.deal_ref)


@subscribe("ledger.payment.succeeded")
def on_payment_succeeded(event: DomainEvent) -> None:
    order, kind = _deal_order_and_kind(event)
    if kind is not None:
        kind.on_payment_succeeded(order)


@subscribe("ledger.payment.failed")
@subscribe("ledger.payment.canceled")
def on_payment_failed(event: DomainEvent) -> None:
    order, kind = _deal_order_and_kind(event)
    if kind is not None:
        kind.on_payment_failed(order)
