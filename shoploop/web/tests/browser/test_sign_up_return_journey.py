"""A brand-new phone number on each kind of shared link, at 390 px: a group, a bargain, a
community invite, a product page and a community page. Each visitor signs up on the way (code,
first-time step with consent) and lands back where they were: the invite is accepted, a join or
help is offered as the page's primary button and waits for their click.

From the product, group and bargain links the new person then buys: the physical product through
the cart, a seat in the group, their own bargain. Each time the confirm page asks for a delivery
address, which they enter once (the form comes back to the confirm page), and they pay in the
sandbox cashier. The confirm pages pass axe-core (WCAG 2 A/AA)."""

import itertools
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shoploop.accounts.models import User
from shoploop.accounts.selectors import latest_debug_code
from shoploop.communities import services as communities
from shoploop.communities.models import Membership
from shoploop.core import clock
from shoploop.core.money import format_fen
from shoploop.deals.bargains import services as bargains
from shoploop.deals.bargains.models import Bargain, Help
from shoploop.deals.groups import services as groups
from shoploop.deals.groups.models import Seat
from shoploop.ledger.services import payments
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for
from shoploop.web.tests import worlds
from shoploop.web.tests.browser.conftest import (
    assert_accessible,
    assert_no_horizontal_overflow,
    choose_region,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMMUNITY = "Tea friends"
PRODUCT = "Oolong 100 g"
PRODUCT_PRICE_FEN = 6800
GROUP_PRICE_FEN = 4800
RECIPIENT = "Xiao Wang"
STREET = "8 Keyuan Road"
_new_numbers = itertools.count(13700000001)


@pytest.fixture
def tea_world(make_user, operator):
    owner = make_user(display_name="Mei")
    merchant = make_user(display_name="Lin")
    leader = make_user(display_name="Ann")
    tea = worlds.community(owner=owner, name=COMMUNITY, tags=["tea"])
    worlds.join(user=merchant, community=tea)
    product = worlds.product_on_sale(
        merchant=merchant, operator=operator, community=tea, title=PRODUCT, price_fen=6800
    )
    sku = product.skus.get()
    now = clock.now()
    campaign = groups.create_campaign(
        actor=merchant,
        sku=sku,
        group_price_fen=4800,
        group_size=3,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=7),
        stock=5,
    )
    seat = groups.open_group(campaign=campaign, user=leader, address_id=address_id_for(leader))
    payment = payments.payment_by_public_id(public_id=seat.order.checkout.payment_public_id)
    payments.respond_in_sandbox(payment=payment, actor=leader, approve=True)
    bargain_campaign = bargains.create_campaign(
        actor=merchant,
        sku_public_id=sku.public_id,
        start_price_fen=6000,
        floor_price_fen=2000,
        helpers_needed=3,
        stock=3,
        ends_at=now + timedelta(days=7),
        buy_before_floor=True,
    )
    return {
        "community": tea,
        "product": product,
        "group": seat.group,
        "bargain": bargains.start_bargain(campaign=bargain_campaign, user=leader),
        "invite": communities.create_invite(actor=owner, community=tea),
    }


@pytest.fixture
def fresh_phone(phone):
    """``fresh_phone()`` → a new 390 px browser (own cookies) and a number never seen before."""

    def open_one():
        return phone().new_page(), f"+86{next(_new_numbers)}"

    return open_one


def _step(page, screenshot, name):
    assert_no_horizontal_overflow(page)
    screenshot(page, f"return-{name}")


def _sign_up(page, phone: str, screenshot, name: str) -> User:
    expect(page.locator("main h1")).to_have_text("Sign in or sign up")
    page.get_by_label("Mobile number (+86)").fill(phone.removeprefix("+86"))
    page.get_by_role("button", name="Send code").click()
    page.get_by_label("Code").fill(latest_debug_code(phone))
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("main h1")).to_have_text("Welcome to Shoploop")
    _step(page, screenshot, f"{name}-first-time")
    page.get_by_role("button", name="Create my account").click()
    # The required box stops the form in the browser: nothing is created without consent.
    expect(page.locator("main h1")).to_have_text("Welcome to Shoploop")
    assert not User.objects.filter(phone=phone).exists()
    page.get_by_label("Display name").fill(f"New {name}")
    page.locator("#id_accept_terms").check()
    page.get_by_role("button", name="Create my account").click()
    user = User.objects.get(phone=phone)
    assert user.terms_accepted_at is not None
    return user


