# ruff: noqa: F811  (pytest fixtures are parameters named like the imported fixtures)
"""Sharing fixtures: the orders fixtures (shop, products, paying) plus promoters and links."""

from datetime import timedelta

import pytest

from shoploop.orders.tests.conftest import (  # noqa: F401  (fixtures used by these tests)
    buyer,
    committed,
    make_sku,
    merchant,
    pay,
    place,
    shop,
    sku,
)
from shoploop.referrals import services


def complete_order(order, committed):
    """Ship, receive and let the after-sale window pass (``settle_due``): the order completes,
    which releases its commissions. Returns the order, completed."""
    from shoploop.core.deadlines import settle_due
    from shoploop.orders import services as orders
    from shoploop.orders.models import Order

    with committed():
        order = orders.ship_order(
            order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
        )
        order = orders.confirm_receipt(order=order, actor=order.buyer)
    with committed():
        settle_due(order.received_at + timedelta(days=7))
    order.refresh_from_db()
    assert order.state == Order.State.COMPLETED
    return order


@pytest.fixture
def scheme(shop):
    return services.set_shop_commission(
        actor=shop.owner, enabled=True, level1_bps=1000, level2_bps=500
    )


@pytest.fixture
def promoter(make_user):
    user = make_user(display_name="推广员阿明")
    services.become_promoter(user=user)
    return user


@pytest.fixture
def upline(make_user):
    """A promoter who brought ``promoter`` (level 2)."""
    user = make_user(display_name="上级老周")
    services.become_promoter(user=user)
    return user


@pytest.fixture
def product_link(sku, promoter):
    return services.create_share_link(
        sharer=promoter, kind="product", target_public_id=sku.product.public_id
    )


@pytest.fixture
def bought_through(committed, place, pay):
    """``bought_through(link, buyer)`` → the buyer visits the link, then buys 2 of its SKU."""
    from shoploop.orders.models import Order

    def run(link, who, sku, quantity=2):
        services.record_visit(code=link.code, visitor=who, ip="203.0.113.7")
        checkout = place((sku, quantity), user=who)
        pay(checkout)
        return Order.objects.get(checkout=checkout)

    return run
