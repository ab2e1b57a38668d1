"""Events with public ids, and the notifications they become for winners and entrants."""

import pytest

from shoploop.core.events import recorded_events
from shoploop.crowdtasks import services
from shoploop.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_the_events_carry_shop_and_person_public_ids(funded, post_task, entrants):
    with recorded_events() as events:
        task = post_task(funded, winners_count=1)
        entry = services.submit_entry(task=task, author=entrants[0], text="名字")
        winner = services.pick_winner(
            actor=funded.owner, task=task, entry_public_id=entry.public_id
        )
    payloads = {event.name: event.payload for event in events}
    assert payloads["crowdtasks.task.published"] == {
        "task_public_id": task.public_id,
        "shop_public_id": funded.public_id,
        "actor_public_id": funded.owner.public_id,
        "kind": "name",
        "reward_kind": "money",
        "reserved_fen": 1000,
        "winners_count": 1,
    }
    assert payloads["crowdtasks.entry.submitted"]["author_public_id"] == entrants[0].public_id
    picked = payloads["crowdtasks.task.winner_picked"]
    assert (picked["winner_public_id"], picked["user_public_id"], picked["amount_fen"]) == (
        winner.public_id,
        entrants[0].public_id,
        1000,
    )
    assert payloads["crowdtasks.task.closed"]["refunded_fen"] == 0


def test_winners_and_the_other_entrants_are_notified(money_task, entered, funded, committed):
    with committed():
        services.pick_winner(
            actor=funded.owner, task=money_task, entry_public_id=entered[0].public_id
        )
    with committed():
        services.close_due(money_task.deadline)
    won = Notification.objects.get(kind="crowdtask_won")
    assert won.recipient == entered[0].author and won.params["amount_fen"] == 1000
    ended = Notification.objects.filter(kind="crowdtask_ended")
    assert {n.recipient_id for n in ended} == {entered[1].author_id, entered[2].author_id}


def test_an_expired_task_publishes_its_refund(money_task, entered):
    with recorded_events() as events:
        services.close_due(money_task.deadline)
    expired = [event for event in events if event.name == "crowdtasks.task.expired"]
    assert len(expired) == 1 and expired[0].payload["refunded_fen"] == 2000
