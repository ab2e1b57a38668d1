"""A simulated world yields notifications: the subscribers fire on the events the services
publish while ``simulate`` plays, with nothing simulation-specific."""

import io

import pytest
from django.core.management import call_command

from shoploop.core.events import recorded_events
from shoploop.notifications.handlers import SUBSCRIPTIONS
from shoploop.notifications.models import Notification

# Committed, like the real command: events are delivered on commit.
pytestmark = pytest.mark.django_db(transaction=True)

# Which notification an event of the world must have produced for someone.
EXPECTED = {
    "orders.order.paid": "order_paid",
    "orders.order.shipped": "order_shipped",
    "deals.group.completed": "group_completed",
    "accounts.user.followed": "new_follower",
    "bargains.bargain.helped": "bargain_helped",
}


def test_a_simulated_world_yields_notifications(tmp_path):
    with recorded_events() as events:
        call_command(
            "simulate",
            seed=11,
            users=40,
            days=3,
            quiet=True,
            world_file=tmp_path / "world.json",
            stdout=io.StringIO(),
        )
    published = {event.name for event in events}
    assert published & set(SUBSCRIPTIONS), sorted(published)
    made = set(Notification.objects.values_list("kind", flat=True))
    assert made, sorted(published)
    for event, kind in EXPECTED.items():
        if event in published:
            assert kind in made, (event, sorted(made))
