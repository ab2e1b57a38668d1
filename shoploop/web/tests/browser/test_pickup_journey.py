"""Pickup on a phone (390 px): a member chooses the community's pickup point on the confirm page;
after paying, the shop sends the order to the point; the buyer's order page shows the code and
its QR; the 团长 opens the QR's link, which fills the code in, and presses "Collected". Every page
fits the screen and passes axe; each step leaves a screenshot."""

import re

import pytest
from playwright.sync_api import expect

from shoploop.catalog import services as catalog
from shoploop.communities import leader_services
from shoploop.communities import services as communities
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.orders import services as orders
from shoploop.orders.models import Order
from shoploop.web.tests.browser.conftest import (
    assert_accessible,
    assert_no_horizontal_overflow,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POINT = "Building 3 lobby"


@pytest.fixture
def neighbourhood(make_user, operator):
    owner = make_user(display_name="Owner Li")
    community = communities.create_community(actor=owner, name="Maple Court", tags=["neighbours"])
    leader = make_user(display_name="Leader Mei")
    buyer = make_user(display_name="Buyer Ming")
    for person in (leader, buyer):
        communities.join_community(actor=person, community=community)
    leader_services.appoint_leader(actor=owner, community=community, user=leader)
    point = orders.create_pickup_point(
        actor=leader, community=community, name=POINT, address="Maple Court 3", hours="9-21"
    )
    merchant = make_user(display_name="Roaster")
    shop = catalog.approve_shop(
        shop=catalog.apply_for_shop(user=merchant, name="Roastery", contact="wechat r"),
        actor=operator,
    )
    product = catalog.create_product(
        shop=shop, actor=merchant, title="Coffee beans", description="", category="food"
    )
    sku = catalog.add_sku(product=product, actor=merchant, options={}, price_fen=3900, stock=5)
    catalog.publish_product(product=product, actor=merchant)
    orders.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    return {"buyer": buyer, "leader": leader, "merchant": merchant, "point": point}


def _pay(checkout_public_id: str) -> None:
    from shoploop.orders.models import Checkout

    checkout = Checkout.objects.get(public_id=checkout_public_id)
    payment = payments.payment_by_public_id(public_id=checkout.payment_public_id)
    report_payment(payment)


def test_pick_up_at_the_community_point(phone, neighbourhood, screenshot):
    point = neighbourhood["point"]
    page = phone(neighbourhood["buyer"]).new_page()
    page.goto("/cart/confirm/")
    page.get_by_label(re.compile(f"Pick up at {POINT}")).check()
    expect(page.locator("form[action$='/cart/checkout/'] input[name=pickup_point]")).to_have_value(
        point.public_id
    )
    assert_no_horizontal_overflow(page)
    assert_accessible(page)
    screenshot(page, "pickup-1-confirm")
    page.get_by_role("button", name=re.compile("Confirm and pay")).click()
    page.wait_for_url(re.compile("/pay/"))
    order = Order.objects.get(buyer=neighbourhood["buyer"])
    assert order.is_pickup and order.pickup_point == point
    _pay(order.checkout.public_id)
    orders.ship_order(order=order, actor=neighbourhood["merchant"], carrier="", tracking_number="")

    page.goto(f"/orders/{order.public_id}/")
    expect(page.get_by_test_id("pickup-code")).to_have_text(order.pickup_code)
    expect(page.locator(".pickup-qr svg")).to_be_visible()
    assert_no_horizontal_overflow(page)
    assert_accessible(page)
    screenshot(page, "pickup-2-buyer-code")

    leader_tab = phone(neighbourhood["leader"]).new_page()
    # What the 团长's camera opens when it scans the buyer's QR code.
    leader_tab.goto(f"/pickup/{point.public_id}/?code={order.pickup_code}")
    expect(leader_tab.get_by_label("The buyer's pickup code")).to_have_value(order.pickup_code)
    assert_no_horizontal_overflow(leader_tab)
    assert_accessible(leader_tab)
    screenshot(leader_tab, "pickup-3-leader-point")
    leader_tab.get_by_role("button", name="Collected", exact=True).click()
    expect(leader_tab.get_by_text(f"Order {order.public_id} collected")).to_be_visible()
    order.refresh_from_db()
    assert order.state == Order.State.RECEIVED
    leader_tab.get_by_label("The buyer's pickup code").fill(order.pickup_code)
    leader_tab.get_by_role("button", name="Collected", exact=True).click()
    expect(leader_tab.get_by_test_id("collect-error")).to_have_text(
        "This order was already collected."
    )
    screenshot(leader_tab, "pickup-4-collected-twice")
    for url in ("/pickup/", "/pickup/earnings/", f"/pickup/{point.public_id}/edit/"):
        leader_tab.goto(url)
        assert_no_horizontal_overflow(leader_tab)
        assert_accessible(leader_tab)
    leader_tab.context.close()
