"""Feed fixtures: the content app's people, community, shop and received order."""

import pytest

from shoploop.content.tests.conftest import (  # noqa: F401  (re-exported fixtures)
    _fresh_rate_limits,
    buyer,
    community,
    make_sku,
    member,
    merchant,
    old_user,
    outsider,
    owner,
    pay,
    place,
    private_community,
    received_line,
    shop,
    sku,
)
from shoploop.orders.tests.conftest import committed  # noqa: F401


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
