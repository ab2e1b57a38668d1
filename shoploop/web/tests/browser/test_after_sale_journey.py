"""After-sale on a phone: the buyer asks to return a parcel (reason from the list, a photo), the
merchant accepts on a confirmation page, the buyer sees the return address and enters the return
tracking number, the merchant confirms the goods (asked once more) and the buyer is refunded.
Every page fits 390 px; each step leaves a screenshot in test-artifacts/screenshots/.

And one that the shop never answers: the buyer asks for a refund before shipping and sees the
deadline; when it passes, the deadline sweeper (``settle_due``, what the scheduler runs) refunds
them by itself, and the buyer sees it on the request and on the order."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shoploop.catalog import services as catalog
from shoploop.catalog.tests.conftest import image_bytes
from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.ledger.models import Payment
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services as orders
from shoploop.orders.models import AfterSale
from shoploop.web.tests.browser.conftest import assert_no_horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADDRESS = "Returns desk, 8 Warehouse Road, Hangzhou"


def _paid_order(make_user, operator, ship_to):
    merchant, buyer = make_user(display_name="Ada"), make_user(display_name="Ming")
    shop = catalog.apply_for_shop(user=merchant, name="Ada's Roastery", contact="WeChat ada")
    shop = catalog.approve_shop(shop=shop, actor=operator)
    catalog.update_shop(shop=shop, actor=merchant, return_address=ADDRESS)
    product = catalog.create_product(shop=shop, actor=merchant, title="Beans", category="food")
    sku = catalog.add_sku(product=product, actor=merchant, options={}, price_fen=5900, stock=5)
    catalog.publish_product(product=product, actor=merchant)
    orders.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    checkout = orders.checkout(buyer=buyer, address_public_id=ship_to(buyer))
    payment = payments.payment_by_public_id(public_id=checkout.payment_public_id)
    report_payment(payment)
    return checkout.orders.get()


@pytest.fixture
def paid(make_user, operator, ship_to):
    return _paid_order(make_user, operator, ship_to)


@pytest.fixture
def received(paid):
    merchant = paid.shop.owner
    orders.ship_order(order=paid, actor=merchant, carrier="sf", tracking_number="SF123456789012")
    return orders.confirm_receipt(order=paid, actor=paid.buyer)


def _fits(page):
    assert_no_horizontal_overflow(page)


def test_return_and_refund_on_a_phone(phone, received, screenshot):
    buyer = phone(received.buyer).new_page()
    shop = phone(received.shop.owner).new_page()

    # 1. The buyer asks to send it back: a reason from the list and a photo.
    buyer.goto(f"/orders/{received.public_id}/")
    buyer.get_by_label("Type").select_option("return_and_refund")
    buyer.locator('select[name="reason_code"]').select_option("wrong_item")
    buyer.locator('input[name="photos"]').set_input_files(
        [{"name": "box.png", "mimeType": "image/png", "buffer": image_bytes("PNG", (80, 60))}]
    )
    screenshot(buyer, "after-sale-1-request")
    _fits(buyer)
    buyer.get_by_role("button", name="Send request").click()
    expect(buyer.locator(".flash")).to_contain_text("Your request was sent to the shop.")
    expect(buyer.locator("#deadline")).to_contain_text("Deadline:")
    expect(buyer.locator("main img")).to_have_count(1)
    screenshot(buyer, "after-sale-2-waiting")
    _fits(buyer)
    after_sale = AfterSale.objects.get()

    # 2. The merchant accepts from the queue, on a confirmation page.
    shop.goto("/console/after-sales/")
    shop.get_by_role("button", name="Accept the return").click()
    expect(shop.locator("main h1")).to_have_text("Accept this after-sale request?")
    screenshot(shop, "after-sale-3-confirm-accept")
    _fits(shop)
    shop.get_by_role("button", name="Yes, accept").click()
    expect(shop.locator(".flash")).to_contain_text("Accepted: the buyer will send the goods back")

    # 3. The buyer sees where to send it and enters the tracking number.
    buyer.goto(f"/after-sales/{after_sale.public_id}/")
    expect(buyer.locator("#return-address")).to_contain_text(ADDRESS)
    buyer.get_by_label("Carrier").fill("YTO")
    buyer.get_by_label("Tracking number").fill("YT123")
    screenshot(buyer, "after-sale-4-send-back")
    _fits(buyer)
    buyer.get_by_role("button", name="I sent the goods back").click()
    expect(buyer.locator("main .badge")).to_have_text("Goods sent back: waiting for the shop")

    # 4. The merchant confirms the goods (asked once more): the buyer is refunded.
    shop.goto(f"/after-sales/{after_sale.public_id}/")
    shop.get_by_role("button", name="Goods received: refund").click()
    expect(shop.locator("main h1")).to_contain_text("Did you receive the returned goods?")
    shop.get_by_role("button", name="Yes, refund").click()
    expect(shop.locator(".flash")).to_contain_text("Refunded.")
    expect(shop.locator("main .badge")).to_have_text("Refunded")
    screenshot(shop, "after-sale-5-refunded")
    _fits(shop)

    payment = Payment.objects.get(public_id=received.checkout.payment_public_id)
    assert payment.refunded_fen == 5900
    report = verify_ledger()
    assert report.ok, report.problems


def test_an_unanswered_refund_request_ends_by_itself(phone, paid, screenshot):
    buyer = phone(paid.buyer).new_page()
    # 1. Paid, not shipped yet: the buyer asks for their money back; the shop has 48 h.
    buyer.goto(f"/orders/{paid.public_id}/")
    buyer.get_by_label("Type").select_option("refund_only")
    buyer.locator('select[name="reason_code"]').select_option("changed_mind")
    buyer.get_by_role("button", name="Send request").click()
    expect(buyer.locator(".flash")).to_contain_text("Your request was sent to the shop.")
    expect(buyer.locator("#deadline")).to_contain_text("Deadline:")
    expect(buyer.locator("#deadline")).to_contain_text(
        "If the shop does not answer by then, the buyer is refunded automatically."
    )
    screenshot(buyer, "after-sale-unanswered-1-waiting")
    _fits(buyer)
    after_sale = AfterSale.objects.get()
    assert after_sale.state == AfterSale.State.REQUESTED

    # 2. Nobody at the shop answers. Just before the deadline the sweeper leaves it alone; once
    #    it has passed, the sweeper refunds the buyer in full.
    settle_due(after_sale.due_at - timedelta(minutes=1))
    after_sale.refresh_from_db()
    assert after_sale.state == AfterSale.State.REQUESTED
    with clock.frozen_at(after_sale.due_at + timedelta(minutes=1)):
        settle_due()
        # 3. The buyer sees it ended: refunded, no deadline left, the order says why.
        buyer.reload()
        expect(buyer.locator("main .badge").first).to_have_text("Refunded")
        expect(buyer.locator("#deadline")).to_have_count(0)
        screenshot(buyer, "after-sale-unanswered-2-refunded")
        _fits(buyer)
        buyer.locator(f'main a[href="/orders/{paid.public_id}/"]').first.click()
        expect(buyer.locator("main")).to_contain_text(
            "Refunded automatically: the shop did not answer in time."
        )
        screenshot(buyer, "after-sale-unanswered-3-order")
        _fits(buyer)
    payment = Payment.objects.get(public_id=paid.checkout.payment_public_id)
    assert payment.refunded_fen == 5900
    report = verify_ledger()
    assert report.ok, report.problems