def _add_first_address(page, screenshot, name: str) -> None:
    """From a confirm page without an address: "Add an address", the form once, and back."""
    confirm_url = page.url.split("?")[0]
    expect(page.locator("main")).to_contain_text("Add a delivery address to continue.")
    page.get_by_role("link", name="Add an address").click()
    expect(page.locator("main h1")).to_have_text("Add an address")
    page.get_by_label("Recipient").fill(RECIPIENT)
    page.get_by_label("Mobile number").fill("13912345678")
    choose_region(page, province="广东省", city="深圳市", district="南山区")
    page.get_by_label("Street address").fill(STREET)
    _step(page, screenshot, f"{name}-address")
    page.get_by_role("button", name="Save address").click()
    expect(page.locator(".flash")).to_contain_text("Address saved.")
    assert page.url.split("?")[0] == confirm_url
    addresses = page.get_by_test_id("addresses")
    expect(addresses).to_contain_text(RECIPIENT)
    expect(addresses).to_contain_text(STREET)
    expect(addresses.get_by_role("radio")).to_be_checked()


def _pay_in_the_cashier(page, amount: str, screenshot, name: str) -> None:
    expect(page.locator("main h1")).to_have_text("Sandbox cashier")
    expect(page.get_by_test_id("pay-amount")).to_have_text(amount)
    _step(page, screenshot, f"{name}-cashier")
    page.get_by_role("button", name=f"Pay {amount}").click()
    expect(page.get_by_test_id("pay-state")).to_have_text("Paid")


def _shipped_to_the_address(order: Order) -> None:
    assert (order.ship_recipient, order.ship_street) == (RECIPIENT, STREET)
    assert (order.ship_province, order.ship_city, order.ship_district) == (
        "广东省",
        "深圳市",
        "南山区",
    )


def test_a_group_link_brings_a_new_person_back_to_join(tea_world, fresh_phone, screenshot):
    page, phone = fresh_phone()
    group = tea_world["group"]
    page.goto(f"/groups/g/{group.public_id}/")
    page.get_by_test_id("join").click()
    user = _sign_up(page, phone, screenshot, "group")
    # Back on the join's confirm page; a new person has no address yet, so it asks for one.
    expect(page).to_have_url(f"{page.url.split('/groups/')[0]}/groups/g/{group.public_id}/join/")
    confirm = page.get_by_test_id("confirm-and-pay")
    expect(confirm).to_be_disabled()
    expect(page.get_by_test_id("add-address")).to_be_visible()
    assert not Seat.objects.filter(user=user).exists()  # offered; money waits for the click
    _step(page, screenshot, "group-back")
    _add_first_address(page, screenshot, "group")
    expect(page.get_by_test_id("amount-to-pay")).to_have_text(format_fen(GROUP_PRICE_FEN))
    expect(confirm).to_be_enabled()
    assert_accessible(page)
    confirm.click()
    _pay_in_the_cashier(page, format_fen(GROUP_PRICE_FEN), screenshot, "group")
    seat = Seat.objects.select_related("order").get(user=user, group=group)
    assert seat.state == Seat.State.PAID
    _shipped_to_the_address(seat.order)
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(f"{page.url.split('/groups/')[0]}/groups/g/{group.public_id}/")
    _step(page, screenshot, "group-joined")
    assert verify_ledger().ok


