"""A deal order picked up at a community point: the shared confirm step's ``address_id`` names
the point as "pickup:<id>" (docs/pickup.md)."""

import pytest

from shoploop.communities import leader_services
from shoploop.communities import services as community_services
from shoploop.core.errors import NotFound
from shoploop.core.events import recorded_events
from shoploop.deals import quotes
from shoploop.deals.flash import services
from shoploop.orders import services as order_services


@pytest.fixture
def pickup_point(make_user, buyer):
    owner = make_user()
    community = community_services.create_community(actor=owner, name="邻里团", tags=["邻里"])
    community_services.join_community(actor=buyer, community=community)
    leader_services.appoint_leader(actor=owner, community=community, user=owner)
    return order_services.create_pickup_point(
        actor=owner, community=community, name="楼下", address="1 号楼", hours="全天"
    )


def test_a_flash_buy_picked_up_at_a_point(sale, buyer, pickup_point):
    quote = quotes.quote(
        kind="flash_buy",
        target_id=sale.public_id,
        user=buyer,
        address_id=f"pickup:{pickup_point.public_id}",
    )
    assert quote.pickup_point == pickup_point and quote.can_confirm
    purchase = services.buy(sale=sale, user=buyer, address_id=f"pickup:{pickup_point.public_id}")
    order = purchase.order
    assert order.is_pickup and order.pickup_point == pickup_point and order.pickup_code
    assert not order.has_address


def test_a_point_outside_the_buyers_communities_is_refused(sale, make_user, pickup_point):
    stranger = make_user()
    with pytest.raises(NotFound) as refused:
        services.buy(sale=sale, user=stranger, address_id=f"pickup:{pickup_point.public_id}")
    assert refused.value.code == "pickup_point_not_found"


def test_a_paid_pickup_purchase_names_the_points_community_for_insights(
    sale, buyer, pickup_point, pay
):
    purchase = services.buy(sale=sale, user=buyer, address_id=f"pickup:{pickup_point.public_id}")
    with recorded_events() as events:
        pay(purchase.order.checkout)
    (paid,) = [e.payload for e in events if e.name == "flash.purchase.paid"]
    assert paid["community_public_id"] == pickup_point.community.public_id
    assert paid["shop_public_id"] == sale.shop.public_id
