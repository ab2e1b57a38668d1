"""Irreversible one-tap actions ask once more, without JavaScript: a POST without ``confirm=1``
renders a confirmation page (with a second button that posts ``confirm=1`` to the same URL) and
changes nothing; only the confirmed POST calls the service. Confirm receipt, accept and refund,
confirm a returned parcel (orders), and transfer ownership and dissolve (communities)."""

import pytest
from django.utils.timezone import localtime

from shoploop.catalog import services as catalog_services
from shoploop.communities import services as community_services
from shoploop.communities.models import Community, Membership
from shoploop.ledger.models import Payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import AfterSale, Order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SECOND_BUTTON = '<input type="hidden" name="confirm" value="1">'


@pytest.fixture
def shipped(buyer, sku, place, pay):
    checkout = place((sku, 1))
    pay(checkout)
    order = Order.objects.get(checkout=checkout)
    return services.ship_order(
        order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )


@pytest.fixture
def requested(shipped):
    return services.request_after_sale(
        order=shipped, actor=shipped.buyer, kind="refund_only", reason_code="not_received"
    )


def _asks(response, url):
    page = response.content.decode()
    assert response.status_code == 200
    assert SECOND_BUTTON in page and f'action="{url}"' in page
    return page


def _refunded(order):
    return Payment.objects.get(public_id=order.checkout.payment_public_id).refunded_fen


def test_confirm_receipt_asks_first(client, shipped):
    client.force_login(shipped.buyer)
    url = f"/orders/{shipped.public_id}/receive/"
    page = _asks(client.post(url), url)
    assert "Did you receive everything" in page
    shipped.refresh_from_db()
    assert shipped.state == Order.State.SHIPPED
    client.post(url, {"confirm": "1"})
    shipped.refresh_from_db()
    assert shipped.state == Order.State.RECEIVED
    # confirming twice: the second is refused with a message, nothing changes
    again = client.post(url, {"confirm": "1"}, follow=True)
    assert "Only shipped orders can be received." in again.content.decode()


def test_accept_and_refund_asks_first(client, requested, committed):
    order = requested.order
    client.force_login(order.shop.owner)
    url = f"/after-sales/{requested.public_id}/accept/"
    page = _asks(client.post(url, {"next": "after_sale"}), url)
    assert "¥59.00" in page and 'name="next" value="after_sale"' in page
    requested.refresh_from_db()
    assert requested.state == "requested" and _refunded(order) == 0
    with committed():
        response = client.post(url, {"next": "after_sale", "confirm": "1"})
    assert response["Location"] == f"/after-sales/{requested.public_id}/"
    requested.refresh_from_db()
    assert requested.state == "refunded" and _refunded(order) == 5900
    with committed():
        again = client.post(url, {"confirm": "1"}, follow=True)
    assert "already decided" in again.content.decode()
    assert _refunded(order) == 5900
    assert verify_ledger().ok


def test_confirm_returned_goods_asks_first(client, shipped, committed):
    shop = shipped.shop
    catalog_services.update_shop(shop=shop, actor=shop.owner, return_address="退货地址 1 号")
    after_sale = services.request_after_sale(
        order=shipped, actor=shipped.buyer, kind="return_and_refund", reason_code="wrong_item"
    )
    services.accept_after_sale(after_sale=after_sale, actor=shop.owner)
    services.ship_return(
        after_sale=after_sale, actor=shipped.buyer, carrier="圆通", tracking_number="YT1"
    )
    client.force_login(shop.owner)
    url = f"/after-sales/{after_sale.public_id}/confirm-return/"
    _asks(client.post(url), url)
    after_sale.refresh_from_db()
    assert after_sale.state == "return_shipped" and _refunded(shipped) == 0
    with committed():
        client.post(url, {"confirm": "1"})
    after_sale.refresh_from_db()
    assert after_sale.state == "refunded" and _refunded(shipped) == 5900
    assert verify_ledger().ok


def test_someone_elses_after_sale_is_403_and_unknown_is_404(client, requested, other_user):
    client.force_login(other_user)
    for path in ("", "accept/", "confirm-return/", "return/", "dispute/"):
        url = f"/after-sales/{requested.public_id}/{path}"
        response = client.post(url, {"confirm": "1"}) if path else client.get(url)
        assert response.status_code == 403, path
    assert client.get("/after-sales/nope/").status_code == 404
    assert client.post("/after-sales/nope/accept/", {"confirm": "1"}).status_code == 404
    requested.refresh_from_db()
    assert requested.state == "requested"


def test_buyer_cannot_accept_their_own_request(client, requested):
    client.force_login(requested.order.buyer)
    response = client.post(f"/after-sales/{requested.public_id}/accept/", {"confirm": "1"})
    assert response.status_code == 403
    assert AfterSale.objects.get().state == "requested"


def test_after_sale_page_shows_the_deadline_to_the_buyer(client, requested):
    client.force_login(requested.order.buyer)
    page = client.get(f"/after-sales/{requested.public_id}/").content.decode()
    assert localtime(requested.due_at).strftime("%Y-%m-%d %H:%M") in page
    assert "the platform decides" in page


# --- communities ---


@pytest.fixture
def community(make_user):
    owner = make_user(display_name="群主")
    return community_services.create_community(actor=owner, name="手冲咖啡同好会", tags="咖啡")


def test_dissolve_asks_first(client, community):
    client.force_login(community.owner)
    url = f"/c/{community.public_id}/dissolve/"
    _asks(client.post(url), url)
    community.refresh_from_db()
    assert community.state == Community.State.ACTIVE
    client.post(url, {"confirm": "1"})
    community.refresh_from_db()
    assert community.state == Community.State.DISSOLVED


def test_transfer_ownership_asks_first(client, community, make_user):
    member = make_user(display_name="新群主")
    community_services.join_community(actor=member, community=community)
    client.force_login(community.owner)
    url = f"/c/{community.public_id}/members/{member.public_id}/transfer/"
    page = _asks(client.post(url), url)
    assert "新群主" in page
    community.refresh_from_db()
    assert community.owner_id != member.pk
    client.post(url, {"confirm": "1"})
    community.refresh_from_db()
    assert community.owner_id == member.pk
    assert Membership.objects.get(community=community, user=member).role == "owner"
