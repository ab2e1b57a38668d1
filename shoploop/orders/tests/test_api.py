"""The orders API through the HTTP client: cart, checkout idempotency, orders, after-sale, 403s."""

import pytest

from shoploop.catalog.models import SKU
from shoploop.orders.models import Checkout, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def ship_to_buyer(buyer, ship_to):
    return ship_to(buyer)


def _checkout(api, buyer, key="key-1", body=None):
    from shoploop.orders.models import Address

    body = dict(body or {})
    address = Address.objects.filter(user=buyer, is_default=True).first()
    if address is not None:
        body.setdefault("address_id", address.public_id)
    return api.post("/orders/checkout", body, user=buyer, headers={"Idempotency-Key": key})


def test_cart_api_ignores_client_prices(api, buyer, sku):
    response = api.post(
        "/orders/cart/lines", {"sku_id": sku.public_id, "quantity": 2, "price_fen": 1}, user=buyer
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total_fen"] == 11800 and body["lines"][0]["unit_price_fen"] == 5900
    assert (
        api.put(f"/orders/cart/lines/{sku.public_id}", {"quantity": 3}, user=buyer).json()["count"]
        == 3
    )
    assert api.delete(f"/orders/cart/lines/{sku.public_id}", user=buyer).json()["lines"] == []


@pytest.mark.parametrize("quantity", [0, -5, 10**9, "abc", 1.5, None])
def test_cart_api_rejects_bad_quantities(api, buyer, sku, quantity):
    response = api.post(
        "/orders/cart/lines", {"sku_id": sku.public_id, "quantity": quantity}, user=buyer
    )
    assert response.status_code == 422
    assert "error" in response.json()


def test_cart_api_unknown_sku_is_404(api, buyer):
    response = api.post("/orders/cart/lines", {"sku_id": "nope", "quantity": 1}, user=buyer)
    assert response.status_code == 404 and response.json()["error"]["code"] == "sku_not_found"


def test_cart_api_needs_sign_in(api, sku):
    assert api.get("/orders/cart").status_code == 401


def test_checkout_api_is_idempotent(api, buyer, sku, ship_to_buyer):
    api.post("/orders/cart/lines", {"sku_id": sku.public_id, "quantity": 1}, user=buyer)
    first = _checkout(api, buyer)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["total_fen"] == 5900 and body["pay_url"] and len(body["orders"]) == 1
    again = _checkout(api, buyer)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    other = _checkout(api, buyer, body={"coupons": {"x": "y"}})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Checkout.objects.count() == 1 and SKU.objects.get(pk=sku.pk).stock == 9


def test_checkout_api_needs_the_header(api, buyer, sku):
    api.post("/orders/cart/lines", {"sku_id": sku.public_id, "quantity": 1}, user=buyer)
    response = api.post("/orders/checkout", {}, user=buyer)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_missing"
    assert not Checkout.objects.exists()


def test_checkout_api_out_of_stock(api, buyer, sku, ship_to_buyer):
    api.post("/orders/cart/lines", {"sku_id": sku.public_id, "quantity": 5}, user=buyer)
    SKU.objects.filter(pk=sku.pk).update(stock=2)
    response = _checkout(api, buyer)
    assert response.status_code == 409 and response.json()["error"]["code"] == "out_of_stock"
    assert SKU.objects.get(pk=sku.pk).stock == 2


def test_checkout_api_needs_an_address_of_ones_own(api, buyer, other_user, sku, make_address):
    api.post("/orders/cart/lines", {"sku_id": sku.public_id, "quantity": 1}, user=buyer)
    response = _checkout(api, buyer)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "address_required"
    theirs = make_address(other_user)
    response = _checkout(api, buyer, key="key-2", body={"address_id": theirs.public_id})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "address_not_found"
    mine = make_address(buyer)
    response = _checkout(
        api, buyer, key="key-3", body={"address_id": mine.public_id, "delivery_method": "drone"}
    )
    assert response.json()["error"]["code"] == "delivery_method_invalid"
    assert not Checkout.objects.exists() and SKU.objects.get(pk=sku.pk).stock == 10


def test_checkout_api_stores_a_copy_of_the_address(api, buyer, sku, make_address):
    api.post("/orders/cart/lines", {"sku_id": sku.public_id, "quantity": 1}, user=buyer)
    address = make_address(buyer)
    response = _checkout(api, buyer, body={"address_id": address.public_id})
    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert (order.ship_recipient, order.ship_phone, order.ship_region) == (
        "王小明",
        "+8613812345678",
        "广东省 深圳市 南山区",
    )
    assert order.delivery_method == "delivery"
    address.street = "changed later"
    address.save()
    order.refresh_from_db()
    assert order.ship_street == "科技园南区 1 栋 101"


def test_quote_api_shows_the_coupon_in_the_total_and_charges_nothing(
    api, buyer, sku, shop, make_address
):
    from datetime import timedelta

    from shoploop.core import clock
    from shoploop.coupons import services as coupons

    coupon = coupons.create_coupon(
        actor=shop.owner,
        shop=shop,
        name="满100减10",
        kind="fixed",
        starts_at=clock.now() - timedelta(hours=1),
        ends_at=clock.now() + timedelta(days=3),
        total_quantity=10,
        amount_off_fen=1000,
        min_spend_fen=10000,
    )
    claim = coupons.claim_coupon(coupon=coupon, user=buyer)
    api.post("/orders/cart/lines", {"sku_id": sku.public_id, "quantity": 2}, user=buyer)
    address = make_address(buyer)
    quote = api.post("/orders/checkout/quote", {}, user=buyer)
    assert quote.status_code == 200, quote.content
    body = quote.json()
    assert body["address"]["id"] == address.public_id and body["can_confirm"]
    assert body["subtotal_fen"] == 11800 and body["discount_fen"] == 1000
    assert body["total_fen"] == 10800
    shop_part = body["shops"][0]
    assert shop_part["coupon_claim_id"] == claim.public_id
    assert shop_part["lines"][0]["options"] == {"重量": "250g"}
    without = api.post("/orders/checkout/quote", {"coupons": {}}, user=buyer).json()
    assert without["total_fen"] == 11800
    assert not Checkout.objects.exists() and SKU.objects.get(pk=sku.pk).stock == 10
    placed = _checkout(
        api, buyer, body={"address_id": address.public_id, "coupons": body_coupons(body)}
    )
    assert placed.json()["total_fen"] == 10800


def body_coupons(quote: dict) -> dict:
    return {part["shop_id"]: part["coupon_claim_id"] for part in quote["shops"]}


def test_quote_api_refuses_an_empty_cart_and_another_users_address(
    api, buyer, other_user, sku, make_address
):
    assert api.post("/orders/checkout/quote", {}, user=buyer).json()["error"]["code"] == (
        "cart_empty"
    )
    api.post("/orders/cart/lines", {"sku_id": sku.public_id, "quantity": 1}, user=buyer)
    theirs = make_address(other_user)
    response = api.post("/orders/checkout/quote", {"address_id": theirs.public_id}, user=buyer)
    assert response.status_code == 404
    no_address = api.post("/orders/checkout/quote", {}, user=buyer).json()
    assert no_address["address"] is None and no_address["can_confirm"] is False


@pytest.fixture
def paid_order(buyer, sku, place, pay):
    checkout = place((sku, 2))
    pay(checkout)
    return Order.objects.get(checkout=checkout)


def test_order_visibility_matrix(api, paid_order, buyer, other_user, operator, other_merchant):
    path = f"/orders/{paid_order.public_id}"
    assert api.get(path).status_code == 401
    assert api.get(path, user=buyer).status_code == 200
    assert api.get(path, user=paid_order.shop.owner).status_code == 200
    assert api.get(path, user=operator).status_code == 200
    assert api.get(path, user=other_user).status_code == 403
    assert api.get(path, user=other_merchant).status_code == 403
    assert api.get("/orders/unknown123", user=buyer).status_code == 404


def test_lists_show_only_ones_own(api, paid_order, buyer, other_user, other_shop):
    other_merchant = other_shop.owner
    mine = api.get("/orders/", user=buyer).json()
    assert [item["id"] for item in mine["results"]] == [paid_order.public_id]
    assert api.get("/orders/", user=other_user).json()["results"] == []
    shop = api.get("/orders/shop", user=paid_order.shop.owner).json()
    assert [item["id"] for item in shop["results"]] == [paid_order.public_id]
    assert api.get("/orders/shop", user=other_merchant).json()["results"] == []
    assert api.get("/orders/shop", user=other_user).status_code == 403


def test_ship_receive_and_after_sale_through_the_api(api, paid_order, buyer, other_merchant):
    path = f"/orders/{paid_order.public_id}"
    merchant = paid_order.shop.owner
    ship = {"carrier": "sf", "tracking_number": "SF123456789012"}
    assert api.post(f"{path}/ship", ship, user=other_merchant).status_code == 403
    assert api.post(f"{path}/ship", ship, user=buyer).status_code == 403
    assert (
        api.post(f"{path}/ship", {"carrier": "", "tracking_number": "1"}, user=merchant).status_code
        == 422
    )
    assert api.post(f"{path}/ship", ship, user=merchant).json()["state"] == "shipped"
    assert api.post(f"{path}/receive", user=buyer).json()["state"] == "received"
    line_id = paid_order.lines.get().public_id
    request = {
        "kind": "refund_only",
        "reason": "坏了",
        "lines": [{"line_id": line_id, "quantity": 1}],
    }
    created = api.post(f"{path}/after-sales", request, user=buyer)
    assert created.status_code == 201, created.content
    after_sale_id = created.json()["id"]
    assert created.json()["amount_fen"] == 5900
    queue = api.get("/orders/shop/after-sales", user=merchant).json()["results"]
    assert [item["id"] for item in queue] == [after_sale_id]
    assert (
        api.post(f"/orders/after-sales/{after_sale_id}/accept", user=other_merchant).status_code
        == 403
    )
    rejected = api.post(
        f"/orders/after-sales/{after_sale_id}/reject", {"reason": "no"}, user=merchant
    )
    assert rejected.json()["state"] == "rejected"
    escalated = api.post(f"/orders/after-sales/{after_sale_id}/escalate", user=buyer)
    assert escalated.json()["state"] == "escalated"
    detail = api.get(path, user=buyer).json()
    assert [event["kind"] for event in detail["timeline"]][:4] == [
        "placed",
        "paid",
        "shipped",
        "received",
    ]


def test_non_integer_quantities_in_after_sale_are_422(api, paid_order, buyer):
    path = f"/orders/{paid_order.public_id}/after-sales"
    line_id = paid_order.lines.get().public_id
    body = {
        "kind": "refund_only",
        "reason": "x",
        "lines": [{"line_id": line_id, "quantity": "1.5"}],
    }
    assert api.post(path, body, user=buyer).status_code == 422


def test_cancel_via_api(api, paid_order, buyer, other_user):
    path = f"/orders/{paid_order.public_id}/cancel"
    assert api.post(path, user=other_user).status_code == 403
    response = api.post(path, user=buyer)
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert api.post(path, user=buyer).status_code == 409
