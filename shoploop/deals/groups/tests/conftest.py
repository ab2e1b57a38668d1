"""Group buying fixtures: a running campaign on the shop's SKU, and buyers to fill groups."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.deals.groups import services
from shoploop.orders.tests.conftest import address_id_for


@pytest.fixture
def make_campaign(merchant):
    def make(*, sku, **overrides):
        now = clock.now()
        params = {
            "actor": merchant,
            "sku": sku,
            "group_price_fen": 3900,
            "group_size": 3,
            "starts_at": now - timedelta(minutes=1),
            "ends_at": now + timedelta(days=7),
            "stock": 10,
        }
        params.update(overrides)
        return services.create_campaign(**params)

    return make


@pytest.fixture
def campaign(make_campaign, sku):
    return make_campaign(sku=sku)


@pytest.fixture
def buyers(make_user):
    return [make_user(display_name=f"团员{i}") for i in range(12)]


@pytest.fixture
def opened(campaign, buyer, pay):
    """A group whose leader (``buyer``) has paid."""
    seat = services.open_group(campaign=campaign, user=buyer, address_id=address_id_for(buyer))
    pay(seat.order.checkout)
    seat.group.refresh_from_db()
    return seat.group
