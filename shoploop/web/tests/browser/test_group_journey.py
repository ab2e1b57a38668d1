"""Two buyers complete a group from a shared link: buyer A opens a group on the product page,
adds a delivery address from the confirm page, confirms and pays in the sandbox cashier; buyer B
opens the shared link in another browser, joins (their default address preselected), confirms and
pays; both see the group succeeded and both orders ship to the address chosen. Every page fits
390 px; each step leaves a screenshot."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shoploop.catalog import services as catalog
from shoploop.core import clock
from shoploop.core.money import format_fen
from shoploop.deals.groups import services as groups
from shoploop.deals.groups.models import Group
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for
from shoploop.web.tests.browser.conftest import (
    assert_no_horizontal_overflow,
    choose_region,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRODUCT = "Pu'er tea cake"
PRICE_FEN = 12800
GROUP_PRICE_FEN = 8800
GROUP_PRICE = format_fen(GROUP_PRICE_FEN)
RECIPIENT = "Ann Lee"
STREET = "科技园南区 1 栋"


@pytest.fixture
def tea(make_user, operator):
    merchant = make_user(display_name="Lin")
    shop = catalog.apply_for_shop(user=merchant, name="Lin's Tea", contact="WeChat lin-tea")
    shop = catalog.approve_shop(shop=shop, actor=operator)
    product = catalog.create_product(shop=shop, actor=merchant, title=PRODUCT, category="food")
    sku = catalog.add_sku(
        product=product, actor=merchant, options={"Weight": "357 g"}, price_fen=PRICE_FEN, stock=20
    )
    catalog.publish_product(product=product, actor=merchant)
    now = clock.now()
    groups.create_campaign(
        actor=merchant,
        sku=sku,
        group_price_fen=GROUP_PRICE_FEN,
        group_size=2,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=7),
        stock=10,
    )
    return product


def _add_address_from_the_confirm_page(page):
    """No address yet: the confirm page says so and its "add" link comes back to it."""
    expect(page.get_by_test_id("no-address")).to_be_visible()
    expect(page.get_by_test_id("confirm-and-pay")).to_be_disabled()
    page.get_by_role("link", name="Add an address").click()
    expect(page.locator("main h1")).to_have_text("Add an address")
    page.get_by_label("Recipient").fill(RECIPIENT)
    page.get_by_label("Mobile number").fill("13812345678")
    choose_region(page, province="广东省", city="深圳市", district="南山区")
    page.get_by_label("Street address").fill(STREET)
    page.get_by_role("button", name="Save address").click()
    expect(page.locator(".flash")).to_contain_text("Address saved.")


def _confirm(page, heading: str):
    """The confirm page: product, variant, price, the address checked, the amount to pay."""
    expect(page.locator("main h1")).to_have_text(heading)
    expect(page.get_by_test_id("deal-item")).to_contain_text(PRODUCT)
    expect(page.get_by_test_id("deal-variant")).to_have_text("357 g")
    expect(page.get_by_test_id("amount-to-pay")).to_have_text(GROUP_PRICE)
    expect(page.get_by_test_id("addresses").get_by_role("radio").first).to_be_checked()
    assert_no_horizontal_overflow(page)
    page.get_by_test_id("confirm-and-pay").click()


def _pay_in_cashier(page):
    expect(page.locator("main h1")).to_have_text("Sandbox cashier")
    expect(page.get_by_test_id("pay-amount")).to_have_text(GROUP_PRICE)
    page.get_by_role("button", name=f"Pay {GROUP_PRICE}").click()
    expect(page.get_by_test_id("pay-state")).to_have_text("Paid")
    page.get_by_role("link", name="Continue").click()


def test_two_buyers_complete_a_group_from_a_shared_link(
    phone, live_server, make_user, tea, screenshot
):
    buyer_a, buyer_b = make_user(display_name="Ann"), make_user(display_name="Bo")
    address_id_for(buyer_b)  # B has an address book already; A has none yet
    context_a = phone(buyer_a)
    context_b = phone(buyer_b)
    a, b = context_a.new_page(), context_b.new_page()
    try:
        # 1. A finds the group price on the product page and opens a group.
        a.goto(f"/p/{tea.public_id}/")
        block = a.get_by_test_id("group-block")
        expect(block).to_contain_text(GROUP_PRICE)
        screenshot(a, "group-1-product")
        assert_no_horizontal_overflow(a)
        block.get_by_role("link", name="Open a group").click()

        # 2. The confirm page: A adds an address from it, comes back, confirms; then the
        #    cashier, then the group page: 1 more needed, a countdown, a link.
        _add_address_from_the_confirm_page(a)
        expect(a.get_by_test_id("addresses")).to_contain_text(RECIPIENT)
        screenshot(a, "group-2-confirm")
        _confirm(a, "Open a group")
        _pay_in_cashier(a)
        expect(a).to_have_url(re.compile(r"/groups/g/\w+/$"))
        expect(a.get_by_test_id("more-needed")).to_have_text("1 more needed")
        expect(a.get_by_test_id("members")).to_contain_text("Ann")
        expect(a.locator("time[data-countdown]")).to_have_count(1)
        share_url = a.get_by_test_id("share-url").input_value()
        assert share_url.startswith(live_server.url) and "/groups/g/" in share_url
        screenshot(a, "group-2-opened")
        assert_no_horizontal_overflow(a)

        # 3. B opens the shared link in another browser, joins and pays.
        b.goto(share_url)
        expect(b.get_by_test_id("members")).to_contain_text("Ann")
        screenshot(b, "group-3-shared-link")
        assert_no_horizontal_overflow(b)
        b.get_by_test_id("join").click()
        _confirm(b, "Join the group")
        _pay_in_cashier(b)

        # 4. Both see the group complete.
        expect(b.get_by_test_id("group-state")).to_contain_text("Group complete")
        expect(b.get_by_test_id("members")).to_contain_text("Bo")
        screenshot(b, "group-4-complete")
        a.reload()
        expect(a.get_by_test_id("group-state")).to_contain_text("Group complete")
        screenshot(a, "group-5-leader-sees-complete")
        assert_no_horizontal_overflow(a)
    finally:
        context_a.close()
        context_b.close()

    group = Group.objects.get()
    assert (group.state, group.paid_count) == (Group.State.SUCCEEDED, 2)
    assert set(Order.objects.values_list("state", flat=True)) == {Order.State.PAID}
    leader_order = Order.objects.get(buyer=buyer_a)
    assert (leader_order.ship_recipient, leader_order.ship_street) == (RECIPIENT, STREET)
    assert Order.objects.get(buyer=buyer_b).ship_recipient == "收件人"  # B's default
    assert verify_ledger().ok


def test_a_campaign_of_two_sizes_asks_which_one_then_charges_its_price(
    phone, make_user, operator, screenshot
):
    """A group campaign on two SKUs of one product, each with its own group price: the confirm
    page lists both (links, no JavaScript needed), cannot be confirmed until one is chosen, then
    charges that one's price; the order line carries the chosen variant."""
    from shoploop.web.tests.browser.conftest import assert_accessible

    merchant = make_user(display_name="Lin")
    shop = catalog.apply_for_shop(user=merchant, name="Lin's Tea", contact="WeChat lin-tea")
    shop = catalog.approve_shop(shop=shop, actor=operator)
    product = catalog.create_product(shop=shop, actor=merchant, title=PRODUCT, category="food")
    small, large = (
        catalog.add_sku(
            product=product, actor=merchant, options={"Weight": weight}, price_fen=price, stock=20
        )
        for weight, price in (("200 g", 9800), ("357 g", PRICE_FEN))
    )
    catalog.publish_product(product=product, actor=merchant)
    now = clock.now()
    campaign = groups.create_campaign(
        actor=merchant,
        variants=[
            groups.VariantSpec(sku=small, group_price_fen=6800, stock=5),
            groups.VariantSpec(sku=large, group_price_fen=GROUP_PRICE_FEN, stock=5),
        ],
        group_size=2,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=7),
    )
    buyer = make_user(display_name="Ann")
    address_id_for(buyer)
    page = phone(buyer).new_page()
    page.goto(f"/groups/c/{campaign.public_id}/open/")
    expect(page.locator("main h1")).to_have_text("Open a group")
    expect(page.get_by_test_id("variant-needed")).to_be_visible()
    expect(page.get_by_test_id("confirm-and-pay")).to_be_disabled()
    expect(page.get_by_test_id("variant-option")).to_have_count(2)
    assert_no_horizontal_overflow(page)
    assert_accessible(page)
    screenshot(page, "group-variants-1-choose")
    page.get_by_role("link", name=f"357 g · {GROUP_PRICE}").click()
    expect(page.get_by_test_id("variant-chosen")).to_have_text(f"357 g · {GROUP_PRICE}")
    expect(page.get_by_test_id("deal-variant")).to_have_text("357 g")
    expect(page.get_by_test_id("amount-to-pay")).to_have_text(GROUP_PRICE)
    assert_accessible(page)
    screenshot(page, "group-variants-2-chosen")
    page.get_by_test_id("confirm-and-pay").click()
    _pay_in_cashier(page)
    line = Order.objects.get(buyer=buyer).lines.get()
    assert (line.sku_id, line.options, line.unit_price_fen) == (
        large.pk,
        {"Weight": "357 g"},
        GROUP_PRICE_FEN,
    )
