"""Wiring: payment events, sign-in (cart merge) and deadlines call the orders services."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from shoploop.core.deadlines import register_deadline_handler
from shoploop.core.events import DomainEvent, subscribe
from shoploop.ledger.services.commissions import register_order_commissions
from shoploop.ledger.verification import CommissionClaim, register_commission_source
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


# The 团长's pickup commission follows the same events as a promoter's (referrals.handlers);
# each service reads the order's rows, so a repeated delivery moves money once.
@subscribe("orders.order.paid", key="orders.leader_commission.accrue")
def accrue_leader_commission_on_paid(event: DomainEvent) -> None:
    services.accrue_leader_commission(order_public_id=event.payload["order_public_id"])


@subscribe("orders.order.refunded", key="orders.leader_commission.sync_refunds")
@subscribe("orders.order.cancelled", key="orders.leader_commission.sync_refunds")
def sync_leader_commission_on_refund(event: DomainEvent) -> None:
    services.sync_leader_refunds(order_public_id=event.payload["order_public_id"])


@subscribe("orders.order.completed", key="orders.leader_commission.release")
def release_leader_commission_on_completed(event: DomainEvent) -> None:
    services.release_leader_commission(order_public_id=event.payload["order_public_id"])


def leader_commission_claims():
    """What each 团长 commission row claims, for ``verify_ledger``."""
    from shoploop.orders.models import LeaderCommission

    rows = LeaderCommission.objects.values_list(
        "public_id", "state", "amount_fen", "hold_version", "shop__public_id", "leader__public_id"
    )
    for public_id, state, amount, version, shop_id, leader_id in rows.iterator(2000):
        yield CommissionClaim(
            ref=f"commission:{public_id}",
            state=state,
            amount=amount,
            version=version,
            shop_public_id=shop_id,
            beneficiary_ref=f"user:{leader_id}",
        )


register_commission_source("orders.leader_commissions", leader_commission_claims)
# An order's completion keeps its frozen 团长 commission back from the shop's share.
register_order_commissions("orders.leader_commissions", services.leader_commission_at_completion)


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
register_deadline_handler("orders.release_leader_commissions")(
    services.release_leader_commissions_due
)
