"""A buyer on a phone buys two bags of beans with a coupon: adds a delivery address from the
confirm step, confirms, pays in the sandbox cashier; the merchant ships from the to-ship queue
and the buyer confirms receipt. Every page fits 390 px;
each step leaves a screenshot in test-artifacts/screenshots/."""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shoploop.catalog import services as catalog
from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.money import format_fen
from shoploop.coupons import services as coupons
from shoploop.coupons.models import Coupon
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.web.tests.browser.conftest import (
    assert_no_horizontal_overflow,
    choose_region,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRODUCT = "Yunnan coffee beans"
SHOP = "Ada's Roastery"
BUYER = "Ming"
SMALL_PRICE_FEN = 4990
LARGE_PRICE_FEN = 5990
STOCK = 10
QUANTITY = 2
COUPON = "Welcome gift"
COUPON_OFF_FEN = 1000
COUPON_MIN_SPEND_FEN = 10000
CARRIER = "SF Express (顺丰)"
TRACKING_NUMBER = "SF123456789012"
RECIPIENT = "Ming Li"
MOBILE = "13812345678"
STREET = "1 Keyuan Road"
REGION = "广东省 深圳市 南山区"

SUBTOTAL = format_fen(LARGE_PRICE_FEN * QUANTITY)  # ¥119.80
TOTAL = format_fen(LARGE_PRICE_FEN * QUANTITY - COUPON_OFF_FEN)  # ¥109.80


@dataclass
class Roastery:
    merchant: object
    buyer: object
    product: object
    small: SKU
    large: SKU
    coupon: Coupon
    claim: object


@pytest.fixture
def roastery(make_user, operator) -> Roastery:
    """An approved shop selling one product in two sizes, a coupon, and a buyer who holds it."""
    merchant = make_user(display_name="Ada")
    buyer = make_user(display_name=BUYER)
    shop = catalog.apply_for_shop(user=merchant, name=SHOP, contact="WeChat ada-roasts")
    shop = catalog.approve_shop(shop=shop, actor=operator)
    product = catalog.create_product(shop=shop, actor=merchant, title=PRODUCT, category="food")
    small = catalog.add_sku(
        product=product,
        actor=merchant,
        options={"Size": "250 g"},
        price_fen=SMALL_PRICE_FEN,
        stock=STOCK,
    )
    large = catalog.add_sku(
        product=product,
        actor=merchant,
        options={"Size": "500 g"},
        price_fen=LARGE_PRICE_FEN,
        stock=STOCK,
    )
    catalog.publish_product(product=product, actor=merchant)
    now = clock.now()
    coupon = coupons.create_coupon(
        actor=merchant,
        shop=shop,
        name=COUPON,
        kind=Coupon.Kind.FIXED,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=7),
        total_quantity=100,
        amount_off_fen=COUPON_OFF_FEN,
        min_spend_fen=COUPON_MIN_SPEND_FEN,
    )
    claim = coupons.claim_coupon(coupon=coupon, user=buyer)
    return Roastery(merchant, buyer, product, small, large, coupon, claim)


@pytest.fixture
def buyer_page(phone, roastery):
    return phone(roastery.buyer).new_page()


@pytest.fixture
def merchant_page(phone, roastery):
    return phone(roastery.merchant).new_page()


def _too_wide(page) -> str | None:
    """What sticks out past the phone's right edge on this page, or None if it all fits."""
    try:
        assert_no_horizontal_overflow(page)
    except AssertionError as error:
        culprits = page.evaluate(
            """() => [...document.querySelectorAll('main *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth)
                .map(e => `<${e.tagName.toLowerCase()}${e.name ? ' name=' + e.name : ''}>`
                          + ` ends at ${Math.round(e.getBoundingClientRect().right)}px`)"""
        )
        return f"{str(error).splitlines()[0]}: {', '.join(culprits)}"
    return None


class PageTooWide(AssertionError):
    """A page of the journey scrolls sideways on the phone."""


