"""The address copy on an order: taken at checkout, changed by the buyer until it ships."""

import pytest

from shoploop.core.errors import Conflict, NotFound, PermissionDenied
from shoploop.orders import services
from shoploop.orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(buyer, sku, place, pay):
    checkout = place((sku, 1))
    pay(checkout)
    return checkout.orders.get()


def test_the_order_keeps_its_copy_when_the_address_book_changes(buyer, sku, place):
    from shoploop.orders import address_services
    from shoploop.orders.models import Address

    order = place((sku, 1)).orders.get()
    address = Address.objects.get(user=buyer)
    address_services.delete_address(user=buyer, address_public_id=address.public_id)
    order.refresh_from_db()
    assert order.ship_recipient == "收件人" and order.ship_region == "广东省 深圳市 南山区"
    assert order.ship_street == "人民路 1 号" and order.ship_district_code == "440305"


def test_buyer_changes_the_address_until_it_ships(buyer, paid_order, make_address):
    other = make_address(buyer, recipient_name="李四", district_code="440304", street="福田路")
    order = services.change_order_address(
        order=paid_order, actor=buyer, address_public_id=other.public_id
    )
    assert (order.ship_recipient, order.ship_district, order.ship_street) == (
        "李四",
        "福田区",
        "福田路",
    )
    assert order.events.filter(kind="address_changed").exists()
    services.ship_order(
        order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    with pytest.raises(Conflict) as caught:
        services.change_order_address(order=order, actor=buyer, address_public_id=other.public_id)
    assert caught.value.code == "address_locked"


def test_only_the_buyer_with_their_own_address(buyer, other_user, paid_order, make_address):
    theirs = make_address(other_user)
    with pytest.raises(PermissionDenied):
        services.change_order_address(
            order=paid_order, actor=other_user, address_public_id=theirs.public_id
        )
    with pytest.raises(PermissionDenied):
        services.change_order_address(
            order=paid_order, actor=paid_order.shop.owner, address_public_id=theirs.public_id
        )
    with pytest.raises(NotFound):
        services.change_order_address(
            order=paid_order, actor=buyer, address_public_id=theirs.public_id
        )
    paid_order.refresh_from_db()
    assert paid_order.ship_recipient == "收件人"


def test_a_cancelled_order_keeps_its_address(buyer, sku, place, make_address):
    order = place((sku, 1)).orders.get()
    services.cancel_order(order=order, actor=buyer)
    with pytest.raises(Conflict):
        services.change_order_address(
            order=order, actor=buyer, address_public_id=make_address(buyer).public_id
        )


def test_api_shows_and_changes_the_address(api, buyer, paid_order, make_address):
    body = api.get(f"/orders/{paid_order.public_id}", user=buyer).json()
    assert body["address"]["recipient"] == "收件人" and body["address"]["phone"] == "13912345678"
    assert body["delivery_method"] == "delivery"
    other = make_address(buyer)
    changed = api.post(
        f"/orders/{paid_order.public_id}/address", {"address_id": other.public_id}, user=buyer
    )
    assert changed.status_code == 200 and changed.json()["address"]["recipient"] == "王小明"
    merchant_view = api.get(f"/orders/{paid_order.public_id}", user=paid_order.shop.owner)
    assert merchant_view.json()["address"]["street"] == "科技园南区 1 栋 101"
    refused = api.post(
        f"/orders/{paid_order.public_id}/address", {"address_id": "nope"}, user=buyer
    )
    assert refused.status_code == 404


def test_pages_show_the_address_and_let_the_buyer_change_it(
    client, buyer, paid_order, make_address, english
):
    other = make_address(buyer, recipient_name="李四")
    client.force_login(buyer)
    page = client.get(f"/orders/{paid_order.public_id}/").content.decode()
    assert "收件人" in page and "Ship to another address" in page
    client.post(f"/orders/{paid_order.public_id}/address/", {"address": other.public_id})
    assert Order.objects.get(pk=paid_order.pk).ship_recipient == "李四"
    client.force_login(paid_order.shop.owner)
    page = client.get(f"/orders/{paid_order.public_id}/").content.decode()
    assert "李四" in page and "Ship to another address" not in page
