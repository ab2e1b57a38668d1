"""The world plays pickup: communities get a 团长 and a point, some buyers pick up there and the
团长 collects; the ledger stays clean."""

import pytest

from shoploop.communities.models import CommunityLeader
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import LeaderCommission, Order, PickupPoint
from shoploop.simulation.engine import plan_world, play_world
from shoploop.simulation.parameters import WorldParameters


@pytest.mark.django_db(transaction=True)
def test_the_world_picks_up_at_community_points():
    params = WorldParameters(
        seed=11,
        users=40,
        days=14,
        purchase_propensity=0.15,
        pickup_community_share=1.0,
        pickup_choice_rate=0.8,
    )
    world, activities = plan_world(params)
    play_world(world, activities)
    assert CommunityLeader.objects.exists()
    assert PickupPoint.objects.exists()
    pickups = Order.objects.filter(delivery_method="pickup")
    assert pickups.exists(), dict(world.outcomes)
    assert world.outcomes["pickup.point_opened"] == PickupPoint.objects.count()
    collected = pickups.filter(state__in=["received", "completed"])
    assert collected.exists() and world.outcomes["pickup.collected"]
    assert not pickups.exclude(ship_street="").exists()
    # Every paid pickup order with a commission accrued it once through the ledger.
    owed = pickups.filter(paid_at__isnull=False, leader_commission_fen__gt=0)
    assert owed.exists()
    assert LeaderCommission.objects.count() == owed.count()
    available = LeaderCommission.objects.filter(state="available").count()
    assert available == owed.filter(state="completed").count()
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.checked["commissions"] >= owed.count()
