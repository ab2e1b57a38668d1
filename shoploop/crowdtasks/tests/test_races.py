"""PostgreSQL races: one entry per person, and a winner paid once however many picks race."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.core.testing import holding_row_lock, race
from shoploop.crowdtasks import services
from shoploop.crowdtasks.models import Entry, Task, Winner
from shoploop.ledger.models import Transfer
from shoploop.ledger.selectors import commission_balance_fen
from shoploop.ledger.verification import verify_ledger

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _codes(outcomes) -> list[str]:
    return sorted(o.code if isinstance(o, DomainError) else "ok" for o in outcomes)


def test_eight_entries_by_one_person_at_once_make_one(money_task, entrants):
    outcomes = race(
        lambda i: services.submit_entry(task=money_task, author=entrants[0], text=f"名字{i}"), 8
    )
    assert _codes(outcomes) == ["already_entered"] * 7 + ["ok"]
    assert Entry.objects.filter(task=money_task).count() == 1
    money_task.refresh_from_db()
    assert money_task.entries_count == 1


def test_eight_picks_of_one_entry_at_once_pay_once(money_task, entered, funded):
    outcomes = race(
        lambda i: services.pick_winner(
            actor=funded.owner, task=money_task, entry_public_id=entered[0].public_id
        ),
        8,
    )
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert Winner.objects.count() == 1
    assert Transfer.objects.filter(reason="task_reward_paid").count() == 1
    assert commission_balance_fen(user=entered[0].author) == 1000
    money_task.refresh_from_db()
    assert (money_task.winners_picked, money_task.paid_fen) == (1, 1000)
    assert verify_ledger().ok


def test_picks_of_three_entries_for_two_prizes_give_two(money_task, entered, funded):
    outcomes = race(
        lambda i: services.pick_winner(
            actor=funded.owner, task=money_task, entry_public_id=entered[i % 3].public_id
        ),
        6,
    )
    assert Winner.objects.count() == 2
    assert sum(isinstance(o, DomainError) and o.code == "winners_full" for o in outcomes) >= 2
    money_task.refresh_from_db()
    assert (money_task.state, money_task.paid_fen, money_task.refunded_fen) == ("closed", 2000, 0)
    assert verify_ledger().ok


def test_a_pick_racing_the_deadline_sweep_pays_or_refunds_never_both(money_task, entered, funded):
    moment = money_task.deadline - timedelta(microseconds=1)

    def work(i):
        with clock.frozen_at(moment):
            if i % 2:
                return services.close_due(money_task.deadline)
            return services.pick_winner(
                actor=funded.owner, task=money_task, entry_public_id=entered[0].public_id
            )

    race(work, 4)
    # A sweep skips a task a pick holds (SKIP LOCKED); the scheduler's next sweep ends it.
    services.close_due(money_task.deadline)
    task = Task.objects.get(pk=money_task.pk)
    assert task.state in ("closed", "expired")
    assert task.paid_fen + task.refunded_fen == 2000
    assert verify_ledger().ok


def test_an_entry_racing_a_cancel_never_leaves_an_entry_on_a_cancelled_task(
    money_task, entrants, funded
):
    def work(i):
        if i == 0:
            return services.cancel_task(actor=funded.owner, task=money_task)
        return services.submit_entry(task=money_task, author=entrants[i - 1], text="名字")

    race(work, 4)
    task = Task.objects.get(pk=money_task.pk)
    assert (task.state == "cancelled") == (task.entries_count == 0)
    assert Entry.objects.filter(task=task).count() == task.entries_count
    assert verify_ledger().ok


def test_a_sweep_skips_a_task_a_pick_holds_and_the_next_sweep_ends_it(money_task):
    with holding_row_lock(Task, money_task.pk):
        assert services.close_due(money_task.deadline) == 0
        assert Task.objects.get(pk=money_task.pk).state == Task.State.OPEN
    assert services.close_due(money_task.deadline) == 1
    task = Task.objects.get(pk=money_task.pk)
    assert (task.state, task.refunded_fen) == ("expired", 2000)
    assert verify_ledger().ok
