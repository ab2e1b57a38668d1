"""The Me page's order shortcuts (待付款 待发货 待收货 待评价 退款/售后): counts and links."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from shoploop.core import clock
from shoploop.orders import selectors, services
from shoploop.orders.models import Order

pytestmark = pytest.mark.django_db


def _paid_order(place, pay, sku):
    checkout = place((sku, 1))
    pay(checkout)
    return checkout.orders.get()


@pytest.fixture
def orders_in_every_state(buyer, merchant, sku, place, pay, django_capture_on_commit_callbacks):
    """One order to pay, two to ship, one to receive, two received (one with a refund request)
    and one received long ago, outside the after-sale window."""
    to_pay = place((sku, 1)).orders.get()
    to_ship = [_paid_order(place, pay, sku) for _ in range(2)]
    shipped, received, refunding, old = (_paid_order(place, pay, sku) for _ in range(4))
    for order in (shipped, received, refunding, old):
        services.ship_order(
            order=order, actor=merchant, carrier="sf", tracking_number="SF123456789012"
        )
    with clock.frozen_at(clock.now() - timedelta(days=services.after_sale_days() + 1)):
        services.confirm_receipt(order=old, actor=buyer)
    for order in (received, refunding):
        services.confirm_receipt(order=order, actor=buyer)
    line = refunding.lines.get()
    services.request_after_sale(
        order=refunding,
        actor=buyer,
        kind="refund_only",
        reason="broken",
        lines=[{"line_id": line.public_id, "quantity": 1}],
    )
    return {
        "to_pay": [to_pay],
        "to_ship": to_ship,
        "to_receive": [shipped],
        "to_review": [received, refunding],
        "after_sale": [refunding],
    }


def test_counts_per_shortcut(buyer, orders_in_every_state):
    expected = {tab: len(orders) for tab, orders in orders_in_every_state.items()}
    assert selectors.buyer_tab_counts(buyer=buyer) == expected


def test_each_filter_lists_exactly_its_orders(buyer, orders_in_every_state):
    for tab, orders in orders_in_every_state.items():
        listed = selectors.buyer_orders(buyer=buyer, tab=tab)
        assert {o.public_id for o in listed} == {o.public_id for o in orders}, tab


def test_a_decided_refund_leaves_the_count_but_stays_listed(buyer, merchant, orders_in_every_state):
    refunding = orders_in_every_state["after_sale"][0]
    services.accept_after_sale(after_sale=refunding.after_sales.get(), actor=merchant)
    assert selectors.buyer_tab_counts(buyer=buyer)["after_sale"] == 0
    assert list(selectors.buyer_orders(buyer=buyer, tab="after_sale")) == [refunding]


def test_me_page_shows_the_five_shortcuts_with_counts_and_links(
    client, english, buyer, orders_in_every_state
):
    client.force_login(buyer)
    html = client.get(reverse("web:me")).content.decode()
    for label, tab, count in (
        ("To pay", "to_pay", 1),
        ("To ship", "to_ship", 2),
        ("To receive", "to_receive", 1),
        ("Refunds &amp; after-sale", "after_sale", 1),
    ):
        link = re.search(rf'<a href="/orders/\?tab={tab}"[^>]*>(.*?)</a>', html)
        assert link, tab
        assert f">{count}<" in link.group(1) and label in link.group(1)
    # 待评价 leads to the received order lines waiting for a review (one line in each of the
    # two received orders inside the window, and one in the old one).
    link = re.search(r'<a href="/me/to-review/"[^>]*>(.*?)</a>', html)
    assert link and "To review" in link.group(1) and ">3<" in link.group(1)


def test_order_list_filtered_by_a_shortcut(client, english, buyer, orders_in_every_state):
    client.force_login(buyer)
    page = client.get(reverse("orders:list"), {"tab": "to_ship"})
    html = page.content.decode()
    assert page.status_code == 200
    shown = {o.public_id for o in page.context["orders"]}
    assert shown == {o.public_id for o in orders_in_every_state["to_ship"]}
    assert 'href="?tab=to_ship" class="is-active" aria-current="page"' in html


def test_an_unknown_tab_lists_everything(client, buyer, orders_in_every_state):
    client.force_login(buyer)
    page = client.get(reverse("orders:list"), {"tab": "nonsense"})
    assert len(page.context["orders"]) == Order.objects.filter(buyer=buyer).count()


def test_a_new_buyer_sees_zeros(client, english, make_user):
    client.force_login(make_user())
    html = client.get(reverse("web:me")).content.decode()
    assert html.count('class="shortcut-count is-zero">0<') == 5


def test_console_home_counts_orders_to_ship_and_after_sales_to_answer(
    client, english, merchant, orders_in_every_state
):
    client.force_login(merchant)
    html = client.get(reverse("catalog:console")).content.decode()
    to_do = html.split('id="console-to-do"')[1].split("</ul>")[0]
    ship = re.search(r'href="/console/orders/">(.*?)</a>', to_do).group(1)
    answer = re.search(r'href="/console/after-sales/">(.*?)</a>', to_do).group(1)
    assert "Orders to ship" in ship and ">2<" in ship
    assert "After-sale requests to answer" in answer and ">1<" in answer


def test_console_home_of_a_quiet_shop_shows_zeros(client, english, merchant, shop):
    client.force_login(merchant)
    to_do = client.get(reverse("catalog:console")).content.decode().split('id="console-to-do"')[1]
    assert to_do.count('<span class="badge gray">0</span>') == 2
