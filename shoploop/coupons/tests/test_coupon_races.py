"""Coupons under contention, on PostgreSQL with real threads and connections."""

import pytest

from shoploop.core.errors import Conflict
from shoploop.core.testing import race
from shoploop.coupons import services
from shoploop.coupons.models import Coupon, CouponClaim
from shoploop.ledger.verification import verify_ledger

THREADS = 20


def _codes(outcomes) -> list[str]:
    """ "ok" for a success, the DomainError's code for a refusal; anything else fails the test."""
    codes = []
    for outcome in outcomes:
        if isinstance(outcome, Conflict):
            codes.append(outcome.code)
        elif isinstance(outcome, Exception):
            raise outcome
        else:
            codes.append("ok")
    return codes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_users_race_for_five_copies(make_coupon, make_user):
    coupon = make_coupon(total_quantity=5)
    users = [make_user() for _ in range(THREADS)]

    codes = _codes(race(lambda i: services.claim_coupon(coupon=coupon, user=users[i]), THREADS))

    assert codes.count("ok") == 5
    assert codes.count("coupon_sold_out") == THREADS - 5
    assert CouponClaim.objects.filter(coupon=coupon).count() == 5
    assert Coupon.objects.get(pk=coupon.pk).claimed_count == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_user_races_twenty_claims_against_a_limit_of_two(make_coupon, user):
    coupon = make_coupon(per_user_limit=2)

    codes = _codes(race(lambda _i: services.claim_coupon(coupon=coupon, user=user), THREADS))

    assert codes.count("ok") == 2
    assert codes.count("coupon_limit_reached") == THREADS - 2
    numbers = sorted(CouponClaim.objects.filter(coupon=coupon).values_list("number", flat=True))
    assert numbers == [1, 2]
    assert Coupon.objects.get(pk=coupon.pk).claimed_count == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_orders_race_to_redeem_one_claim(claim, user, shop):
    def redeem(index: int) -> int:
        return services.redeem(
            claim_public_id=claim.public_id,
            user=user,
            shop=shop,
            subtotal_fen=8000,
            order_ref=f"order:{index}",
        )

    codes = _codes(race(redeem, 10))

    assert codes.count("ok") == 1
    assert codes.count("coupon_used") == 9
    claim.refresh_from_db()
    assert claim.order_ref is not None and claim.discount_fen == 1000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_claims_race_to_be_the_one_coupon_of_an_order(make_coupon, user, shop):
    claims = [services.claim_coupon(coupon=make_coupon(), user=user) for _ in range(10)]

    def redeem(index: int) -> int:
        return services.redeem(
            claim_public_id=claims[index].public_id,
            user=user,
            shop=shop,
            subtotal_fen=8000,
            order_ref="order:shared",
        )

    codes = _codes(race(redeem, 10))

    assert codes.count("ok") == 1
    assert codes.count("coupon_order_has_coupon") == 9
    assert CouponClaim.objects.filter(order_ref="order:shared").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_releases_race_and_give_the_claim_back_once(claim, user, shop):
    services.redeem(
        claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=8000, order_ref="o:1"
    )

    outcomes = race(lambda _i: services.release(order_ref="o:1"), 10)

    assert outcomes.count(True) == 1
    assert outcomes.count(False) == 9
    claim.refresh_from_db()
    assert claim.order_ref is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_user_races_twelve_claims_against_a_limit_of_one(make_coupon, user):
    coupon = make_coupon(per_user_limit=1, total_quantity=50)

    codes = _codes(race(lambda _i: services.claim_coupon(coupon=coupon, user=user), 12))

    assert codes.count("ok") == 1
    assert codes.count("coupon_limit_reached") == 11
    assert CouponClaim.objects.filter(coupon=coupon, user=user).count() == 1
    assert Coupon.objects.get(pk=coupon.pk).claimed_count == 1
    assert verify_ledger().ok
