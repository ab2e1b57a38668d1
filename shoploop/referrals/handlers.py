"""Wiring: order events drive attribution and commissions; sign-in claims a signed-out visit;
deadline handlers release lost commissions and forget hashed networks."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from shoploop.core.deadlines import register_deadline_handler
from shoploop.core.events import DomainEvent, subscribe
from shoploop.ledger.services.commissions import register_order_commissions
from shoploop.ledger.verification import CommissionClaim, register_commission_source
from shoploop.referrals import services

VISIT_SESSION_FIELD = "referrals_visit_id"


@subscribe("orders.order.paid")
def on_order_paid(event: DomainEvent) -> None:
    services.attribute_order(order_public_id=event.payload["order_public_id"])


@subscribe("orders.order.refunded")
@subscribe("orders.order.cancelled")
def on_order_refunded(event: DomainEvent) -> None:
    services.sync_refunds(order_public_id=event.payload["order_public_id"])


@subscribe("orders.order.completed")
def on_order_completed(event: DomainEvent) -> None:
    services.release_commissions(order_public_id=event.payload["order_public_id"])


# Auth plumbing, not business logic (like the cart merge): the session remembers the visit of a
# signed-out person; signing in or up makes it theirs.
@receiver(user_logged_in, dispatch_uid="referrals.claim_visit")
def claim_visit_at_sign_in(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    visit_id = session.pop(VISIT_SESSION_FIELD, None) if session is not None else None
    if isinstance(visit_id, int):
        services.claim_visit(visit_id=visit_id, user=user)


def commission_claims():
    from shoploop.referrals.models import Commission

    rows = Commission.objects.values_list(
        "public_id", "state", "amount_fen", "hold_version", "shop__public_id", "promoter__public_id"
    )
    for public_id, state, amount, version, shop_id, promoter_id in rows.iterator(2000):
        yield CommissionClaim(
            ref=f"commission:{public_id}",
            state=state,
            amount=amount,
            version=version,
            shop_public_id=shop_id,
            beneficiary_ref=f"user:{promoter_id}",
        )


register_commission_source("referrals", commission_claims)
# An order's completion keeps its frozen commissions back from the shop's share.
register_order_commissions("referrals", services.frozen_at_completion)
register_deadline_handler("referrals.release_due")(services.release_due)
register_deadline_handler("referrals.forget_ip_hashes")(services.forget_ip_hashes)
