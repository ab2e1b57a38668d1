"""Pickup fixtures: a community whose owner appointed a member as 团长, a pickup point, and a
buyer who is a member. The orders conftest imports them."""

import pytest

from shoploop.communities import leader_services
from shoploop.communities import services as community_services
from shoploop.orders import services


@pytest.fixture
def community_owner(make_user):
    return make_user(display_name="群主老李")


@pytest.fixture
def community(community_owner):
    return community_services.create_community(
        actor=community_owner, name="幸福里邻居", tags=["邻里"]
    )


@pytest.fixture
def leader(make_user, community):
    person = make_user(display_name="团长阿梅")
    community_services.join_community(actor=person, community=community)
    return person


@pytest.fixture
def leadership(community_owner, community, leader):
    return leader_services.appoint_leader(actor=community_owner, community=community, user=leader)


@pytest.fixture
def point(leadership, leader, community):
    return services.create_pickup_point(
        actor=leader,
        community=community,
        name="幸福里 3 号楼便利店",
        address="幸福里小区 3 号楼底商",
        hours="每天 9:00–21:00",
    )


@pytest.fixture
def member_buyer(buyer, community):
    community_services.join_community(actor=buyer, community=community)
    return buyer


@pytest.fixture
def pickup_checkout(member_buyer, point, sku):
    """``pickup_checkout(*(sku, qty))`` → a checkout by the member buyer for pickup at point."""

    def run(*items, user=None):
        who = user or member_buyer
        for item, quantity in items or ((sku, 1),):
            services.add_to_cart(user=who, sku_public_id=item.public_id, quantity=quantity)
        return services.checkout(
            buyer=who, delivery_method="pickup", pickup_point_public_id=point.public_id
        )

    return run


@pytest.fixture
def shipped_pickup_order(pickup_checkout, pay, merchant):
    """A paid pickup order the shop has sent to the point."""
    checkout = pickup_checkout()
    pay(checkout)
    order = checkout.orders.get()
    return services.ship_order(order=order, actor=merchant, carrier="", tracking_number="")
