"""Sharing pays, on a phone (390 px): A, a promoter who opened a group, shares it from the group
page and opens its poster (a PNG); B, a new person, opens A's short link, signs up on the way,
joins the group and pays; the group completes. A's shares page shows the commission frozen;
once B's order can no longer be refunded (shipped, received, the after-sale window closed: the
clock moved on with ``settle_due``) it shows it available. Pages fit the screen and pass axe;
each step leaves a screenshot."""

from datetime import timedelta

import pytest
from django.conf import settings
from playwright.sync_api import expect

from shoploop.catalog import services as catalog
from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.money import format_fen
from shoploop.deals.groups import services as groups
from shoploop.deals.groups.models import Group
from shoploop.ledger.models import Account, Transfer
from shoploop.ledger.services import payments
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services as orders
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for
from shoploop.referrals import services as referrals
from shoploop.referrals.models import Attribution, Commission, ShareVisit
from shoploop.web.tests.browser.conftest import (
    assert_accessible,
    assert_no_horizontal_overflow,
)
from shoploop.web.tests.browser.test_sign_up_return_journey import (
    _add_first_address,
    _pay_in_the_cashier,
    _sign_up,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRODUCT = "Pu'er tea cake"
GROUP_PRICE_FEN = 8800
LEVEL1_BPS = 1000  # the shop pays its promoters 10 %
COMMISSION_FEN = GROUP_PRICE_FEN * LEVEL1_BPS // 10_000


@pytest.fixture
def opened_group(make_user, operator):
    """A shop that pays commissions, and A, a promoter, who opened a group of two and paid."""
    merchant = make_user(display_name="Lin")
    shop = catalog.approve_shop(
        shop=catalog.apply_for_shop(user=merchant, name="Lin's Tea", contact="WeChat lin-tea"),
        actor=operator,
    )
    product = catalog.create_product(shop=shop, actor=merchant, title=PRODUCT, category="food")
    sku = catalog.add_sku(product=product, actor=merchant, options={}, price_fen=12800, stock=20)
    catalog.publish_product(product=product, actor=merchant)
    referrals.set_shop_commission(actor=merchant, enabled=True, level1_bps=LEVEL1_BPS, level2_bps=0)
    now = clock.now()
    campaign = groups.create_campaign(
        actor=merchant,
        sku=sku,
        group_price_fen=GROUP_PRICE_FEN,
        group_size=2,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=7),
        stock=10,
    )
    sharer = make_user(display_name="Ann")
    referrals.become_promoter(user=sharer)
    seat = groups.open_group(campaign=campaign, user=sharer, address_id=address_id_for(sharer))
    payment = payments.payment_by_public_id(public_id=seat.order.checkout.payment_public_id)
    payments.respond_in_sandbox(payment=payment, actor=sharer, approve=True)
    return {"sharer": sharer, "group": seat.group, "shop": shop}


def _check(page, screenshot, name, *, axe=True):
    assert_no_horizontal_overflow(page)
    if axe:
        assert_accessible(page)
    screenshot(page, f"share-{name}")


def test_a_shared_group_poster_brings_a_buyer_and_a_commission(
    phone, live_server, opened_group, screenshot
):
    group, sharer = opened_group["group"], opened_group["sharer"]
    context_a = phone(sharer)
    context_b = phone()
    a, b = context_a.new_page(), context_b.new_page()
    commission = format_fen(COMMISSION_FEN)
    try:
        # 1. A shares the group: the share sheet with A's short link and its poster.
        a.goto(f"/groups/g/{group.public_id}/")
        expect(a.get_by_test_id("more-needed")).to_have_text("1 more needed")
        a.get_by_test_id("share-action").click()
        expect(a.locator("main h1")).to_contain_text(f"Share: {PRODUCT}")
        short_url = a.get_by_test_id("short-url").input_value()
        assert short_url.startswith(live_server.url) and "/s/" in short_url
        _check(a, screenshot, "1-sheet")
        poster_href = a.get_by_test_id("poster-link").get_attribute("href")
        poster = a.goto(poster_href)
        assert poster.status == 200 and poster.headers["content-type"] == "image/png"
        assert poster.body()[:8] == b"\x89PNG\r\n\x1a\n"
        screenshot(a, "share-2-poster")

        # 2. B, new here, opens the link (scanned from the poster): the group page.
        b.goto(short_url)
        expect(b).to_have_url(f"{live_server.url}/groups/g/{group.public_id}/")
        expect(b.get_by_test_id("members")).to_contain_text("Ann")
        assert ShareVisit.objects.filter(link__sharer=sharer, visitor__isnull=True).count() == 1
        _check(b, screenshot, "3-link-opened")

        # 3. B joins: signs up on the way, comes back to the join, adds an address, pays.
        b.get_by_test_id("join").click()
        buyer = _sign_up(b, "+8613700009901", screenshot, "share")
        assert ShareVisit.objects.get(link__sharer=sharer).visitor == buyer  # claimed at sign-in
        _add_first_address(b, screenshot, "share")
        expect(b.get_by_test_id("amount-to-pay")).to_have_text(format_fen(GROUP_PRICE_FEN))
        assert_accessible(b)
        b.get_by_test_id("confirm-and-pay").click()
        _pay_in_the_cashier(b, format_fen(GROUP_PRICE_FEN), screenshot, "share")
        b.get_by_role("link", name="Continue").click()
        expect(b.get_by_test_id("group-state")).to_contain_text("Group complete")
        _check(b, screenshot, "4-group-complete", axe=False)

        # 4. A's shares page: the purchase brought, the commission frozen.
        a.goto("/me/shares/")
        totals = a.get_by_test_id("commission-totals")
        expect(totals).to_contain_text(f"Frozen: {commission}")
        expect(totals).to_contain_text(f"Available: {format_fen(0)}")
        _check(a, screenshot, "5-frozen")

        # 5. Later: B's order is shipped and received, and the after-sale window closes.
        order = Order.objects.get(buyer=buyer)
        orders.ship_order(
            order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
        )
        order = orders.confirm_receipt(order=order, actor=buyer)
        settle_due(order.received_at + timedelta(days=settings.ORDER_AFTER_SALE_DAYS + 1))
        a.reload()
        expect(totals).to_contain_text(f"Available: {commission}")
        expect(totals).to_contain_text(f"Frozen: {format_fen(0)}")
        _check(a, screenshot, "6-available")
    finally:
        context_a.close()
        context_b.close()

    assert Group.objects.get(pk=group.pk).state == Group.State.SUCCEEDED
    attribution = Attribution.objects.get()
    assert (attribution.sharer, attribution.order.buyer) == (sharer, buyer)
    row = Commission.objects.get()
    assert (row.promoter, row.level, row.amount_fen, row.state) == (
        sharer,
        1,
        COMMISSION_FEN,
        "available",
    )
    # Kept back from the shop's share when the order completed, never withdrawable by the shop.
    kept = Transfer.objects.get(reason="commission_reserved")
    assert kept.amount == COMMISSION_FEN
    account = Account.objects.get(code=f"commissions:user:{sharer.public_id}")
    assert account.credit_balance == COMMISSION_FEN
    report = verify_ledger()
    assert report.ok, report.problems
