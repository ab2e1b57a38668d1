"""Group buying API through the HTTP client."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.deals.groups.models import Group, GroupCampaign
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.tests.conftest import address_id_for

pytestmark = pytest.mark.django_db

BASE = "/deals/groups"


def _campaign_body(sku, **overrides):
    now = clock.now()
    body = {
        "sku_id": sku.public_id,
        "group_price_fen": 3900,
        "group_size": 2,
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(days=3)).isoformat(),
        "stock": 5,
    }
    body.update(overrides)
    return body


def test_merchant_creates_lists_pauses_and_resumes(api, merchant, sku):
    created = api.post(f"{BASE}/campaigns", _campaign_body(sku), user=merchant)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["group_price_fen"] == 3900 and body["normal_price_fen"] == 5900
    assert body["stock"] == 5 and body["state"] == "active"
    campaign_id = body["id"]
    listed = api.get(f"{BASE}/campaigns/shop", user=merchant).json()["results"]
    assert [row["id"] for row in listed] == [campaign_id]
    assert listed[0]["open_groups"] == 0
    paused = api.post(f"{BASE}/campaigns/{campaign_id}/pause", user=merchant)
    assert paused.json()["state"] == "paused"
    resumed = api.post(f"{BASE}/campaigns/{campaign_id}/resume", user=merchant)
    assert resumed.json()["state"] == "active"
    ended = api.post(f"{BASE}/campaigns/{campaign_id}/end", user=merchant)
    assert ended.json()["state"] == "ended" and ended.json()["stock"] == 0


def test_bad_settings_answer_4xx_with_a_code_and_nothing_changes(api, merchant, sku):
    answer = api.post(f"{BASE}/campaigns", _campaign_body(sku, group_price_fen=6000), user=merchant)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "group_price_too_high"
    answer = api.post(f"{BASE}/campaigns", _campaign_body(sku, group_size=60), user=merchant)
    assert answer.json()["error"]["code"] == "group_size_out_of_range"
    answer = api.post(f"{BASE}/campaigns", _campaign_body(sku, stock=999), user=merchant)
    assert answer.json()["error"]["code"] == "stock_above_sku"
    assert not GroupCampaign.objects.exists()


def test_another_merchant_gets_403(api, merchant, other_merchant, other_shop, sku):
    answer = api.post(f"{BASE}/campaigns", _campaign_body(sku), user=other_merchant)
    assert answer.status_code == 403
    campaign_id = api.post(f"{BASE}/campaigns", _campaign_body(sku), user=merchant).json()["id"]
    assert api.post(f"{BASE}/campaigns/{campaign_id}/pause", user=other_merchant).status_code == 403


def test_anonymous_is_401(api, merchant, sku):
    campaign_id = api.post(f"{BASE}/campaigns", _campaign_body(sku), user=merchant).json()["id"]
    assert api.post(f"{BASE}/campaigns/{campaign_id}/groups").status_code == 401


def test_buyers_open_join_pay_and_see_the_group_complete(api, merchant, buyer, make_user, sku, pay):
    from shoploop.orders.models import Checkout

    campaign_id = api.post(f"{BASE}/campaigns", _campaign_body(sku), user=merchant).json()["id"]
    opened = api.post(
        f"{BASE}/campaigns/{campaign_id}/groups", {"address_id": address_id_for(buyer)}, user=buyer
    )
    assert opened.status_code == 201, opened.content
    seat = opened.json()
    assert seat["is_leader"] and seat["price_fen"] == 3900 and seat["pay_url"]
    group_id = seat["group_id"]
    pay(Checkout.objects.get(orders__public_id=seat["order_id"]))

    listed = api.get(f"{BASE}/campaigns/{campaign_id}/groups").json()
    assert [row["id"] for row in listed] == [group_id]
    detail = api.get(f"{BASE}/groups/{group_id}").json()
    assert detail["more_needed"] == 1 and detail["paid_count"] == 1
    assert detail["members"][0]["is_leader"] and detail["members"][0]["name"] == "买家小王"
    assert detail["members"][0]["price_fen"] == 3900 and detail["refunded_count"] == 0
    assert detail["share_url"].endswith(f"/groups/g/{group_id}/")
    assert detail["min_paid_to_complete"] is None

    friend = make_user(display_name="好友")
    joined = api.post(
        f"{BASE}/groups/{group_id}/join", {"address_id": address_id_for(friend)}, user=friend
    )
    assert joined.status_code == 201
    assert api.post(
        f"{BASE}/groups/{group_id}/join", {"address_id": address_id_for(friend)}, user=friend
    ).json()["error"]["code"] in ("already_joined",)
    pay(Checkout.objects.get(orders__public_id=joined.json()["order_id"]))
    detail = api.get(f"{BASE}/groups/{group_id}").json()
    assert detail["state"] == "succeeded" and detail["more_needed"] == 0
    mine = api.get(f"{BASE}/mine", user=friend).json()["results"]
    assert mine[0]["group"]["id"] == group_id and mine[0]["seat"]["state"] == "paid"
    assert mine[0]["seat"]["pay_url"] == ""
    assert verify_ledger().ok


def test_join_errors_are_clear(api, merchant, buyer, make_user, sku):
    campaign_id = api.post(f"{BASE}/campaigns", _campaign_body(sku), user=merchant).json()["id"]
    group_id = api.post(
        f"{BASE}/campaigns/{campaign_id}/groups", {"address_id": address_id_for(buyer)}, user=buyer
    ).json()["group_id"]
    answer = api.post(
        f"{BASE}/groups/{group_id}/join", {"address_id": address_id_for(buyer)}, user=buyer
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "leader_in_group"
    answer = api.post(f"{BASE}/groups/{group_id}/join", user=make_user())
    assert answer.json()["error"]["code"] == "group_not_ready"
    assert api.get(f"{BASE}/groups/nope").status_code == 404
    assert api.get(f"{BASE}/campaigns/nope").status_code == 404
    Group.objects.update(state=Group.State.FAILED)
    answer = api.post(f"{BASE}/groups/{group_id}/join", user=make_user())
    assert answer.json()["error"]["code"] == "group_closed"


def test_group_lists_read_members_in_one_query_however_many_groups(
    api, merchant, make_user, sku, pay
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shoploop.orders.models import Checkout

    body = _campaign_body(sku, group_size=3, per_user_limit=5, stock=8)
    campaign_id = api.post(f"{BASE}/campaigns", body, user=merchant).json()["id"]
    friend = make_user(display_name="常客")

    def open_paid_group_with_friend():
        leader = make_user()
        body = {"address_id": address_id_for(leader)}
        seat = api.post(f"{BASE}/campaigns/{campaign_id}/groups", body, user=leader).json()
        pay(Checkout.objects.get(orders__public_id=seat["order_id"]))
        joined = api.post(
            f"{BASE}/groups/{seat['group_id']}/join",
            {"address_id": address_id_for(friend)},
            user=friend,
        )
        assert joined.status_code == 201, joined.content

    def statements(url, **kwargs):
        with CaptureQueriesContext(connection) as queries:
            answer = api.get(url, **kwargs)
        assert answer.status_code == 200
        body = answer.json()
        return len(queries.captured_queries), body if isinstance(body, list) else body["results"]

    open_paid_group_with_friend()
    one_list, listed = statements(f"{BASE}/campaigns/{campaign_id}/groups")
    one_mine, mine = statements(f"{BASE}/mine", user=friend)
    assert len(listed) == 1 and len(listed[0]["members"]) == 2 and len(mine) == 1
    for _ in range(2):
        open_paid_group_with_friend()
    three_list, listed = statements(f"{BASE}/campaigns/{campaign_id}/groups")
    three_mine, mine = statements(f"{BASE}/mine", user=friend)
    assert len(listed) == 3 and all(len(row["members"]) == 2 for row in listed)
    assert len(mine) == 3 and all(len(row["group"]["members"]) == 2 for row in mine)
    # The reserved seats' pay links read their payments (one each); nothing else grows.
    assert three_list == one_list
    assert three_mine == one_mine + 2