class Steps:
    """``step(page, name)`` saves a screenshot and notes whether the page fits 390 px. Pages that
    do not are reported together at the end, so one wide page does not hide the journey after it."""

    def __init__(self, screenshot):
        self.screenshot = screenshot
        self.too_wide: list[str] = []

    def __call__(self, page, name: str) -> None:
        self.screenshot(page, f"buying-{name}")
        problem = _too_wide(page)
        if problem:
            self.too_wide.append(f"step {name}: {problem}")

    def assert_every_page_fit_the_phone(self) -> None:
        if self.too_wide:
            raise PageTooWide("pages wider than the phone:\n" + "\n".join(self.too_wide))


@pytest.fixture
def step(screenshot):
    return Steps(screenshot)


def _go_to_my_order(page, order):
    """Me → My orders → the order, as a person finds it again."""
    page.locator(".bottomnav").get_by_role("link", name="Me", exact=True).click()
    page.get_by_role("link", name="My orders").click()
    expect(page.locator("main h1")).to_have_text("My orders")
    page.locator("main .list").get_by_role("link").filter(has_text=SHOP).click()
    expect(page.locator("main h1")).to_have_text(f"Order {order.public_id}")


def test_buyer_pays_with_a_coupon_merchant_ships_buyer_confirms_receipt(
    buyer_page, merchant_page, step, roastery
):
    page = buyer_page

    # 1. The product page: the cheaper size is preselected; choosing the bigger one swaps the
    #    price in place (htmx) and keeps the URL shareable.
    page.goto(f"/p/{roastery.product.public_id}/")
    expect(page.locator("main h1")).to_have_text(PRODUCT)
    expect(page.get_by_test_id("price")).to_have_text(format_fen(SMALL_PRICE_FEN))
    expect(page.get_by_test_id("stock")).to_have_text("In stock")
    step(page, "1-product")
    page.get_by_label("500 g").check()
    expect(page.get_by_test_id("price")).to_have_text(format_fen(LARGE_PRICE_FEN))
    chosen_url = f"/p/{roastery.product.public_id}/?sku={roastery.large.public_id}"
    expect(page).to_have_url(re.compile(re.escape(chosen_url) + "$"))
    expect(page.get_by_label("500 g")).to_be_checked()
    step(page, "2-option-chosen")

    # 2. Add two to the cart; the shop's answer is the cart itself.
    page.get_by_label("Quantity").fill(str(QUANTITY))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator(".flash")).to_contain_text("Added to your cart.")
    expect(page.locator("main h1")).to_have_text("Cart")

    # 3. Open the cart from the navigation: one line of two; coupons come at the next step.
    page.locator(".bottomnav").get_by_role("link", name="Cart", exact=True).click()
    expect(page.locator("main h1")).to_have_text("Cart")
    cart = page.locator("main section.card")
    expect(cart).to_have_count(1)
    expect(cart.get_by_role("heading", level=2)).to_have_text(SHOP)
    expect(cart).to_contain_text(PRODUCT)
    expect(cart).to_contain_text("500 g")
    expect(cart).to_contain_text(f"{format_fen(LARGE_PRICE_FEN)} × {QUANTITY}")
    expect(page.get_by_label("Quantity")).to_have_value(str(QUANTITY))
    expect(cart).to_contain_text(f"Subtotal: {SUBTOTAL}")
    step(page, "3-cart")

    # 4. Check out: the confirm step has no address yet, so the buyer adds one from there; the
    #    region lists fill in place (htmx) and saving comes back to the confirm step.
    page.get_by_role("link", name="Check out").click()
    expect(page.locator("main h1")).to_have_text("Confirm your order")
    expect(page.locator("main")).to_contain_text("Add a delivery address to continue.")
    expect(page.get_by_role("button", name=re.compile("^Confirm and pay"))).to_be_disabled()
    page.get_by_role("link", name="Add an address").click()
    expect(page.locator("main h1")).to_have_text("Add an address")
    page.get_by_label("Recipient").fill(RECIPIENT)
    page.get_by_label("Mobile number").fill(MOBILE)
    choose_region(page, province="广东省", city="深圳市", district="南山区")
    page.get_by_label("Street address").fill(STREET)
    step(page, "4-add-address")
    page.get_by_role("button", name="Save address").click()
    expect(page.locator(".flash")).to_contain_text("Address saved.")

    # 5. Back on the confirm step: the new address chosen, the coupon preselected and already
    #    taken off the amount to pay.
    expect(page.locator("main h1")).to_have_text("Confirm your order")
    addresses = page.get_by_test_id("addresses")
    expect(addresses).to_contain_text(RECIPIENT)
    expect(addresses).to_contain_text(f"{REGION} {STREET}")
    expect(addresses.get_by_role("radio")).to_be_checked()
    expect(page.locator("main")).to_contain_text(PRODUCT)
    expect(page.locator("main")).to_contain_text("500 g")
    coupon_choice = f"{COUPON} −{format_fen(COUPON_OFF_FEN)}"
    expect(page.get_by_label("Coupon").locator("option:checked")).to_have_text(coupon_choice)
    expect(page.get_by_test_id("amount-to-pay")).to_have_text(TOTAL)
    step(page, "5-confirm")

    # 6. Confirm: the sandbox cashier asks for the discounted total.
    page.get_by_role("button", name=f"Confirm and pay {TOTAL}").click()
    expect(page.locator("main h1")).to_have_text("Sandbox cashier")
    expect(page).to_have_url(re.compile(r"/pay/\w+/\?next=%2Forders%2F$"))
    expect(page.get_by_test_id("pay-amount")).to_have_text(TOTAL)
    expect(page.get_by_test_id("pay-state")).to_have_text("Awaiting payment")
    step(page, "6-cashier")

    # 5. Confirm: the signed callback is delivered in-process, so the payment is settled at once.
    page.get_by_role("button", name=f"Pay {TOTAL}").click()
    expect(page.get_by_test_id("pay-state")).to_have_text("Paid")
    expect(page.locator("main")).to_contain_text("Paid. Thank you!")
    expect(page.get_by_role("button", name=f"Pay {TOTAL}")).to_have_count(0)
    # The cashier leads back to the buyer's orders.
    expect(page.get_by_role("link", name="Continue")).to_have_attribute("href", "/orders/")
    step(page, "5-paid")

    # 6. The order, found again from Me: paid, with the coupon taken off the total.
    order = Order.objects.get(buyer=roastery.buyer)
    _go_to_my_order(page, order)
    order_url = page.url
    expect(page.locator("main .badge").first).to_have_text("Paid, to be shipped")
    summary = page.locator("main section.card").first
    expect(summary).to_contain_text(PRODUCT)
    expect(page.locator("#delivery-address")).to_contain_text(f"{REGION} {STREET}")
    expect(summary).to_contain_text(
        f"Subtotal {SUBTOTAL} · Coupon −{format_fen(COUPON_OFF_FEN)} · Total {TOTAL}"
    )
    expect(summary.locator(".price")).to_have_text(TOTAL)
    expect(page.get_by_role("button", name="Confirm receipt")).to_have_count(0)
    step(page, "6-order-paid")

    # 7. The merchant, on their own phone, ships it from the to-ship queue.
    shop_page = merchant_page
    shop_page.goto("/me/")
    shop_page.get_by_role("link", name="Orders to ship").click()
    expect(shop_page.locator("main h1")).to_have_text("To ship")
    queue = shop_page.locator("main .list > li")
    expect(queue).to_have_count(1)
    expect(queue).to_contain_text(order.public_id)
    expect(queue).to_contain_text(BUYER)
    expect(queue).to_contain_text(TOTAL)
    expect(queue).to_contain_text(f"{PRODUCT} (500 g) × {QUANTITY}")
    expect(queue).to_contain_text(f"{RECIPIENT} {MOBILE} · {REGION} {STREET}")
    queue.get_by_label(order.public_id).check()
    queue.get_by_label("Carrier").select_option(label=CARRIER)
    queue.get_by_label("Tracking number").fill(TRACKING_NUMBER)
    step(shop_page, "7-to-ship")
    shop_page.get_by_role("button", name="Ship the selected orders").click()
    expect(shop_page.locator(".flash")).to_contain_text("1 order shipped.")
    expect(shop_page.locator("main .empty")).to_have_text("Nothing to ship.")
    step(shop_page, "8-shipped-queue-empty")

    # 8. The buyer sees it on its way and confirms receipt.
    page.goto(order_url)
    expect(page.locator("main .badge").first).to_have_text("Shipped")
    expect(page.locator("main")).to_contain_text(f"Shipped with {CARRIER} · {TRACKING_NUMBER}")
    step(page, "9-order-shipped")
    page.get_by_role("button", name="Confirm receipt").click()
    # An irreversible tap asks once more, on a page of its own (no JavaScript needed).
    expect(page.locator("main h1")).to_have_text("Did you receive everything in good order?")
    step(page, "10a-confirm-receipt")
    page.get_by_role("button", name="Yes, confirm receipt").click()
    expect(page.locator(".flash")).to_contain_text("Thanks! Receipt confirmed.")
    expect(page.locator("main .badge").first).to_have_text("Received")
    expect(page.get_by_role("button", name="Confirm receipt")).to_have_count(0)
    expect(page.locator("main section.card .price")).to_have_text(TOTAL)
    step(page, "10-order-received")

    # 9. My orders lists it as received, at the paid total.
    page.locator(".bottomnav").get_by_role("link", name="Me", exact=True).click()
    page.get_by_role("link", name="My orders").click()
    expect(page.locator("main h1")).to_have_text("My orders")
    row = page.locator("main .list > li")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Received")
    expect(row).to_contain_text(TOTAL)
    step(page, "11-my-orders")

    # Behind the pages: the books balance and exactly two of the chosen size left the shelf.
    report = verify_ledger()
    assert report.ok, report.problems
    roastery.large.refresh_from_db()
    roastery.small.refresh_from_db()
    assert roastery.large.stock == STOCK - QUANTITY
    assert roastery.small.stock == STOCK

    step.assert_every_page_fit_the_phone()


