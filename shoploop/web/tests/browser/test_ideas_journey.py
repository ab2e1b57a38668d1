"""Co-creation on a 390 px phone, without JavaScript doing anything: a member proposes an idea
from the community page, another votes, the merchant answers it shipped, and the changelog links
the product; every page passes axe and fits the screen."""

import pytest

from shoploop.catalog import services as catalog
from shoploop.catalog.selectors import shop_of
from shoploop.ideas import services as ideas
from shoploop.ideas.models import Idea
from shoploop.web.tests import worlds
from shoploop.web.tests.browser.conftest import (
    assert_accessible,
    assert_no_horizontal_overflow,
    session_cookies,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tea_world(make_user, operator):
    owner = make_user(display_name="Jie")
    merchant = make_user(display_name="Tea shop")
    voter = make_user(display_name="Ming")
    tea = worlds.community(owner=owner, name="Tea friends", tags=["tea"])
    worlds.join(user=merchant, community=tea)
    worlds.join(user=voter, community=tea)
    product = worlds.product_on_sale(
        merchant=merchant, operator=operator, community=tea, title="Green tea", price_fen=4800
    )
    return {
        "owner": owner,
        "merchant": merchant,
        "voter": voter,
        "community": tea,
        "product": product,
        "shop": shop_of(user=merchant),
    }


def _check(page, url: str) -> None:
    page.goto(url)
    assert_no_horizontal_overflow(page)
    assert_accessible(page)


def _sign_in(page, live_server, user) -> None:
    page.context.clear_cookies()
    page.context.add_cookies(session_cookies(user, live_server.url))


def test_propose_vote_ship_and_changelog(page, live_server, tea_world):
    community, shop = tea_world["community"], tea_world["shop"]
    _sign_in(page, live_server, tea_world["owner"])
    page.goto(f"{live_server.url}/c/{community.public_id}/")
    page.click("#community-ideas")
    assert_accessible(page)
    page.click("summary")
    page.click(f"text=To {shop.name}")
    page.fill("input[name=title]", "Small tins")
    page.fill("textarea[name=body]", "A 50 g tin to carry along.")
    page.click("#propose button[type=submit]")
    idea = Idea.objects.get()
    assert page.url.endswith(f"/ideas/{idea.public_id}/")
    _check(page, f"{live_server.url}/ideas/{idea.public_id}/")

    _sign_in(page, live_server, tea_world["voter"])
    page.goto(f"{live_server.url}/ideas/{idea.public_id}/")
    page.click("#vote")
    assert "1 vote" in page.inner_text("#votes")
    assert_no_horizontal_overflow(page)

    _sign_in(page, live_server, tea_world["merchant"])
    _check(page, f"{live_server.url}/console/ideas/")
    page.goto(f"{live_server.url}/ideas/{idea.public_id}/")
    page.select_option("#answer select[name=status]", "shipped")
    page.select_option("#answer select[name=product]", tea_world["product"].public_id)
    page.click("#answer button[type=submit]")
    assert page.inner_text("#idea-status") == "Shipped"
    _check(page, f"{live_server.url}/ideas/s/{shop.public_id}/changelog/")
    assert "Green tea" in page.inner_text("#changelog")


def test_wants_and_demand_pages_fit_and_pass_axe(page, live_server, tea_world, make_user):
    shop = tea_world["shop"]
    fan = make_user(display_name="Fan")
    catalog.follow_shop(actor=fan, shop=shop)
    wanted = ideas.propose_wanted_product(
        actor=tea_world["voter"],
        shop=shop,
        community=tea_world["community"],
        title="Cold brew bags",
    )
    ideas.add_want(actor=tea_world["voter"], wanted_product=wanted, price_band="50_100")
    _sign_in(page, live_server, fan)
    _check(page, f"{live_server.url}/ideas/wanted/{wanted.public_id}/")
    page.check("input[name=price_band][value=under_50]")
    page.click("#want button[type=submit]")
    assert page.is_visible("#my-want")
    _check(page, f"{live_server.url}/ideas/s/{shop.public_id}/")
    _check(page, f"{live_server.url}/ideas/s/{shop.public_id}/wanted/")
    _sign_in(page, live_server, tea_world["merchant"])
    _check(page, f"{live_server.url}/console/ideas/wanted/")
    _check(page, f"{live_server.url}/console/ideas/wanted/{wanted.public_id}/")
    page.click("#presale button[type=submit]")
    assert "/console/crowdfunding/" in page.url
