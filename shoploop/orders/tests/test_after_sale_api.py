"""The after-sale API: the deadline and what happens at it, the return flow (address once
accepted, tracking only after acceptance, confirm, dispute) and who may do what."""

import pytest

from shoploop.catalog import services as catalog_services
from shoploop.ledger.models import Payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import AfterSale, Order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

ADDRESS = "Returns desk, 8 Warehouse Road"


@pytest.fixture
def received(buyer, sku, shop, place, pay):
    catalog_services.update_shop(shop=shop, actor=shop.owner, return_address=ADDRESS)
    checkout = place((sku, 1))
    pay(checkout)
    order = Order.objects.get(checkout=checkout)
    services.ship_order(
        order=order, actor=shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    return services.confirm_receipt(order=order, actor=buyer)


def _create(api, order, kind):
    response = api.post(
        f"/orders/{order.public_id}/after-sales",
        {"kind": kind, "reason_code": "wrong_item"},
        user=order.buyer,
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_the_buyer_sees_the_deadline_in_the_api(api, received):
    body = _create(api, received, "refund_only")
    stored = AfterSale.objects.get()
    assert body["due_at"] is not None
    assert body["due_at"].startswith(stored.due_at.isoformat()[:16])
    assert body["due_label"] == "If the shop does not answer by then, the platform decides."
    again = api.get(f"/orders/after-sales/{body['id']}", user=received.buyer).json()
    assert again["due_at"] == body["due_at"]


def test_return_flow_through_the_api(api, received, committed):
    body = _create(api, received, "return_and_refund")
    url = f"/orders/after-sales/{body['id']}"
    assert body["return_address"] == ""
    early = api.post(
        f"{url}/return", {"carrier": "YTO", "tracking_number": "1"}, user=received.buyer
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "return_not_accepted"
    accepted = api.post(f"{url}/accept", user=received.shop.owner).json()
    assert accepted["state"] == "accepted" and accepted["return_address"] == ADDRESS
    shipped = api.post(
        f"{url}/return", {"carrier": "YTO", "tracking_number": "YT9"}, user=received.buyer
    ).json()
    assert shipped["state"] == "return_shipped" and shipped["return_tracking_number"] == "YT9"
    assert "refunded automatically" in shipped["due_label"]
    with committed():
        done = api.post(f"{url}/confirm-return", user=received.shop.owner)
    assert done.status_code == 200 and done.json()["state"] == "refunded"
    with committed():
        twice = api.post(f"{url}/confirm-return", user=received.shop.owner)
    assert twice.status_code == 409
    payment = Payment.objects.get(public_id=received.checkout.payment_public_id)
    assert payment.refunded_fen == received.total_fen
    assert verify_ledger().ok


def test_dispute_through_the_api(api, received):
    body = _create(api, received, "return_and_refund")
    url = f"/orders/after-sales/{body['id']}"
    api.post(f"{url}/accept", user=received.shop.owner)
    api.post(f"{url}/return", {"carrier": "YTO", "tracking_number": "YT9"}, user=received.buyer)
    empty = api.post(f"{url}/dispute", {"reason": ""}, user=received.shop.owner)
    assert empty.status_code == 422
    disputed = api.post(f"{url}/dispute", {"reason": "Empty box"}, user=received.shop.owner)
    assert disputed.json()["state"] == "escalated" and disputed.json()["escalation"] == "dispute"


def test_someone_elses_after_sale_is_403_and_unknown_is_404(api, received, other_user):
    body = _create(api, received, "return_and_refund")
    url = f"/orders/after-sales/{body['id']}"
    assert api.get(url, user=other_user).status_code == 403
    for action in ("accept", "confirm-return"):
        assert api.post(f"{url}/{action}", user=other_user).status_code == 403
    assert (
        api.post(f"{url}/return", {"carrier": "x", "tracking_number": "y"}, user=other_user)
    ).status_code == 403
    assert api.get("/orders/after-sales/nope", user=other_user).status_code == 404
    # the shop cannot send the goods back for the buyer, nor the buyer confirm them
    api.post(f"{url}/accept", user=received.shop.owner)
    own = api.post(
        f"{url}/return", {"carrier": "x", "tracking_number": "y"}, user=received.shop.owner
    )
    assert own.status_code == 403
    assert AfterSale.objects.get().state == "accepted"
