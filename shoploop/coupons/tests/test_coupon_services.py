"""Creating, pausing and claiming coupons: every rule and every bad input."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from shoploop.catalog import services as catalog_services
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import recorded_events
from shoploop.coupons import services
from shoploop.coupons.models import Coupon, CouponClaim

# --- create -----------------------------------------------------------------------------------


def test_merchant_creates_a_fixed_coupon(make_coupon, shop):
    with recorded_events() as events:
        coupon = make_coupon()
    assert coupon.shop == shop
    assert (coupon.kind, coupon.amount_off_fen, coupon.percent_off) == ("fixed", 1000, 0)
    assert coupon.claimed_count == 0 and not coupon.is_paused
    assert [event.name for event in events] == ["coupons.coupon.created"]


def test_merchant_creates_a_percentage_coupon(make_coupon):
    coupon = make_coupon(kind="percent", amount_off_fen=None, percent_off=20, max_discount_fen=3000)
    assert (coupon.percent_off, coupon.max_discount_fen, coupon.amount_off_fen) == (20, 3000, 0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "percent", "percent_off": 0, "max_discount_fen": 100}, "percent_off"),
        ({"kind": "percent", "percent_off": 100, "max_discount_fen": 100}, "percent_off"),
        ({"kind": "percent", "percent_off": 91, "max_discount_fen": 100}, "percent_off"),
        ({"kind": "percent", "percent_off": -5, "max_discount_fen": 100}, "percent_off"),
        ({"kind": "percent", "percent_off": 12.5, "max_discount_fen": 100}, "percent_off"),
        ({"kind": "percent", "percent_off": 10, "max_discount_fen": None}, "max_discount_fen"),
        ({"kind": "percent", "percent_off": 10, "max_discount_fen": 0}, "max_discount_fen"),
        ({"amount_off_fen": -100}, "amount_off_fen"),
        ({"amount_off_fen": 0}, "amount_off_fen"),
        ({"amount_off_fen": 9.99}, "amount_off_fen"),
        ({"amount_off_fen": "1000"}, "amount_off_fen"),
        ({"amount_off_fen": 10**15}, "amount_off_fen"),
        ({"min_spend_fen": -1}, "min_spend_fen"),
        ({"min_spend_fen": 50.5}, "min_spend_fen"),
        ({"total_quantity": 0}, "total_quantity"),
        ({"total_quantity": -3}, "total_quantity"),
        ({"total_quantity": 10**9}, "total_quantity"),
        ({"per_user_limit": 0}, "per_user_limit"),
        ({"per_user_limit": 1.5}, "per_user_limit"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 41}, "name"),
        ({"name": "x" * 10_000_000}, "name"),
        ({"name": None}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"kind": "bogo"}, "kind"),
    ],
)
def test_create_refuses_bad_input(overrides, field, make_coupon):
    with pytest.raises(ValidationFailed) as error:
        make_coupon(**overrides)
    assert field in error.value.fields
    assert not Coupon.objects.exists()


def test_create_refuses_a_window_that_ends_before_it_starts(make_coupon):
    now = clock.now()
    with pytest.raises(ValidationFailed) as error:
        make_coupon(starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=1))
    assert error.value.fields == {"ends_at": "before_start"}


def test_create_refuses_a_window_in_the_past(make_coupon):
    now = clock.now()
    with pytest.raises(ValidationFailed) as error:
        make_coupon(starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    assert error.value.fields == {"ends_at": "past"}


def test_create_refuses_naive_datetimes(make_coupon):
    naive = timezone.make_naive(clock.now() + timedelta(days=1))
    with pytest.raises(ValidationFailed):
        make_coupon(ends_at=naive)
    with pytest.raises(ValidationFailed):
        make_coupon(starts_at="2030-01-01")


def test_html_in_the_name_is_stored_as_given(make_coupon):
    coupon = make_coupon(name="<script>alert(1)</script>")
    assert coupon.name == "<script>alert(1)</script>"


def test_another_merchant_cannot_create_on_my_shop(make_coupon, other_merchant):
    with pytest.raises(PermissionDenied):
        make_coupon(actor=other_merchant)
    assert not Coupon.objects.exists()


def test_anonymous_cannot_create(make_coupon):
    with pytest.raises(NotAuthenticated):
        make_coupon(actor=AnonymousUser())


def test_an_unapproved_shop_cannot_have_coupons(make_user, coupon_fields):
    owner = make_user()
    pending = catalog_services.apply_for_shop(user=owner, name="新店", contact="微信 x")
    with pytest.raises(Conflict) as error:
        services.create_coupon(actor=owner, shop=pending, **coupon_fields())
    assert error.value.code == "shop_not_approved"


# --- pause / resume ---------------------------------------------------------------------------


def test_pause_and_resume(coupon, merchant):
    assert services.pause_coupon(coupon=coupon, actor=merchant).is_paused
    assert not services.resume_coupon(coupon=coupon, actor=merchant).is_paused


def test_pausing_twice_or_resuming_a_running_coupon_is_refused(coupon, merchant):
    with pytest.raises(Conflict) as error:
        services.resume_coupon(coupon=coupon, actor=merchant)
    assert error.value.code == "coupon_not_paused"
    services.pause_coupon(coupon=coupon, actor=merchant)
    with pytest.raises(Conflict) as error:
        services.pause_coupon(coupon=coupon, actor=merchant)
    assert error.value.code == "coupon_already_paused"


def test_another_merchant_cannot_pause_my_coupon(coupon, other_merchant, user):
    for actor in (other_merchant, user):
        with pytest.raises(PermissionDenied):
            services.pause_coupon(coupon=coupon, actor=actor)
    coupon.refresh_from_db()
    assert not coupon.is_paused


def test_an_operator_may_pause_a_coupon(coupon, operator):
    assert services.pause_coupon(coupon=coupon, actor=operator).is_paused


# --- claim ------------------------------------------------------------------------------------


def test_claim(coupon, user):
    with recorded_events() as events:
        claim = services.claim_coupon(coupon=coupon, user=user)
    assert (claim.user, claim.coupon, claim.number, claim.order_ref) == (user, coupon, 1, None)
    coupon.refresh_from_db()
    assert coupon.claimed_count == 1
    assert [event.name for event in events] == ["coupons.coupon.claimed"]


def test_claims_stop_at_the_total_quantity(make_coupon, make_user):
    coupon = make_coupon(total_quantity=2)
    services.claim_coupon(coupon=coupon, user=make_user())
    services.claim_coupon(coupon=coupon, user=make_user())
    with pytest.raises(Conflict) as error:
        services.claim_coupon(coupon=coupon, user=make_user())
    assert error.value.code == "coupon_sold_out"
    coupon.refresh_from_db()
    assert coupon.claimed_count == 2


def test_claims_stop_at_the_per_user_limit(make_coupon, user):
    coupon = make_coupon(per_user_limit=2)
    numbers = [services.claim_coupon(coupon=coupon, user=user).number for _ in range(2)]
    with pytest.raises(Conflict) as error:
        services.claim_coupon(coupon=coupon, user=user)
    assert error.value.code == "coupon_limit_reached"
    assert numbers == [1, 2]
    coupon.refresh_from_db()
    assert coupon.claimed_count == 2  # the refused claim took no copy


def test_a_used_claim_still_counts_against_the_limit(claim, coupon, user, shop):
    services.redeem(
        claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=8000, order_ref="o:1"
    )
    with pytest.raises(Conflict) as error:
        services.claim_coupon(coupon=coupon, user=user)
    assert error.value.code == "coupon_limit_reached"


def test_claim_a_paused_coupon(coupon, merchant, user):
    services.pause_coupon(coupon=coupon, actor=merchant)
    with pytest.raises(Conflict) as error:
        services.claim_coupon(coupon=coupon, user=user)
    assert error.value.code == "coupon_paused"


def test_claim_before_the_start_and_after_the_end(make_coupon, user):
    now = clock.now()
    coupon = make_coupon(starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    with pytest.raises(Conflict) as error:
        services.claim_coupon(coupon=coupon, user=user)
    assert error.value.code == "coupon_not_started"
    with clock.frozen_at(now + timedelta(days=2)), pytest.raises(Conflict) as error:
        services.claim_coupon(coupon=coupon, user=user)
    assert error.value.code == "coupon_expired"
    assert not CouponClaim.objects.exists()


def test_claim_needs_a_signed_in_user(coupon):
    with pytest.raises(NotAuthenticated):
        services.claim_coupon(coupon=coupon, user=AnonymousUser())


def test_claim_of_a_coupon_whose_shop_lost_approval(coupon, user, shop):
    # No service withdraws an approval yet; the row is set directly to stand for that future.
    type(shop).objects.filter(pk=shop.pk).update(status="rejected")
    with pytest.raises(NotFound):
        services.claim_coupon(coupon=coupon, user=user)
