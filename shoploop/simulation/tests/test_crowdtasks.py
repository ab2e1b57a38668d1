"""Crowdsourcing tasks in the demo world: tasks with money and coupon rewards, entries, winners
paid once, an unanswered task expired and refunded, and a ledger that verifies."""

import pytest
from django.core.management import call_command

from shoploop.crowdtasks.models import Entry, Task, Winner
from shoploop.ledger.verification import verify_ledger
from shoploop.simulation.engine import plan_world, play_world, world_summary
from shoploop.simulation.parameters import WorldParameters

# Eager buyers give shops money to reward; eager merchants post tasks (seed 7, 20 days).
TASKS = WorldParameters(
    seed=7,
    users=60,
    days=20,
    purchase_propensity=0.12,
    crowdtask_post_rate=0.4,
    crowdtask_entries_per_task_day=3.0,
)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        try:
            built, activities = plan_world(TASKS)
            play_world(built, activities)
            yield built
        finally:
            call_command("flush", interactive=False, verbosity=0)


pytestmark = pytest.mark.django_db


def test_tasks_entries_winners_and_an_expired_task(world):
    assert Task.objects.filter(state="expired", refunded_fen__gt=0).exists()
    assert Task.objects.filter(state="closed").exists()
    assert Entry.objects.count() == world.outcomes["crowdtask.entry"] > 0
    assert Winner.objects.count() == sum(
        world.outcomes[f"crowdtask.winner.{kind}"] for kind in ("money", "coupon")
    )
    assert world.outcomes["deadline.crowdtasks.close_due"] > 0
    money = Task.objects.filter(reward_kind="money")
    assert money.exists()
    for task in money:
        assert task.reserved_fen == task.paid_fen + task.refunded_fen + task.still_reserved_fen
        assert task.state == "open" or task.still_reserved_fen == 0
    summary = world_summary(world)["crowdtasks"]
    assert summary["winners"] == Winner.objects.count()
    assert summary["reserved_fen"] >= summary["paid_fen"] + summary["refunded_fen"]
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.checked["crowdtasks"] == Task.objects.count()
