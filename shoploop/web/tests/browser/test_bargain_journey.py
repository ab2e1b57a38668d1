"""A buyer starts a bargain (砍价) on a phone, three friends open the shared link and each cut
the price, the buyer buys at the floor and pays in the sandbox cashier. Every page fits 390 px;
each step leaves a screenshot in test-artifacts/screenshots/bargain-*.png."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shoploop.catalog import services as catalog
from shoploop.core import clock
from shoploop.core.money import format_fen
from shoploop.deals.bargains import services as bargains
from shoploop.deals.bargains.models import Bargain
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for
from shoploop.web.tests.browser.conftest import assert_no_horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRODUCT = "Hand-made tea cup"
PRICE_FEN = 6800
START_FEN = 6000
FLOOR_FEN = 990
HELPERS = 3
FRIENDS = ("Li", "Wang", "Zhao")


@pytest.fixture
def campaign(make_user, operator):
    """A potter's shop runs a bargain on a tea cup: ¥60.00 down to ¥9.90 with three helps."""
    merchant = make_user(display_name="Potter")
    shop = catalog.apply_for_shop(user=merchant, name="Clay Corner", contact="WeChat clay")
    shop = catalog.approve_shop(shop=shop, actor=operator)
    product = catalog.create_product(shop=shop, actor=merchant, title=PRODUCT, category="home")
    sku = catalog.add_sku(
        product=product, actor=merchant, options={}, price_fen=PRICE_FEN, stock=10
    )
    catalog.publish_product(product=product, actor=merchant)
    return bargains.create_campaign(
        actor=merchant,
        sku_public_id=sku.public_id,
        start_price_fen=START_FEN,
        floor_price_fen=FLOOR_FEN,
        helpers_needed=HELPERS,
        stock=5,
        ends_at=clock.now() + timedelta(days=3),
    )


def _helps_left(page, count: int) -> None:
    expect(page.locator("main [data-helps-left]")).to_have_attribute("data-helps-left", str(count))


def test_a_buyer_and_three_friends_finish_a_bargain_and_the_buyer_pays_the_floor(
    phone, live_server, make_user, campaign, screenshot
):
    buyer = make_user(display_name="Ming")
    address_id_for(buyer)  # their address book has a default address
    friends = [make_user(display_name=name) for name in FRIENDS]
    buyer_context = phone(buyer)
    page = buyer_context.new_page()

    # 1. The product page offers the bargain; starting it opens the bargain page.
    page.goto(f"/p/{campaign.sku.product.public_id}/")
    expect(page.locator("main h1")).to_have_text(PRODUCT)
    block = page.locator("main .bargain-block")
    expect(block).to_contain_text(format_fen(FLOOR_FEN))
    assert_no_horizontal_overflow(page)
    screenshot(page, "bargain-1-product")
    block.get_by_role("button", name="Start a bargain").click()
    expect(page).to_have_url(re.compile(r"/bargains/\w+/$"))
    expect(page.locator("main [data-current-price]")).to_have_text(format_fen(START_FEN))
    _helps_left(page, HELPERS)
    expect(page.locator("main")).to_contain_text("3 more helps needed")
    expect(page.locator("main time[data-countdown]")).to_have_count(1)
    expect(page.get_by_role("link", name=re.compile("^Buy for"))).to_have_count(0)
    assert_no_horizontal_overflow(page)
    screenshot(page, "bargain-2-started")
    share_url = page.locator("main [data-share-url]").input_value()
    assert share_url.startswith(live_server.url) and share_url.endswith(page.url[-20:])

    # 2. Each friend opens the shared link and cuts once; the page says exactly what is left.
    for index, friend in enumerate(friends, start=1):
        context = phone(friend)
        friend_page = context.new_page()
        friend_page.goto(share_url)
        expect(friend_page.locator("main")).to_contain_text("Ming's bargain")
        friend_page.get_by_role("button", name="Help cut the price").click()
        expect(friend_page.locator(".flash")).to_contain_text("You cut")
        expect(friend_page.locator("main")).to_contain_text("You already helped")
        _helps_left(friend_page, HELPERS - index)
        expect(friend_page.locator("main [data-help-row]")).to_have_count(index)
        assert_no_horizontal_overflow(friend_page)
        screenshot(friend_page, f"bargain-3-friend-{index}")
        context.close()

    # 3. Back on the buyer's phone: the floor is reached, three helpers with their cuts.
    page.reload()
    _helps_left(page, 0)
    expect(page.locator("main")).to_contain_text("The lowest price is reached!")
    expect(page.locator("main [data-current-price]")).to_have_text(format_fen(FLOOR_FEN))
    rows = page.locator("main [data-help-row]")
    expect(rows).to_have_count(HELPERS)
    for name in FRIENDS:
        expect(rows.filter(has_text=name)).to_have_count(1)
    assert_no_horizontal_overflow(page)
    screenshot(page, "bargain-4-floor")

    # 4. Buy at the floor: the confirm page (the floor price, the default address), then pay
    #    in the sandbox cashier, then back to the bargain.
    page.get_by_role("link", name=f"Buy for {format_fen(FLOOR_FEN)}").click()
    expect(page.locator("main h1")).to_have_text("Buy at the bargain price")
    expect(page.get_by_test_id("amount-to-pay")).to_have_text(format_fen(FLOOR_FEN))
    expect(page.get_by_test_id("addresses").get_by_role("radio")).to_be_checked()
    assert_no_horizontal_overflow(page)
    screenshot(page, "bargain-5-confirm")
    page.get_by_test_id("confirm-and-pay").click()
    expect(page.locator("main h1")).to_have_text("Sandbox cashier")
    expect(page.get_by_test_id("pay-amount")).to_have_text(format_fen(FLOOR_FEN))
    screenshot(page, "bargain-5-cashier")
    page.get_by_role("button", name=f"Pay {format_fen(FLOOR_FEN)}").click()
    expect(page.get_by_test_id("pay-state")).to_have_text("Paid")
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/bargains/\w+/$"))
    expect(page.locator("main [data-state]")).to_have_text("Bought")
    assert_no_horizontal_overflow(page)
    screenshot(page, "bargain-6-bought")

    bargain = Bargain.objects.select_related("order").get(initiator=buyer)
    assert bargain.state == "bought"
    assert bargain.order.state == Order.State.PAID and bargain.order.total_fen == FLOOR_FEN
    assert bargain.order.ship_recipient == "收件人" and bargain.order.ship_district_code
    assert verify_ledger().ok
    buyer_context.close()

    # 5. The merchant's console counts the bargain as bought; the form to start another fits.
    merchant_context = phone(campaign.shop.owner)
    console = merchant_context.new_page()
    console.goto("/console/campaigns/")
    console.get_by_role("link", name="Bargaining campaigns").click()
    console.get_by_role("link").filter(has_text=PRODUCT).click()
    expect(console.locator("main h1")).to_have_text(PRODUCT)
    expect(console.locator('main [data-count="bought"]')).to_have_text("1")
    expect(console.locator('main [data-count="helps"]')).to_have_text(str(HELPERS))
    assert_no_horizontal_overflow(console)
    screenshot(console, "bargain-7-console")
    console.goto("/console/bargains/new/")
    expect(console.locator("main h1")).to_have_text("New bargaining campaign")
    assert_no_horizontal_overflow(console)
    screenshot(console, "bargain-8-console-new")
    merchant_context.close()
