"""Live crowdfunding projects and flash sales are found from the home and community pages."""

from datetime import timedelta

import pytest
from django.urls import reverse

from shoploop.catalog import services as catalog
from shoploop.catalog.selectors import shop_of
from shoploop.core import clock
from shoploop.deals.crowdfunding import services as crowdfunding
from shoploop.deals.crowdfunding.tests.conftest import tier_spec
from shoploop.deals.flash import services as flash
from shoploop.web.tests import worlds

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals_world(make_user, operator):
    """A community whose shop runs a crowdfunding project, a running and an upcoming flash sale,
    and one more sale of a product offered in another community only."""
    merchant = make_user(display_name="Tea shop owner")
    tea = worlds.community(owner=merchant, name="Tea friends")
    other = worlds.community(owner=make_user(), name="Knitting")
    oolong = worlds.product_on_sale(
        merchant=merchant, operator=operator, community=tea, title="Oolong", price_fen=3900
    )
    shop = shop_of(user=merchant)
    kettle = crowdfunding.create_project(
        actor=merchant,
        title="Glowing kettle",
        story="A kettle that glows.",
        target_kind="fen",
        target_value=20000,
        deadline=clock.now() + timedelta(days=7),
        tiers=[tier_spec()],
    )
    now = clock.now()
    running = _sale(shop, merchant, oolong, starts_at=None, ends_at=now + timedelta(hours=1))
    upcoming = _sale(
        shop,
        merchant,
        worlds.another_product(merchant=merchant, community=tea, title="Pu'er", price_fen=5900),
        starts_at=now + timedelta(days=2),
        ends_at=now + timedelta(days=2, hours=1),
    )
    elsewhere = _sale(
        shop,
        merchant,
        _offered_only_in(other, shop=shop, merchant=merchant, community=tea),
        starts_at=None,
        ends_at=now + timedelta(hours=2),
    )
    return {
        "tea": tea,
        "kettle": kettle,
        "running": running,
        "upcoming": upcoming,
        "elsewhere": elsewhere,
    }


def _offered_only_in(other, *, shop, merchant, community):
    """A product of the shop that ``other`` offers and ``community`` does not."""
    worlds.join(user=merchant, community=other)
    catalog.list_shop_in_community(shop=shop, community=other, actor=merchant)
    product = worlds.another_product(
        merchant=merchant, community=community, title="Wool tea cosy", price_fen=2900
    )
    return catalog.update_product(product=product, actor=merchant, communities=[other])


def _sale(shop, merchant, product, *, starts_at, ends_at):
    return flash.create_sale(
        shop=shop,
        actor=merchant,
        sku=product.skus.get(),
        price_fen=1990,
        stock=3,
        starts_at=starts_at,
        ends_at=ends_at,
        per_user_limit=1,
    )


def test_visitor_home_lists_live_crowdfunding_and_flash_sales(client, english, deals_world):
    html = client.get("/").content.decode()
    deals = html.split('id="live-deals"')[1].split("</section>")[0]
    assert reverse("deals_crowdfunding:list") in deals
    assert reverse("deals_crowdfunding:project", args=[deals_world["kettle"].public_id]) in deals
    for sale in ("running", "upcoming"):
        assert reverse("deals_flash:detail", args=[deals_world[sale].public_id]) in deals
    assert "Ends in" in deals and "Starts in" in deals


def test_member_home_lists_them_too(client, english, deals_world, user):
    client.force_login(user)
    deals = client.get("/").content.decode().split('id="live-deals"')[1]
    assert "Glowing kettle" in deals and "Oolong" in deals


def test_home_without_live_deals_says_so(client, english):
    assert "No crowdfunding or flash sale is running right now." in client.get("/").content.decode()


def test_community_page_lists_the_flash_sales_of_its_products(client, english, deals_world):
    url = reverse("communities:detail", args=[deals_world["tea"].public_id])
    html = client.get(url).content.decode()
    block = html.split('data-testid="flash-block"')[1].split("</section>")[0]
    for sale in ("running", "upcoming"):
        assert reverse("deals_flash:detail", args=[deals_world[sale].public_id]) in block
    assert deals_world["elsewhere"].public_id not in block
    assert 'data-testid="crowdfunding-block"' in html and "Glowing kettle" in html


def test_ended_sales_and_projects_are_not_listed(client, english, deals_world):
    later = clock.now() + timedelta(days=30)
    with clock.frozen_at(later):
        html = client.get("/").content.decode()
    assert "No crowdfunding or flash sale is running right now." in html