def _paid_cart_order(buyer, sku, quantity: int, address_id: str) -> Order:
    """A buyer's checkout of ``quantity`` of ``sku``, paid (the provider's signed callback)."""
    from shoploop.ledger.services import payments
    from shoploop.orders import services as orders

    orders.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=quantity)
    checkout = orders.checkout(buyer=buyer, address_public_id=address_id)
    payment = payments.payment_by_public_id(public_id=checkout.payment_public_id)
    report_payment(payment)
    return checkout.orders.get()


def test_merchant_ships_several_orders_at_once_from_the_queue(
    merchant_page, step, roastery, make_user
):
    """Two buyers' paid orders wait in the to-ship queue, each with its delivery address; the
    merchant ticks both, gives each its carrier and tracking number and ships them in one go."""
    from shoploop.orders import address_services
    from shoploop.orders.testing import SHENZHEN_NANSHAN

    def make_address(user, recipient: str, street: str):
        return address_services.add_address(
            user=user, recipient_name=recipient, phone=MOBILE, street=street, **SHENZHEN_NANSHAN
        )

    second = make_user(display_name="Lan")
    first_address = make_address(roastery.buyer, RECIPIENT, STREET)
    second_address = make_address(second, "Lan Zhou", "9 Binhai Avenue")
    orders = [
        _paid_cart_order(roastery.buyer, roastery.large, 1, first_address.public_id),
        _paid_cart_order(second, roastery.small, 2, second_address.public_id),
    ]
    page = merchant_page
    page.goto("/me/")
    page.get_by_role("link", name="Orders to ship").click()
    expect(page.locator("main h1")).to_have_text("To ship")
    queue = page.locator("main .list > li")
    expect(queue).to_have_count(2)
    expect(page.locator("main")).to_contain_text(f"{RECIPIENT} {MOBILE} · {REGION} {STREET}")
    expect(page.locator("main")).to_contain_text("Lan Zhou")
    expect(page.locator("main")).to_contain_text("9 Binhai Avenue")
    for number, order in enumerate(orders):
        row = queue.filter(has_text=order.public_id)
        row.get_by_label(order.public_id).check()
        row.get_by_label("Carrier").select_option(label=CARRIER)
        row.get_by_label("Tracking number").fill(f"SF12345678901{number}")
    step(page, "batch-1-queue")
    page.get_by_role("button", name="Ship the selected orders").click()
    expect(page.locator(".flash")).to_contain_text("2 orders shipped.")
    expect(page.locator("main .empty")).to_have_text("Nothing to ship.")
    step(page, "batch-2-shipped")
    for number, order in enumerate(orders):
        order.refresh_from_db()
        assert order.state == Order.State.SHIPPED
        assert order.tracking_number == f"SF12345678901{number}"
    step.assert_every_page_fit_the_phone()