def test_a_bargain_link_brings_a_new_person_back_to_help(tea_world, fresh_phone, screenshot):
    page, phone = fresh_phone()
    bargain = tea_world["bargain"]
    page.goto(f"/bargains/{bargain.public_id}/")
    page.locator("[data-help]").click()
    user = _sign_up(page, phone, screenshot, "bargain")
    expect(page.locator("[data-help]")).to_be_visible()
    assert page.url.endswith(f"/bargains/{bargain.public_id}/")
    assert not Help.objects.filter(helper=user).exists()
    _step(page, screenshot, "bargain-back")
    page.locator("[data-help]").click()
    expect(page.locator(".flash")).to_contain_text("Thank you for helping")
    assert Help.objects.filter(helper=user, bargain=bargain).exists()

    # Then they start a bargain of their own on the product and buy it (the campaign lets
    # buyers buy before the lowest price): the confirm page, an address once, the cashier.
    page.goto(f"/p/{tea_world['product'].public_id}/")
    page.get_by_role("button", name="Start a bargain").click()
    mine = Bargain.objects.get(initiator=user)
    expect(page).to_have_url(f"{page.url.split('/bargains/')[0]}/bargains/{mine.public_id}/")
    price = format_fen(mine.current_price_fen)
    page.get_by_role("link", name=f"Buy for {price}").click()
    expect(page.locator("main h1")).to_have_text("Buy at the bargain price")
    _add_first_address(page, screenshot, "bargain")
    expect(page.get_by_test_id("amount-to-pay")).to_have_text(price)
    assert_accessible(page)
    page.get_by_test_id("confirm-and-pay").click()
    _pay_in_the_cashier(page, price, screenshot, "bargain")
    mine.refresh_from_db()
    assert mine.state == Bargain.State.BOUGHT and mine.order.state == Order.State.PAID
    _shipped_to_the_address(mine.order)
    assert verify_ledger().ok


def test_an_invite_link_makes_a_new_person_a_member(tea_world, fresh_phone, screenshot):
    page, phone = fresh_phone()
    page.goto(f"/c/invite/{tea_world['invite'].code}/")
    page.get_by_role("button", name="Join this community").click()
    user = _sign_up(page, phone, screenshot, "invite")
    expect(page.locator("main h1")).to_have_text(COMMUNITY)
    expect(page.locator(".flash")).to_contain_text("You joined the community")
    _step(page, screenshot, "invite-back")
    membership = Membership.objects.get(user=user, community=tea_world["community"])
    assert membership.state == Membership.State.ACTIVE


def test_a_product_page_brings_a_new_person_back(tea_world, fresh_phone, screenshot):
    page, phone = fresh_phone()
    page.goto(f"/p/{tea_world['product'].public_id}/")
    page.get_by_role("link", name="Sign in to start a bargain").click()
    user = _sign_up(page, phone, screenshot, "product")
    expect(page.locator("main h1")).to_have_text(PRODUCT)
    expect(page.get_by_role("button", name="Start a bargain")).to_be_visible()
    _step(page, screenshot, "product-back")

    # Then they buy it: cart, the confirm step with an address entered once, the cashier.
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator(".flash")).to_contain_text("Added to your cart.")
    page.get_by_role("link", name="Check out").click()
    expect(page.locator("main h1")).to_have_text("Confirm your order")
    _add_first_address(page, screenshot, "product")
    expect(page.locator("main h1")).to_have_text("Confirm your order")
    total = format_fen(PRODUCT_PRICE_FEN)
    expect(page.get_by_test_id("amount-to-pay")).to_have_text(total)
    assert_accessible(page)
    page.get_by_role("button", name=f"Confirm and pay {total}").click()
    _pay_in_the_cashier(page, total, screenshot, "product")
    order = Order.objects.get(buyer=user)
    assert order.state == Order.State.PAID and order.total_fen == PRODUCT_PRICE_FEN
    _shipped_to_the_address(order)
    assert verify_ledger().ok


def test_a_community_page_brings_a_new_person_back_to_join(tea_world, fresh_phone, screenshot):
    page, phone = fresh_phone()
    page.goto(f"/c/{tea_world['community'].public_id}/")
    page.get_by_role("link", name="Sign in to join").click()
    user = _sign_up(page, phone, screenshot, "community")
    expect(page.locator("main h1")).to_have_text(COMMUNITY)
    expect(page.locator(".actions").get_by_role("button", name="Join", exact=True)).to_be_visible()
    assert not Membership.objects.filter(user=user).exists()
    _step(page, screenshot, "community-back")
