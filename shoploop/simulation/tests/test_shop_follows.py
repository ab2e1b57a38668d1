"""Shop follows in the demo world: members of the communities a shop is listed in follow it at
the rate that shop drew, never their own shop, and the rates are recorded for insights."""

import pytest
from django.core.management import call_command

from shoploop.catalog.models import ShopFollow
from shoploop.simulation.engine import plan_world, play_world, world_summary
from shoploop.simulation.parameters import WorldParameters

FOLLOWERS = WorldParameters(seed=5, users=40, days=8, shop_follow_rate=(0.2, 0.4))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        try:
            built, activities = plan_world(FOLLOWERS)
            play_world(built, activities)
            yield built
        finally:
            call_command("flush", interactive=False, verbosity=0)


pytestmark = pytest.mark.django_db


def test_shops_get_followers_at_recorded_rates(world):
    follows = ShopFollow.objects.select_related("shop")
    assert follows.count() == world.outcomes["catalog.shop_follow"] > 0
    assert not any(link.follower_id == link.shop.owner_id for link in follows)
    rates = world_summary(world)["shop_follow_rates"]
    assert rates and all(0.2 <= r["follow_rate"] <= 0.4 for r in rates)
