"""The bargains API through the HTTP client."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.deals.bargains.models import Bargain, BargainCampaign
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.tests.conftest import address_id_for

pytestmark = pytest.mark.django_db

BASE = "/deals/bargains"


def _campaign_body(sku, **extra):
    body = {
        "sku_id": sku.public_id,
        "start_price_fen": 5000,
        "floor_price_fen": 0,
        "helpers_needed": 3,
        "stock": 2,
        "ends_at": (clock.now() + timedelta(days=3)).isoformat(),
    }
    body.update(extra)
    return body


def test_merchant_creates_lists_pauses_and_ends_a_campaign(api, merchant, sku):
    response = api.post(f"{BASE}/campaigns", _campaign_body(sku), user=merchant)
    assert response.status_code == 201, response.content
    campaign = response.json()
    assert campaign["state"] == "active" and campaign["stock_left"] == 2
    assert campaign["floor_price_fen"] == 0 and campaign["helps_per_day"] == 3
    listed = api.get(f"{BASE}/campaigns", user=merchant).json()
    assert [item["id"] for item in listed["results"]] == [campaign["id"]]
    paused = api.post(f"{BASE}/campaigns/{campaign['id']}/pause", user=merchant).json()
    assert paused["state"] == "paused"
    counts = api.get(f"{BASE}/campaigns/{campaign['id']}/counts", user=merchant).json()
    assert counts["stock_left"] == 2 and counts["started"] == 0
    ended = api.post(f"{BASE}/campaigns/{campaign['id']}/end", user=merchant).json()
    assert ended["state"] == "ended" and ended["stock_left"] == 0


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"floor_price_fen": 6000}, "floor_not_below_start"),
        ({"start_price_fen": 9999}, "start_above_price"),
        ({"start_price_fen": 10, "floor_price_fen": 8}, "too_many_helpers"),
        ({"ends_at": "2020-01-01T00:00:00+00:00"}, "ends_in_past"),
        ({"stock": 1000}, "not_enough_stock"),
    ],
)
def test_bad_campaign_settings_are_422_and_change_nothing(api, merchant, sku, extra, code):
    response = api.post(f"{BASE}/campaigns", _campaign_body(sku, **extra), user=merchant)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert not BargainCampaign.objects.exists()


def test_another_merchants_campaign_is_403(api, merchant, other_merchant, sku):
    campaign = api.post(f"{BASE}/campaigns", _campaign_body(sku), user=merchant).json()
    for action in ("pause", "end"):
        response = api.post(f"{BASE}/campaigns/{campaign['id']}/{action}", user=other_merchant)
        assert response.status_code == 403
    response = api.get(f"{BASE}/campaigns/{campaign['id']}/counts", user=other_merchant)
    assert response.status_code == 403
    response = api.post(f"{BASE}/campaigns", _campaign_body(sku), user=other_merchant)
    assert response.status_code == 403


def test_start_help_buy_and_pay_through_the_api(api, merchant, sku, buyer, make_user, pay):
    campaign = api.post(
        f"{BASE}/campaigns", _campaign_body(sku, floor_price_fen=990), user=merchant
    ).json()
    started = api.post(f"{BASE}/campaigns/{campaign['id']}/start", user=buyer)
    assert started.status_code == 201
    bargain = started.json()
    assert bargain["current_price_fen"] == 5000 and bargain["helps_left"] == 3
    assert "seed" not in bargain
    again = api.post(f"{BASE}/campaigns/{campaign['id']}/start", user=buyer)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_bargaining"

    early = api.post(
        f"{BASE}/{bargain['id']}/buy", {"address_id": address_id_for(buyer)}, user=buyer
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "floor_not_reached"

    cuts = []
    for left in (2, 1, 0):
        helped = api.post(f"{BASE}/{bargain['id']}/help", user=make_user())
        assert helped.status_code == 201, helped.content
        assert helped.json()["helps_left"] == left
        cuts.append(helped.json()["cut_fen"])
    assert sum(cuts) == 5000 - 990

    detail = api.get(f"{BASE}/{bargain['id']}").json()
    assert detail["current_price_fen"] == 990 and detail["helps_left"] == 0
    assert [h["cut_fen"] for h in detail["helps"]] == cuts

    own = api.post(f"{BASE}/{bargain['id']}/help", user=buyer)
    assert own.status_code == 409 and own.json()["error"]["code"] == "own_bargain"

    bought = api.post(
        f"{BASE}/{bargain['id']}/buy", {"address_id": address_id_for(buyer)}, user=buyer
    )
    assert bought.status_code == 201
    body = bought.json()
    assert body["total_fen"] == 990 and body["pay_url"]
    bargain_row = Bargain.objects.get(public_id=bargain["id"])
    pay(bargain_row.order.checkout)
    mine = api.get(f"{BASE}/mine", user=buyer).json()["results"]
    assert mine[0]["state"] == "bought" and mine[0]["order_state"] == "paid"
    assert verify_ledger().ok


def test_helping_needs_a_verified_signed_in_user(api, merchant, sku, buyer, make_user):
    campaign = api.post(f"{BASE}/campaigns", _campaign_body(sku), user=merchant).json()
    bargain = api.post(f"{BASE}/campaigns/{campaign['id']}/start", user=buyer).json()
    assert api.post(f"{BASE}/{bargain['id']}/help").status_code == 401
    unverified = api.post(f"{BASE}/{bargain['id']}/help", user=make_user(verified=False))
    assert unverified.status_code == 403
    assert unverified.json()["error"]["code"] == "phone_not_verified"
    friend = make_user()
    assert api.post(f"{BASE}/{bargain['id']}/help", user=friend).status_code == 201
    twice = api.post(f"{BASE}/{bargain['id']}/help", user=friend)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_helped"


def test_unknown_ids_are_404(api, buyer):
    assert api.get(f"{BASE}/nope").status_code == 404
    assert api.post(f"{BASE}/nope/help", user=buyer).status_code == 404
    assert api.post(f"{BASE}/campaigns/nope/start", user=buyer).status_code == 404


def test_only_the_initiator_may_buy(api, merchant, sku, buyer, make_user):
    campaign = api.post(
        f"{BASE}/campaigns", _campaign_body(sku, buy_before_floor=True), user=merchant
    ).json()
    bargain = api.post(f"{BASE}/campaigns/{campaign['id']}/start", user=buyer).json()
    assert api.post(f"{BASE}/{bargain['id']}/buy", user=make_user()).status_code == 403
