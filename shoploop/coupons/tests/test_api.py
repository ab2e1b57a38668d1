"""The coupons API through the HTTP client: buyers, merchants, and the authorization matrix."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.coupons import services
from shoploop.coupons.models import Coupon, CouponClaim


def _coupon_json(**overrides):
    now = clock.now()
    body = {
        "name": "满50减10",
        "kind": "fixed",
        "amount_off_fen": 1000,
        "min_spend_fen": 5000,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
        "total_quantity": 100,
        "per_user_limit": 1,
    }
    body.update(overrides)
    return body


# --- merchants --------------------------------------------------------------------------------


def test_merchant_creates_and_lists_coupons(api, merchant, shop):
    response = api.post("/coupons/console", _coupon_json(), user=merchant)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] == Coupon.objects.get().public_id
    assert (body["claimed_count"], body["redeemed_count"], body["remaining"]) == (0, 0, 100)
    listed = api.get("/coupons/console", user=merchant).json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]


def test_percentage_coupon_through_the_api(api, merchant, shop):
    body = _coupon_json(kind="percent", amount_off_fen=None, percent_off=20, max_discount_fen=3000)
    response = api.post("/coupons/console", body, user=merchant)
    assert response.status_code == 201
    assert response.json()["percent_off"] == 20


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount_off_fen": -100},
        {"amount_off_fen": 9.5},
        {"amount_off_fen": "1000"},
        {"min_spend_fen": -1},
        {"min_spend_fen": 1.5},
        {"kind": "percent", "percent_off": 0, "max_discount_fen": 100},
        {"kind": "percent", "percent_off": 100, "max_discount_fen": 100},
        {"kind": "percent", "percent_off": 20.5, "max_discount_fen": 100},
        {"total_quantity": 0},
        {"total_quantity": 10**12},
        {"ends_at": "2030-01-01T00:00:00"},  # no time zone
        {"ends_at": "yesterday"},
        {"name": "x" * 100_000},
        {"kind": "mystery"},
    ],
)
def test_bad_coupon_input_is_422_and_creates_nothing(overrides, api, merchant, shop):
    response = api.post("/coupons/console", _coupon_json(**overrides), user=merchant)
    assert response.status_code == 422, response.json()
    assert response.json()["error"]["code"] == "invalid"
    assert not Coupon.objects.exists()


def test_a_user_without_a_shop_cannot_create(api, user):
    response = api.post("/coupons/console", _coupon_json(), user=user)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_shop"


def test_anonymous_cannot_use_the_console(api):
    assert api.get("/coupons/console").status_code == 401
    assert api.post("/coupons/console", _coupon_json()).status_code == 401


def test_another_merchant_gets_403_on_my_coupon(api, coupon, other_merchant, other_shop):
    for response in (
        api.get(f"/coupons/console/{coupon.public_id}", user=other_merchant),
        api.post(f"/coupons/console/{coupon.public_id}/pause", user=other_merchant),
    ):
        assert response.status_code == 403
    coupon.refresh_from_db()
    assert not coupon.is_paused


def test_buyer_gets_403_on_the_console_of_a_coupon(api, coupon, user):
    assert api.get(f"/coupons/console/{coupon.public_id}", user=user).status_code == 403


def test_pause_and_resume_through_the_api(api, coupon, merchant):
    paused = api.post(f"/coupons/console/{coupon.public_id}/pause", user=merchant)
    assert paused.status_code == 200 and paused.json()["is_paused"] is True
    again = api.post(f"/coupons/console/{coupon.public_id}/pause", user=merchant)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "coupon_already_paused"
    resumed = api.post(f"/coupons/console/{coupon.public_id}/resume", user=merchant)
    assert resumed.json()["is_paused"] is False


def test_console_counts_are_live(api, coupon, merchant, user, other_user, shop):
    claim = services.claim_coupon(coupon=coupon, user=user)
    services.claim_coupon(coupon=coupon, user=other_user)
    services.redeem(
        claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=8000, order_ref="o:1"
    )
    body = api.get(f"/coupons/console/{coupon.public_id}", user=merchant).json()
    assert (body["claimed_count"], body["redeemed_count"], body["remaining"]) == (2, 1, 98)


def test_unknown_coupon_is_404(api, merchant):
    assert api.get("/coupons/console/nope", user=merchant).status_code == 404
    assert api.get("/coupons/nope").status_code == 404


# --- buyers -----------------------------------------------------------------------------------


def test_anyone_sees_a_shops_claimable_coupons(api, coupon, shop, user):
    anonymous = api.get(f"/coupons/shops/{shop.public_id}").json()
    assert [item["id"] for item in anonymous] == [coupon.public_id]
    assert anonymous[0]["my_claims"] is None
    services.claim_coupon(coupon=coupon, user=user)
    mine = api.get(f"/coupons/shops/{shop.public_id}", user=user).json()
    assert mine[0]["my_claims"] == 1


def test_buyer_claims_and_sees_my_coupons(api, coupon, user):
    response = api.post(f"/coupons/{coupon.public_id}/claim", user=user)
    assert response.status_code == 201
    claim_id = response.json()["id"]
    mine = api.get("/coupons/mine", user=user).json()["results"]
    assert [(item["id"], item["state"]) for item in mine] == [(claim_id, "unused")]


def test_claiming_beyond_the_limit_is_409(api, coupon, user):
    api.post(f"/coupons/{coupon.public_id}/claim", user=user)
    response = api.post(f"/coupons/{coupon.public_id}/claim", user=user)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "coupon_limit_reached"
    assert CouponClaim.objects.count() == 1


def test_anonymous_cannot_claim(api, coupon):
    assert api.post(f"/coupons/{coupon.public_id}/claim").status_code == 401
    assert not CouponClaim.objects.exists()


def test_my_coupons_are_mine_only(api, claim, other_user):
    assert api.get("/coupons/mine", user=other_user).json()["results"] == []


def test_quote_and_usable(api, claim, user, shop):
    usable = api.get("/coupons/usable", user=user, shop=shop.public_id, subtotal_fen=8000).json()
    assert [(item["id"], item["discount_fen"]) for item in usable] == [(claim.public_id, 1000)]
    body = {"claim": claim.public_id, "shop": shop.public_id, "subtotal_fen": 8000}
    assert api.post("/coupons/quote", body, user=user).json() == {"discount_fen": 1000}


def test_quote_errors(api, claim, user, other_user, shop):
    body = {"claim": claim.public_id, "shop": shop.public_id, "subtotal_fen": 100}
    response = api.post("/coupons/quote", body, user=user)
    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "coupon_below_minimum",
    )
    foreign = api.post("/coupons/quote", {**body, "subtotal_fen": 8000}, user=other_user)
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (403, "coupon_foreign")
    for subtotal in (-5, 80.5, "8000"):
        bad = api.post("/coupons/quote", {**body, "subtotal_fen": subtotal}, user=user)
        assert bad.status_code == 422


@pytest.mark.parametrize("subtotal", ["-5", "80.5", "lots"])
def test_usable_refuses_a_bad_subtotal(subtotal, api, claim, user, shop):
    response = api.get("/coupons/usable", user=user, shop=shop.public_id, subtotal_fen=subtotal)
    assert response.status_code == 422
