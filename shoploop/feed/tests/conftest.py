"""Feed fixtures: the content app's people, community, shop and received order."""

import pytest

from shoploop.content.tests import conftest as content_fixtures
from shoploop.deals.crowdfunding.tests import conftest as crowdfunding_fixtures
from shoploop.orders.tests import conftest as orders_fixtures

# The content app's people, community, shop and received order (and its rate-limit reset).
_fresh_rate_limits = content_fixtures._fresh_rate_limits
buyer = content_fixtures.buyer
community = content_fixtures.community
make_sku = content_fixtures.make_sku
member = content_fixtures.member
merchant = content_fixtures.merchant
old_user = content_fixtures.old_user
outsider = content_fixtures.outsider
owner = content_fixtures.owner
pay = content_fixtures.pay
place = content_fixtures.place
private_community = content_fixtures.private_community
received_line = content_fixtures.received_line
shop = content_fixtures.shop
sku = content_fixtures.sku
committed = orders_fixtures.committed
other_merchant = orders_fixtures.other_merchant
other_shop = orders_fixtures.other_shop
# Crowdfunding: a live project of the shop, and a backer's paid pledge.
back_and_pay = crowdfunding_fixtures.back_and_pay
make_project = crowdfunding_fixtures.make_project


@pytest.fixture
def reader(old_user):
    return old_user("读者")


@pytest.fixture
def post_as(committed):
    """``post_as(user, community, body)``: a post whose events are delivered (fan-out done)."""
    from shoploop.content import services

    def run(user, community, body="好茶", **extra):
        with committed():
            return services.create_post(actor=user, community=community, body=body, **extra)

    return run


@pytest.fixture
def follow(committed):
    from shoploop.accounts import services

    def run(follower, followee):
        with committed():
            return services.follow(follower=follower, followee=followee)

    return run


@pytest.fixture
def join(committed):
    from shoploop.communities import services

    def run(user, community):
        with committed():
            return services.join_community(actor=user, community=community)

    return run


def page(user, **kwargs):
    from shoploop.feed.selectors import feed_page

    return feed_page(user=user, **kwargs)


def ids(feed_page):
    return [(item.kind, item.public_id) for item in feed_page.items]


@pytest.fixture(autouse=True)
def _reasons_in_english():
    """Reasons render in the active language; these tests read them in English (the API tests
    ask for it with Accept-Language, as an app does)."""
    from django.utils import translation

    with translation.override("en"):
        yield
