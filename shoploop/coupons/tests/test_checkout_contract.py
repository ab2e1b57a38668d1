"""The contract orders codes against: quote, redeem, release and usable_claims."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shoploop.core.events import recorded_events
from shoploop.coupons import selectors, services
from shoploop.coupons.models import CouponClaim
from shoploop.coupons.pricing import discount_for


def _quote(claim, user, shop, subtotal_fen=8000):
    return services.quote(
        claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=subtotal_fen
    )


def _redeem(claim, user, shop, order_ref="order:A", subtotal_fen=8000):
    return services.redeem(
        claim_public_id=claim.public_id,
        user=user,
        shop=shop,
        subtotal_fen=subtotal_fen,
        order_ref=order_ref,
    )


# --- quote ------------------------------------------------------------------------------------


def test_quote_gives_the_fixed_discount(claim, user, shop):
    assert _quote(claim, user, shop) == 1000


def test_quote_changes_nothing(claim, user, shop):
    _quote(claim, user, shop)
    claim.refresh_from_db()
    assert claim.order_ref is None and claim.redeemed_at is None


def test_percentage_discount_is_floored_then_capped(make_coupon, user, shop):
    coupon = make_coupon(
        kind="percent", amount_off_fen=None, percent_off=15, max_discount_fen=2000, min_spend_fen=0
    )
    claim = services.claim_coupon(coupon=coupon, user=user)
    # 15 % of ¥9.99 is 149.85 fen: the buyer gets 149, never the fraction.
    assert _quote(claim, user, shop, subtotal_fen=999) == 149
    # 15 % of ¥200 is ¥30, capped at ¥20.
    assert _quote(claim, user, shop, subtotal_fen=20000) == 2000


def test_fixed_discount_never_exceeds_the_subtotal(make_coupon, user, shop):
    coupon = make_coupon(amount_off_fen=5000, min_spend_fen=0)
    claim = services.claim_coupon(coupon=coupon, user=user)
    assert _quote(claim, user, shop, subtotal_fen=3000) == 3000


def test_discount_for_never_exceeds_the_subtotal_for_a_big_percentage(make_coupon):
    coupon = make_coupon(
        kind="percent", amount_off_fen=None, percent_off=90, max_discount_fen=10**9
    )
    assert discount_for(coupon=coupon, subtotal_fen=1) == 0
    assert discount_for(coupon=coupon, subtotal_fen=10) == 9


def test_quote_below_minimum(claim, user, shop):
    with pytest.raises(Conflict) as error:
        _quote(claim, user, shop, subtotal_fen=4999)
    assert error.value.code == "coupon_below_minimum"


def test_quote_at_exactly_the_minimum(claim, user, shop):
    assert _quote(claim, user, shop, subtotal_fen=5000) == 1000


def test_quote_expired(claim, user, shop, coupon):
    with clock.frozen_at(coupon.ends_at), pytest.raises(Conflict) as error:
        _quote(claim, user, shop)
    assert error.value.code == "coupon_expired"


def test_quote_not_started(make_coupon, user, shop):
    now = clock.now()
    coupon = make_coupon(starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    with clock.frozen_at(now + timedelta(days=1, seconds=1)):
        claim = services.claim_coupon(coupon=coupon, user=user)
    with pytest.raises(Conflict) as error:
        _quote(claim, user, shop)
    assert error.value.code == "coupon_not_started"


def test_quote_paused(claim, user, shop, coupon, merchant):
    services.pause_coupon(coupon=coupon, actor=merchant)
    with pytest.raises(Conflict) as error:
        _quote(claim, user, shop)
    assert error.value.code == "coupon_paused"


def test_quote_another_users_claim_is_foreign(claim, other_user, shop):
    with pytest.raises(PermissionDenied) as error:
        _quote(claim, other_user, shop)
    assert error.value.code == "coupon_foreign"


def test_quote_for_another_shop_is_foreign(claim, user, other_shop):
    with pytest.raises(PermissionDenied) as error:
        _quote(claim, user, other_shop)
    assert error.value.code == "coupon_foreign"


def test_quote_used_claim(claim, user, shop):
    _redeem(claim, user, shop)
    with pytest.raises(Conflict) as error:
        _quote(claim, user, shop)
    assert error.value.code == "coupon_used"


@pytest.mark.parametrize("claim_id", ["nope", "", None, 12])
def test_quote_unknown_claim(claim_id, user, shop, claim):
    with pytest.raises(NotFound) as error:
        services.quote(claim_public_id=claim_id, user=user, shop=shop, subtotal_fen=8000)
    assert error.value.code == "coupon_not_found"


@pytest.mark.parametrize("subtotal", [-1, 0, 12.5, "8000", True, None, 10**15])
def test_quote_refuses_a_bad_subtotal(subtotal, claim, user, shop):
    with pytest.raises(ValidationFailed):
        _quote(claim, user, shop, subtotal_fen=subtotal)


# --- redeem -----------------------------------------------------------------------------------


def test_redeem_marks_the_claim_used_for_the_order(claim, user, shop):
    with recorded_events() as events:
        assert _redeem(claim, user, shop, order_ref="order:A") == 1000
    claim.refresh_from_db()
    assert claim.order_ref == "order:A"
    assert claim.discount_fen == 1000
    assert claim.redeemed_at is not None
    assert [event.name for event in events] == ["coupons.coupon.redeemed"]


def test_redeem_twice_for_the_same_order_is_a_harmless_retry(claim, user, shop):
    _redeem(claim, user, shop, order_ref="order:A")
    assert _redeem(claim, user, shop, order_ref="order:A", subtotal_fen=99999) == 1000
    assert CouponClaim.objects.filter(order_ref="order:A").count() == 1


def test_redeem_a_used_claim_for_another_order_is_refused(claim, user, shop):
    _redeem(claim, user, shop, order_ref="order:A")
    with pytest.raises(Conflict) as error:
        _redeem(claim, user, shop, order_ref="order:B")
    assert error.value.code == "coupon_used"
    claim.refresh_from_db()
    assert claim.order_ref == "order:A"


def test_one_coupon_per_order(make_coupon, user, shop):
    first = services.claim_coupon(coupon=make_coupon(), user=user)
    second = services.claim_coupon(coupon=make_coupon(name="又一张"), user=user)
    _redeem(first, user, shop, order_ref="order:A")
    with pytest.raises(Conflict) as error:
        _redeem(second, user, shop, order_ref="order:A")
    assert error.value.code == "coupon_order_has_coupon"
    second.refresh_from_db()
    assert second.order_ref is None


@pytest.mark.parametrize("order_ref", ["", "   ", None, 7, "x" * 65])
def test_redeem_refuses_a_bad_order_ref(order_ref, claim, user, shop):
    with pytest.raises(ValidationFailed):
        _redeem(claim, user, shop, order_ref=order_ref)
    claim.refresh_from_db()
    assert claim.order_ref is None


def test_redeem_refusals_change_nothing(claim, user, other_user, shop, other_shop, coupon):
    for attempt in (
        lambda: _redeem(claim, other_user, shop),
        lambda: _redeem(claim, user, other_shop),
        lambda: _redeem(claim, user, shop, subtotal_fen=100),
    ):
        with pytest.raises((Conflict, PermissionDenied)):
            attempt()
    with clock.frozen_at(coupon.ends_at + timedelta(seconds=1)), pytest.raises(Conflict):
        _redeem(claim, user, shop)
    claim.refresh_from_db()
    assert claim.order_ref is None and claim.discount_fen == 0


def test_redeem_needs_a_signed_in_user(claim, shop):
    from django.contrib.auth.models import AnonymousUser

    from shoploop.core.errors import NotAuthenticated

    with pytest.raises(NotAuthenticated):
        _redeem(claim, AnonymousUser(), shop)


# --- release ----------------------------------------------------------------------------------


def test_release_gives_the_claim_back(claim, user, shop):
    _redeem(claim, user, shop, order_ref="order:A")
    with recorded_events() as events:
        assert services.release(order_ref="order:A") is True
    claim.refresh_from_db()
    assert claim.order_ref is None and claim.redeemed_at is None and claim.discount_fen == 0
    assert [event.name for event in events] == ["coupons.coupon.released"]
    assert _redeem(claim, user, shop, order_ref="order:B") == 1000


def test_release_is_idempotent(claim, user, shop):
    _redeem(claim, user, shop, order_ref="order:A")
    assert services.release(order_ref="order:A") is True
    assert services.release(order_ref="order:A") is False


def test_release_of_an_order_without_coupon(db):
    assert services.release(order_ref="order:none") is False


def test_release_refuses_a_bad_order_ref(db):
    with pytest.raises(ValidationFailed):
        services.release(order_ref="")


# --- usable_claims ----------------------------------------------------------------------------


def test_usable_claims_offers_the_best_first(make_coupon, user, shop, other_shop, other_merchant):
    small = services.claim_coupon(coupon=make_coupon(amount_off_fen=500), user=user)
    big = services.claim_coupon(coupon=make_coupon(amount_off_fen=1500), user=user)
    needs_more = services.claim_coupon(coupon=make_coupon(min_spend_fen=90000), user=user)
    used = services.claim_coupon(coupon=make_coupon(), user=user)
    _redeem(used, user, shop, order_ref="order:X")
    paused_coupon = make_coupon()
    services.claim_coupon(coupon=paused_coupon, user=user)
    services.pause_coupon(coupon=paused_coupon, actor=paused_coupon.created_by)
    elsewhere = make_coupon(on_shop=other_shop, actor=other_merchant)
    services.claim_coupon(coupon=elsewhere, user=user)

    offered = selectors.usable_claims(user=user, shop=shop, subtotal_fen=8000)
    assert [(item.public_id, item.discount_fen) for item in offered] == [
        (big.public_id, 1500),
        (small.public_id, 500),
    ]
    assert needs_more.public_id not in {item.public_id for item in offered}
    for item in offered:
        assert _quote(item.claim, user, shop) == item.discount_fen


def test_usable_claims_leaves_out_expired_ones(claim, user, shop, coupon):
    with clock.frozen_at(coupon.ends_at):
        assert selectors.usable_claims(user=user, shop=shop, subtotal_fen=8000) == []


def test_usable_claims_of_another_user_are_none(claim, other_user, shop):
    assert selectors.usable_claims(user=other_user, shop=shop, subtotal_fen=8000) == []


@pytest.mark.parametrize("subtotal", [-1, 0, 12.5, "8000"])
def test_usable_claims_refuses_a_bad_subtotal(subtotal, claim, user, shop):
    with pytest.raises(ValidationFailed):
        selectors.usable_claims(user=user, shop=shop, subtotal_fen=subtotal)
