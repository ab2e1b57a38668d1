"""The demo world reads its feeds: people open their home feed and page through it, and the demo
buyer's home page shows a populated feed."""

import pytest
from django.core.management import call_command

from shoploop.feed.models import TimelineEntry
from shoploop.feed.selectors import feed_page
from shoploop.simulation.engine import plan_world, play_world
from shoploop.simulation.parameters import WorldParameters

READERS = WorldParameters(seed=5, users=40, days=6, feed_open_rate=0.5)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        try:
            built, activities = plan_world(READERS)
            play_world(built, activities)
            yield built
        finally:
            call_command("flush", interactive=False, verbosity=0)


pytestmark = pytest.mark.django_db


def test_people_open_their_feeds_and_see_items(world):
    assert world.outcomes["feed.page"] > 0
    assert world.outcomes["feed.items"] > 0
    assert TimelineEntry.objects.exists()


def test_the_demo_buyers_home_page_shows_a_populated_feed(world, client):
    buyer = world.user(world.demo_logins["buyer"])
    assert feed_page(user=buyer).items
    client.force_login(buyer)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="card stack feed-card' in html
