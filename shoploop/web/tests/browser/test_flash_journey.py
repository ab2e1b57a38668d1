"""A flash sale (秒杀) from the merchant's console to the last unit: the merchant creates a sale of
two units starting in a minute; a buyer sees the countdown on the product page; once it starts,
Ann buys and pays, Bo takes the last unit but does not pay, Cy is told "sold out" at once; the
console's live counts follow without a reload; Bo's payment window passes (``settle_due``), his
unit comes back and Cy buys it; the merchant pauses the sale. Every page fits 390 px; each step
leaves a screenshot in test-artifacts/screenshots/.

Time: the countdown is rendered in real time; for "the sale has started" the server's clock
(``clock.frozen_at``, read by the live server's thread too) moves past the start."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shoploop.catalog import services as catalog
from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.money import format_fen
from shoploop.deals.flash.models import FlashPurchase, FlashQuota, FlashSale
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for
from shoploop.web.tests.browser.conftest import assert_no_horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRODUCT = "Yunnan coffee beans"
PRICE_FEN = 12800
FLASH_PRICE_FEN = 3900
FLASH_PRICE = format_fen(FLASH_PRICE_FEN)


@pytest.fixture
def coffee(make_user, operator):
    merchant = make_user(display_name="Lin")
    shop = catalog.apply_for_shop(user=merchant, name="Lin's Beans", contact="WeChat lin-beans")
    shop = catalog.approve_shop(shop=shop, actor=operator)
    product = catalog.create_product(shop=shop, actor=merchant, title=PRODUCT, category="food")
    sku = catalog.add_sku(
        product=product, actor=merchant, options={"Roast": "medium"}, price_fen=PRICE_FEN, stock=10
    )
    catalog.publish_product(product=product, actor=merchant)
    return merchant, product, sku


def _check(page, screenshot, name):
    assert_no_horizontal_overflow(page)
    screenshot(page, f"flash-{name}")


def _confirm(page):
    """The confirm page: one unit at the flash price to the default address; confirm."""
    expect(page.locator("main h1")).to_have_text("Confirm your flash-sale order")
    expect(page.get_by_test_id("amount-to-pay")).to_have_text(FLASH_PRICE)
    expect(page.get_by_test_id("addresses").get_by_role("radio")).to_be_checked()
    page.get_by_test_id("confirm-and-pay").click()


def _buy_and_pay(page, product, screenshot, name):
    page.goto(f"/p/{product.public_id}/")
    page.get_by_test_id("flash-block").get_by_role("button", name="Buy now").click()
    _confirm(page)
    expect(page.locator("main h1")).to_have_text("Sandbox cashier")
    expect(page.get_by_test_id("pay-amount")).to_have_text(FLASH_PRICE)
    page.get_by_role("button", name=f"Pay {FLASH_PRICE}").click()
    expect(page.get_by_test_id("pay-state")).to_have_text("Paid")
    page.get_by_role("link", name="Continue").click()
    expect(page.locator("main h1")).to_have_text("My flash-sale orders")
    expect(page.locator("main .list li")).to_have_count(1)
    expect(page.locator("main .list li").first).to_contain_text("Paid")
    _check(page, screenshot, f"{name}-paid")


def test_a_flash_sale_from_console_to_the_last_unit(phone, make_user, coffee, screenshot):
    merchant, product, sku = coffee
    ann, bo, cy = (make_user(display_name=name) for name in ("Ann", "Bo", "Cy"))
    for buyer in (ann, bo, cy):
        address_id_for(buyer)  # each has a default delivery address
    contexts = [phone(user) for user in (merchant, ann, bo, cy)]
    console, a, b, c = (context.new_page() for context in contexts)
    try:
        # 1. The merchant creates a sale of 2 units at ¥39.00, starting in a minute.
        console.goto("/console/flash-sales/")
        console.get_by_label("Flash price (yuan)").fill("39.00")
        console.get_by_label("Units for the sale").fill("2")
        console.get_by_label("Limit per person").fill("1")
        console.get_by_label("Starts in (minutes, 0 = now)").fill("1")
        console.get_by_label("Lasts (minutes)").fill("60")
        console.get_by_role("button", name="Create the flash sale").click()
        expect(console.locator("ul.flash")).to_contain_text("The flash sale was created.")
        row = console.get_by_test_id("flash-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Upcoming")
        counts = row.get_by_test_id("flash-counts")
        expect(counts).to_have_text("Stock 2 · left 2 · awaiting payment 0 · sold 0")
        _check(console, screenshot, "1-console-created")
        sale = FlashSale.objects.get()
        assert (sale.price_fen, sale.stock, sale.per_user_limit) == (FLASH_PRICE_FEN, 2, 1)
        assert SKU.objects.get(pk=sku.pk).stock == 8  # carved from the SKU

        # 2. Before the start: a countdown on the product page, nothing to buy yet.
        a.goto(f"/p/{product.public_id}/")
        block = a.get_by_test_id("flash-block")
        expect(block).to_contain_text(FLASH_PRICE)
        expect(block).to_contain_text("Starts in")
        expect(block.locator("time[data-countdown]")).to_have_text(re.compile(r"^0:0[01]:\d\d$"))
        expect(block.get_by_role("button", name="Buy now")).to_have_count(0)
        _check(a, screenshot, "2-countdown")

        with clock.frozen_at(sale.starts_at + timedelta(seconds=5)):
            # 3. It started: the remaining units and the button. Ann buys and pays.
            a.reload()
            expect(a.get_by_test_id("flash-remaining")).to_contain_text("2 left.")
            _check(a, screenshot, "3-live")
            _buy_and_pay(a, product, screenshot, "4-ann")

            # 4. Bo and Cy both see the last unit; Bo takes it (and leaves the cashier).
            for page in (b, c):
                page.goto(f"/p/{product.public_id}/")
                expect(page.get_by_test_id("flash-remaining")).to_contain_text("Only 1 left.")
            # Both reach the confirm page while the unit is still there; Bo confirms first.
            for page in (b, c):
                page.get_by_test_id("flash-block").get_by_role("button", name="Buy now").click()
                expect(page.get_by_test_id("confirm-and-pay")).to_be_enabled()
            b.get_by_test_id("confirm-and-pay").click()
            expect(b.locator("main h1")).to_have_text("Sandbox cashier")

            # 5. Cy confirms a moment later: a clear "sold out" on the sale, nothing reserved.
            c.get_by_test_id("confirm-and-pay").click()
            expect(c.locator("ul.flash")).to_contain_text("Sold out.")
            expect(c.get_by_test_id("flash-sold-out")).to_be_visible()
            expect(c.get_by_role("button", name="Buy now")).to_have_count(0)
            _check(c, screenshot, "5-sold-out")
            assert not FlashPurchase.objects.filter(buyer=cy).exists()

            # 6. The console's counts follow on their own (htmx polling, no reload).
            expect(counts).to_have_text(
                "Stock 2 · left 0 · awaiting payment 1 · sold 1", timeout=20_000
            )
            expect(row).to_contain_text("Live")
            _check(console, screenshot, "6-console-live-counts")

            # 7. Bo's payment window passes: his unit comes back, his order is released.
            bo_purchase = FlashPurchase.objects.get(buyer=bo)
            settled = settle_due(bo_purchase.reserved_until)
            assert settled["deals_flash.release_unpaid"] == 1
            b.goto("/deals/flash/mine/")
            expect(b.locator("main .list li")).to_contain_text("Released")
            _check(b, screenshot, "7-bo-released")

            # 8. Cy checks again, finds the unit and buys it.
            c.goto(f"/deals/flash/{sale.public_id}/")
            expect(c.get_by_test_id("flash-remaining")).to_contain_text("Only 1 left.")
            _buy_and_pay(c, product, screenshot, "8-cy")

            # 9. The merchant pauses the sale; buyers see it paused.
            console.reload()
            expect(counts).to_have_text("Stock 2 · left 0 · awaiting payment 0 · sold 2")
            row.get_by_role("button", name="Pause").click()
            expect(console.locator("ul.flash")).to_contain_text("The sale is paused.")
            expect(row).to_contain_text("Paused")
            _check(console, screenshot, "9-console-paused")
            b.goto(f"/p/{product.public_id}/")
            expect(b.get_by_test_id("flash-block")).to_contain_text(
                "The shop has paused this flash sale."
            )
            _check(b, screenshot, "10-paused")
    finally:
        for context in contexts:
            context.close()

    sale.refresh_from_db()
    assert (sale.state, sale.available) == (FlashSale.State.PAUSED, 0)
    paid = FlashPurchase.objects.filter(state=FlashPurchase.State.PAID)
    assert sorted(p.buyer.display_name for p in paid) == ["Ann", "Cy"]
    assert Order.objects.filter(state=Order.State.PAID).count() == 2
    assert Order.objects.get(buyer=bo).state == Order.State.CANCELLED
    assert not FlashQuota.objects.filter(bought__gt=1).exists()
    report = verify_ledger()
    assert report.ok, report.problems
