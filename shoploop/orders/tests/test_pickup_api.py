"""Pickup through /api/v1: leaders, points, quote and checkout with a point, shipping without a
number, collection (wrong code, twice, another's point), earnings, shop settings."""

import pytest

from shoploop.orders import services
from shoploop.orders.models import Order

pytestmark = pytest.mark.usefixtures("english")


def test_owner_appoints_and_revokes_a_leader(api, community_owner, community, leader):
    path = f"/communities/{community.public_id}/leaders"
    created = api.post(path, {"user_id": leader.public_id}, user=community_owner)
    assert created.status_code == 201, created.json()
    assert created.json()["leader"]["id"] == leader.public_id
    assert [row["leader"]["id"] for row in api.get(path).json()] == [leader.public_id]
    again = api.post(path, {"user_id": leader.public_id}, user=community_owner)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_leader"
    forbidden = api.post(path, {"user_id": leader.public_id}, user=leader)
    assert forbidden.status_code == 403
    revoked = api.delete(f"{path}/{leader.public_id}", user=community_owner)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert api.get(path).json() == []


def test_a_leader_opens_and_edits_a_point(api, leadership, leader, community, member_buyer):
    created = api.post(
        "/orders/pickup/points",
        {
            "community_id": community.public_id,
            "name": "东门",
            "address": "东门岗亭",
            "hours": "8-20",
        },
        user=leader,
    )
    assert created.status_code == 201, created.json()
    point_id = created.json()["id"]
    assert [p["id"] for p in api.get("/orders/pickup/points", user=leader).json()] == [point_id]
    assert [p["id"] for p in api.get("/orders/pickup/available", user=member_buyer).json()] == [
        point_id
    ]
    closed = api.put(
        f"/orders/pickup/points/{point_id}",
        {"name": "东门", "address": "东门岗亭", "hours": "8-20", "is_active": False},
        user=leader,
    )
    assert closed.status_code == 200 and closed.json()["is_active"] is False
    assert api.get("/orders/pickup/available", user=member_buyer).json() == []
    someone_else = api.put(
        f"/orders/pickup/points/{point_id}",
        {"name": "x", "address": "y", "hours": "z"},
        user=member_buyer,
    )
    assert someone_else.status_code == 404


def test_a_non_leader_cannot_open_a_point(api, community, member_buyer):
    refused = api.post(
        "/orders/pickup/points",
        {"community_id": community.public_id, "name": "n", "address": "a", "hours": "h"},
        user=member_buyer,
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_leader"


def test_quote_and_checkout_with_a_pickup_point(api, member_buyer, point, sku):
    services.add_to_cart(user=member_buyer, sku_public_id=sku.public_id, quantity=1)
    quote = api.post("/orders/checkout/quote", {}, user=member_buyer).json()
    assert [p["id"] for p in quote["pickup_points"]] == [point.public_id]
    body = {"delivery_method": "pickup", "pickup_point_id": point.public_id}
    chosen = api.post("/orders/checkout/quote", body, user=member_buyer).json()
    assert chosen["can_confirm"] and chosen["pickup_point"]["id"] == point.public_id
    placed = api.post(
        "/orders/checkout", body, user=member_buyer, headers={"Idempotency-Key": "pickup-1"}
    )
    assert placed.status_code == 201, placed.json()
    (order,) = placed.json()["orders"]
    assert order["delivery_method"] == "pickup" and order["address"] is None
    assert order["pickup_point"]["name"] == point.name
    detail = api.get(f"/orders/{order['id']}", user=member_buyer).json()
    assert detail["pickup_code"] == Order.objects.get(public_id=order["id"]).pickup_code


def test_the_merchant_does_not_see_the_code(api, pickup_checkout, merchant):
    order = pickup_checkout().orders.get()
    assert api.get(f"/orders/{order.public_id}", user=merchant).json()["pickup_code"] == ""


def test_an_unknown_point_is_404(api, member_buyer, sku):
    services.add_to_cart(user=member_buyer, sku_public_id=sku.public_id, quantity=1)
    answer = api.post(
        "/orders/checkout",
        {"delivery_method": "pickup", "pickup_point_id": "nope"},
        user=member_buyer,
        headers={"Idempotency-Key": "pickup-2"},
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "pickup_point_not_found"


def test_ship_and_collect_through_the_api(
    api, pickup_checkout, pay, merchant, leader, point, member_buyer
):
    checkout = pickup_checkout()
    pay(checkout)
    order = checkout.orders.get()
    sent = api.post(
        f"/orders/{order.public_id}/ship", {"carrier": "", "tracking_number": ""}, user=merchant
    )
    assert sent.status_code == 200 and sent.json()["state"] == "shipped"
    listed = api.get(f"/orders/pickup/points/{point.public_id}/orders", user=leader).json()
    assert [row["id"] for row in listed] == [order.public_id]
    path = f"/orders/pickup/points/{point.public_id}/collect"
    wrong = api.post(path, {"code": "ZZZZZZZZ"}, user=leader)
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "pickup_code_invalid"
    by_buyer = api.post(path, {"code": order.pickup_code}, user=member_buyer)
    assert by_buyer.status_code == 404  # not their point to see
    done = api.post(path, {"code": order.pickup_code}, user=leader)
    assert done.status_code == 200 and done.json()["state"] == "received"
    twice = api.post(path, {"code": order.pickup_code}, user=leader)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_collected"
    collected = api.get(
        f"/orders/pickup/points/{point.public_id}/orders", user=leader, collected="true"
    ).json()
    assert [row["id"] for row in collected] == [order.public_id]


def test_shop_settings_and_earnings(api, merchant, pickup_checkout, pay, leader):
    assert api.get("/orders/pickup/shop-settings", user=merchant).json()["offers_pickup"] is True
    saved = api.put(
        "/orders/pickup/shop-settings",
        {"offers_pickup": True, "leader_commission_fen": 150},
        user=merchant,
    )
    assert saved.status_code == 200 and saved.json()["leader_commission_fen"] == 150
    bad = api.put(
        "/orders/pickup/shop-settings",
        {"offers_pickup": True, "leader_commission_fen": 10**9},
        user=merchant,
    )
    assert bad.status_code == 422
    pay(pickup_checkout())
    earnings = api.get("/orders/pickup/earnings", user=leader).json()
    assert (earnings["frozen_fen"], earnings["available_fen"], earnings["reversed_fen"]) == (
        150,
        0,
        0,
    )
    assert earnings["withdrawable_fen"] == 0
    (row,) = earnings["orders"]
    assert (row["commission_fen"], row["original_fen"], row["state"]) == (150, 150, "frozen")
    assert row["order_state"] == "paid" and row["id"] != row["order_id"]
    assert api.get("/orders/pickup/shop-settings", user=leader).status_code == 403
