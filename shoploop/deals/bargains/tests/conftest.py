"""Bargain fixtures: a running campaign on the shop's SKU, and a pool of verified friends."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.deals.bargains import services


@pytest.fixture
def make_campaign(shop, make_sku):
    def make(*, sku=None, start=5000, floor=1000, helpers=3, stock=5, **extra):
        sku = sku or make_sku(shop=shop, price_fen=5900, stock=10)
        extra.setdefault("ends_at", clock.now() + timedelta(days=7))
        return services.create_campaign(
            actor=sku.product.shop.owner,
            sku_public_id=sku.public_id,
            start_price_fen=start,
            floor_price_fen=floor,
            helpers_needed=helpers,
            stock=stock,
            **extra,
        )

    return make


@pytest.fixture
def campaign(make_campaign):
    return make_campaign()


@pytest.fixture
def friends(make_user):
    return [make_user(display_name=f"朋友{i}") for i in range(5)]


@pytest.fixture
def finished(campaign, buyer, friends):
    """A bargain of ``buyer`` helped down to the floor by three friends."""
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    for friend in friends[: campaign.helpers_needed]:
        services.help_bargain(bargain=bargain, helper=friend)
    bargain.refresh_from_db()
    return bargain


@pytest.fixture
def pay_with_the_event_lost(pay):
    """Pay a bargain's order while the bargain never hears of it (its payment handler is
    swapped out for the call): the capture is recorded, the bargain still waits."""
    from shoploop.deals import registry

    def run(checkout):
        kind = registry.kind_for("bargain:x")
        registry.register_deal_kind(
            registry.DealKind(
                prefix="bargain",
                on_payment_succeeded=lambda order: None,
                on_payment_failed=kind.on_payment_failed,
            )
        )
        try:
            pay(checkout)
        finally:
            registry.register_deal_kind(kind)

    return run
