# ruff: noqa: F811  (pytest fixtures are parameters named like the imported fixtures)
"""Crowdtasks fixtures: the orders fixtures (a shop, products, paying) and a shop with money."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.crowdtasks import services
from shoploop.orders.tests.conftest import (  # noqa: F401  (fixtures used by these tests)
    buyer,
    committed,
    make_sku,
    merchant,
    other_merchant,
    other_shop,
    pay,
    place,
    shop,
    sku,
)

# What one completed order of 2 × ¥59 leaves the shop after the 5 % fee.
FUNDED_FEN = 11800 - 590


@pytest.fixture(autouse=True)
def _english(english):
    yield


@pytest.fixture
def funded(shop, sku, buyer, place, pay):
    """The shop with ¥112.10 available: a real order paid, shipped, received and completed."""
    from shoploop.orders import services as orders
    from shoploop.orders.models import Order

    checkout = place((sku, 2))
    pay(checkout)
    order = Order.objects.get(checkout=checkout)
    orders.ship_order(order=order, actor=shop.owner, carrier="sf", tracking_number="SF123456789012")
    orders.confirm_receipt(order=order, actor=buyer)
    order.refresh_from_db()
    assert orders.complete_order(order=order, now=order.received_at + timedelta(days=30))
    return shop


@pytest.fixture
def post_task(merchant):
    """``post_task(shop, **overrides)`` → a published money task (¥10 × 2 winners, 3 days)."""

    def post(shop, **overrides):
        fields = {
            "actor": shop.owner,
            "shop": shop,
            "kind": "name",
            "title": "给新茶起个名字",
            "brief": "春天的第一批白茶，请起一个好听的名字。",
            "deadline": clock.now() + timedelta(days=3),
            "winners_count": 2,
            "reward_kind": "money",
            "reward_fen": 1000,
        }
        fields.update(overrides)
        return services.publish_task(**fields)

    return post


@pytest.fixture
def money_task(funded, post_task):
    return post_task(funded)


@pytest.fixture
def entrants(make_user):
    return [make_user(display_name=f"参与者{i}") for i in range(3)]


@pytest.fixture
def entered(money_task, entrants):
    """The money task with one entry from each entrant."""
    return [
        services.submit_entry(task=money_task, author=who, text=f"名字{i}")
        for i, who in enumerate(entrants)
    ]
