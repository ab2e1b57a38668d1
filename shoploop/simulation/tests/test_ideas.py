"""Co-creation in the demo world: ideas are proposed, voted and answered (some ship with a
product, some are declined), wants carry a price band, and one wanted product becomes a
crowdfunding pre-sale; the parameters are in the world's summary."""

import pytest
from django.core.management import call_command

from shoploop.ideas.models import Idea, IdeaVote, Want, WantedProduct
from shoploop.simulation.engine import plan_world, play_world, world_summary
from shoploop.simulation.parameters import WorldParameters

CO_CREATION = WorldParameters(
    seed=7,
    users=40,
    days=10,
    idea_rate=0.8,
    idea_vote_rate=0.4,
    idea_answer_rate=0.6,
    wanted_rate=0.5,
    want_rate=0.4,
    presale_min_wants=3,
)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        try:
            built, activities = plan_world(CO_CREATION)
            play_world(built, activities)
            yield built
        finally:
            call_command("flush", interactive=False, verbosity=0)


pytestmark = pytest.mark.django_db


def test_ideas_are_proposed_voted_and_answered(world):
    assert Idea.objects.count() == world.outcomes["ideas.proposed"] > 0
    assert IdeaVote.objects.count() == world.outcomes["ideas.voted"] > 0
    for idea in Idea.objects.all():
        assert idea.vote_count == idea.votes.count()
    statuses = set(Idea.objects.values_list("status", flat=True))
    assert statuses - {"proposed"}, statuses
    for idea in Idea.objects.filter(status="shipped"):
        assert idea.shipped_product is not None and idea.shipped_product.shop_id == idea.shop_id
    refused = [key for key in world.outcomes if key.startswith("ideas.") and ".refused." in key]
    assert not refused, refused


def test_wants_and_one_presale(world):
    assert Want.objects.count() == world.outcomes["ideas.wanted"] > 0
    started = WantedProduct.objects.filter(state="presale")
    assert started.count() == world.outcomes["ideas.presale_started"] == 1
    assert started.get().project.target_kind == "units"


def test_the_parameters_are_recorded(world):
    parameters = world_summary(world)["parameters"]
    assert parameters["idea_rate"] == 0.8
    assert parameters["want_band_weights"]["50_100"] == 0.35
