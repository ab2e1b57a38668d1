"""Wiring: order events drive attribution and commissions; sign-in claims a signed-out visit;
deadline handlers release lost commissions and forget hashed networks."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from shoploop.core.deadlines import register_deadline_handler
from shoploop.core.events import DomainEvent, subscribe
from shoploop.ledger.services.commissions import register_order_commissions
from shoploop.ledger.verification import CommissionClaim, register_commission_source
from shoploop.referrals import conf, services

VISIT_SESSION_FIELD = "referrals_visit_id"  # where visits were remembered before the cookie
# A signed-out visit is remembered in a signed cookie, not in a session: a poster scanned by
# thousands of people would otherwise write a session row for each (bench/share.py).
VISIT_COOKIE = "shoploop_shared_visit"
VISIT_COOKIE_SALT = "referrals.visit"


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


def remember_visit(response, visit) -> None:
    """Remember a signed-out person's visit on the redirect (signed, so it cannot be forged;
    kept for the attribution window)."""
    response.set_signed_cookie(
        VISIT_COOKIE,
        str(visit.pk),
        salt=VISIT_COOKIE_SALT,
        max_age=_visit_cookie_age(),
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def _visit_cookie_age() -> int:
    return conf.attribution_days() * 24 * 60 * 60


def _remembered_visit(request) -> int | None:
    session = getattr(request, "session", None)
    visit_id = session.pop(VISIT_SESSION_FIELD, None) if session is not None else None
    if isinstance(visit_id, int):
        return visit_id
    cookies = getattr(request, "COOKIES", None)
    if not cookies or VISIT_COOKIE not in cookies:
        return None
    value = request.get_signed_cookie(
        VISIT_COOKIE, default=None, salt=VISIT_COOKIE_SALT, max_age=_visit_cookie_age()
    )
    return int(value) if isinstance(value, str) and value.isdigit() else None


# Auth plumbing, not business logic (like the cart merge): a signed cookie remembers the visit of
# a signed-out person; signing in or up makes it theirs (once: a claimed visit is not claimed
# again, whoever signs in next in that browser).
@receiver(user_logged_in, dispatch_uid="referrals.claim_visit")
def claim_visit_at_sign_in(sender, request, user, **kwargs) -> None:
    visit_id = _remembered_visit(request) if request is not None else None
    if visit_id is not None:
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
