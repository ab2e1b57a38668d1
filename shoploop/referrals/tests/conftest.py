# ruff: noqa: F811  (pytest fixtures are parameters named like the imported fixtures)
"""Sharing fixtures: the orders fixtures (shop, products, paying) plus promoters and links."""

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
