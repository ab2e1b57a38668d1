"""The demo world reads its feeds: people open their home feed and page through it, the demo
buyer's home page shows a populated feed, and the people who share their activity put their
purchases and deals in their followers' feeds."""

import pytest
from django.core.management import call_command

from shoploop.accounts.models import User
from shoploop.feed.models import TimelineEntry
from shoploop.feed.selectors import FRIEND_REASONS, feed_page
from shoploop.simulation.activities.people import draw_activity_sharers
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


def test_people_who_share_put_their_purchases_and_deals_in_their_followers_feeds(world):
    sharing = User.objects.filter(share_activity_with_followers=True)
    planned = draw_activity_sharers(READERS)
    assert 0 < sharing.count() == world.outcomes["user.shares_activity"] == len(planned)
    assert sharing.count() < READERS.users
    assert set(sharing.values_list("pk", flat=True)) == {world.user(i).pk for i in planned}
    friends = TimelineEntry.objects.filter(reason__in=FRIEND_REASONS)
    assert friends.exists()
    # Only from people who share, and some of them still on a follower's page.
    assert set(friends.values_list("actor_id", flat=True)) <= set(
        sharing.values_list("pk", flat=True)
    )
    readers = User.objects.filter(pk__in=friends.values("reader_id")).order_by("pk")
    shown = [
        item
        for reader in readers
        for item in feed_page(user=reader, order="latest", limit=50).items
        if item.reason in FRIEND_REASONS
    ]
    assert shown
