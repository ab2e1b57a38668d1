"""Wiring: payment events, sign-in (cart merge) and deadlines call the orders services."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from shoploop.core.deadlines import register_deadline_handler
from shoploop.core.events import DomainEvent, subscribe
from shoploop.orders import services


@subscribe("ledger.payment.succeeded")
def on_payment_succeeded(event: DomainEvent) -> None:
    services.record_payment_success(
        reference=event.payload.get("reference", ""),
        payment_public_id=event.payload.get("payment_public_id", ""),
    )


@subscribe("ledger.payment.failed")
@subscribe("ledger.payment.canceled")
def on_payment_failed(event: DomainEvent) -> None:
    services.record_payment_failure(
        reference=event.payload.get("reference", ""),
        payment_public_id=event.payload.get("payment_public_id", ""),
    )


# Auth plumbing, not business logic: sign-in rotates the session key, so the anonymous cart is
# found by the key stored in the session's data (CART_SESSION_FIELD), which survives the rotation.
@receiver(user_logged_in, dispatch_uid="orders.merge_session_cart")
def merge_cart_at_sign_in(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    cart_key = session.pop(services.CART_SESSION_FIELD, None)
    services.merge_session_cart(session_key=cart_key, user=user)


register_deadline_handler("orders.expire_unpaid")(services.expire_unpaid_checkouts)
register_deadline_handler("orders.auto_receive")(services.auto_receive_shipped)
register_deadline_handler("orders.complete")(services.complete_due_orders)
register_deadline_handler("orders.after_sale_deadlines")(services.settle_after_sale_deadlines)
