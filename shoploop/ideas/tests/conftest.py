"""Ideas fixtures: an approved shop offered in a public community with a member, a follower of
the shop, an outsider, and a product on sale."""

from datetime import timedelta

import pytest
from django.core.cache import cache

from shoploop.catalog import services as catalog
from shoploop.communities import services as communities
from shoploop.core import clock
from shoploop.ideas import services
from shoploop.orders.tests import conftest as orders_fixtures

merchant = orders_fixtures.merchant
shop = orders_fixtures.shop
other_merchant = orders_fixtures.other_merchant
other_shop = orders_fixtures.other_shop
make_sku = orders_fixtures.make_sku
sku = orders_fixtures.sku


@pytest.fixture(autouse=True)
def _english_and_fresh_limits(english):
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def old_user(make_user):
    joined = clock.now() - timedelta(days=30)
    return lambda name="": make_user(display_name=name, date_joined=joined)


@pytest.fixture
def owner(old_user):
    return old_user("群主")


@pytest.fixture
def member(old_user):
    return old_user("成员小红")


@pytest.fixture
def fan(old_user, shop):
    """A follower of the shop who is in no community."""
    person = old_user("粉丝小明")
    catalog.follow_shop(actor=person, shop=shop)
    return person


@pytest.fixture
def outsider(old_user):
    return old_user("路人")


@pytest.fixture
def community(owner, member, merchant, shop):
    c = communities.create_community(
        actor=owner, name="茶友会", description="喝茶", tags=["茶"], visibility="public"
    )
    communities.join_community(actor=member, community=c)
    communities.join_community(actor=merchant, community=c)
    catalog.list_shop_in_community(shop=shop, community=c, actor=merchant)
    return c


@pytest.fixture
def product(sku):
    return sku.product


@pytest.fixture
def idea(member, shop, community):
    return services.propose_idea(
        actor=member, shop=shop, community=community, title="小罐装", body="想要 50g 的小罐装。"
    )


@pytest.fixture
def wanted(member, shop, community):
    return services.propose_wanted_product(
        actor=member, shop=shop, community=community, title="冷泡茶", description="夏天喝"
    )
