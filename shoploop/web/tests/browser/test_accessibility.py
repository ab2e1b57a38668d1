"""axe-core (WCAG 2 A and AA) on every page a visitor can reach and on the main signed-in pages,
on a 390 px phone, in English and in Chinese. Any violation fails with the elements named."""

from datetime import timedelta

import pytest

from shoploop.catalog.selectors import shop_of
from shoploop.core import clock
from shoploop.deals.crowdfunding import services as crowdfunding
from shoploop.deals.crowdfunding.tests.conftest import tier_spec
from shoploop.deals.flash import services as flash
from shoploop.notifications.services import notify
from shoploop.web.tests import worlds
from shoploop.web.tests.browser.conftest import (
    assert_accessible,
    assert_no_horizontal_overflow,
    session_cookies,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop_world(make_user, operator):
    """A community with a shop, a product, a crowdfunding project and a running flash sale."""
    owner = make_user(display_name="Jie")
    merchant = make_user(display_name="Bean shop")
    coffee = worlds.community(owner=owner, name="Pour-over friends", tags=["coffee"])
    worlds.join(user=merchant, community=coffee)
    beans = worlds.product_on_sale(
        merchant=merchant, operator=operator, community=coffee, title="Yunnan beans", price_fen=6800
    )
    shop = shop_of(user=merchant)
    crowdfunding.create_project(
        actor=merchant,
        title="Glowing kettle",
        story="A kettle that glows.",
        target_kind="fen",
        target_value=20000,
        deadline=clock.now() + timedelta(days=3),
        tiers=[tier_spec()],
    )
    flash.create_sale(
        shop=shop,
        actor=merchant,
        sku=beans.skus.get(),
        price_fen=3900,
        stock=3,
        starts_at=None,
        ends_at=clock.now() + timedelta(days=2),
        per_user_limit=1,
    )
    return {
        "owner": owner,
        "merchant": merchant,
        "community": coffee,
        "product": beans,
        "shop": shop,
    }


def _visitor_pages(world) -> list[str]:
    return [
        "/",
        "/c/",
        f"/c/{world['community'].public_id}/",
        f"/p/{world['product'].public_id}/",
        f"/shop/{world['shop'].public_id}/",
        "/search/?q=beans",
        "/accounts/sign-in/",
        "/crowdfunding/",
        "/messages/",
    ]


def _check(page, url: str) -> None:
    page.goto(url)
    assert_no_horizontal_overflow(page)
    assert_accessible(page)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_signed_out_page_passes_axe(page, live_server, shop_world, language):
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    for url in _visitor_pages(shop_world):
        _check(page, url)


def test_signed_in_pages_pass_axe(page, live_server, shop_world):
    buyer = shop_world["owner"]
    page.context.add_cookies(session_cookies(buyer, live_server.url))
    # An unread notification, so the bell's count and the inbox's items are checked too.
    notify(
        recipient=buyer,
        kind="new_follower",
        key="axe",
        params={"user": shop_world["merchant"].public_id, "name": "Bean shop"},
    )
    community = shop_world["community"].public_id
    for url in (
        "/",
        "/me/",
        "/orders/",
        "/cart/",
        f"/c/{community}/moderation/",
        "/deals/mine/",
        "/notifications/",
        "/notifications/preferences/",
        "/messages/",
    ):
        _check(page, url)


def test_merchant_pages_pass_axe(page, live_server, shop_world, place, pay):
    """With money moved, so the wallet shows its ledger lines (they once widened the English
    page past 390 px)."""
    sku = shop_world["product"].skus.get()
    for _ in range(2):
        pay(place((sku, 1)))
    page.context.add_cookies(session_cookies(shop_world["merchant"], live_server.url))
    pages = ("/console/", "/console/orders/", "/console/after-sales/", "/wallet/", "/me/")
    for url in (*pages, "/messages/shop/"):
        _check(page, url)
