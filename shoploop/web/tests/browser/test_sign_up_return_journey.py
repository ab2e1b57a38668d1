"""A brand-new phone number on each kind of shared link, at 390 px: a group, a bargain, a
community invite, a product page and a community page. Each visitor signs up on the way (code,
first-time step with consent) and lands back where they were: the invite is accepted, a join or
help is offered as the page's primary button and waits for their click."""

import itertools
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shoploop.accounts.models import User
from shoploop.accounts.selectors import latest_debug_code
from shoploop.communities import services as communities
from shoploop.communities.models import Membership
from shoploop.core import clock
from shoploop.deals.bargains import services as bargains
from shoploop.deals.bargains.models import Help
from shoploop.deals.groups import services as groups
from shoploop.deals.groups.models import Seat
from shoploop.ledger.services import payments
from shoploop.orders.tests.conftest import address_id_for
from shoploop.web.tests import worlds
from shoploop.web.tests.browser.conftest import PHONE_VIEWPORT, assert_no_horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMMUNITY = "Tea friends"
PRODUCT = "Oolong 100 g"
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
    )
    return {
        "community": tea,
        "product": product,
        "group": seat.group,
        "bargain": bargains.start_bargain(campaign=bargain_campaign, user=leader),
        "invite": communities.create_invite(actor=owner, community=tea),
    }


@pytest.fixture
def fresh_phone(browser, live_server, plain_static_files):
    """``fresh_phone()`` → a new 390 px browser (own cookies) and a number never seen before."""
    contexts = []

    def open_one():
        context = browser.new_context(
            viewport=PHONE_VIEWPORT, base_url=live_server.url, locale="en-US", device_scale_factor=1
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page(), f"+86{next(_new_numbers)}"

    yield open_one
    for context in contexts:
        context.close()


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
    address_id_for(user)  # as if added through the "Add an address" link
    page.reload()
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(page.locator("main h1")).to_have_text("Sandbox cashier")
    assert Seat.objects.filter(user=user, group=group).exists()


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
    _sign_up(page, phone, screenshot, "product")
    expect(page.locator("main h1")).to_have_text(PRODUCT)
    expect(page.get_by_role("button", name="Start a bargain")).to_be_visible()
    _step(page, screenshot, "product-back")


def test_a_community_page_brings_a_new_person_back_to_join(tea_world, fresh_phone, screenshot):
    page, phone = fresh_phone()
    page.goto(f"/c/{tea_world['community'].public_id}/")
    page.get_by_role("link", name="Sign in to join").click()
    user = _sign_up(page, phone, screenshot, "community")
    expect(page.locator("main h1")).to_have_text(COMMUNITY)
    expect(page.locator(".actions").get_by_role("button", name="Join", exact=True)).to_be_visible()
    assert not Membership.objects.filter(user=user).exists()
    _step(page, screenshot, "community-back")
