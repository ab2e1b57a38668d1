"""verify_ledger reconciles task rewards: a clean world, then one corruption at a time."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.crowdtasks import rewards, services
from shoploop.crowdtasks.models import Task, Winner
from shoploop.ledger.models import Account, AccountKind, Transfer
from shoploop.ledger.services.transfers import open_account, transfer
from shoploop.ledger.verification import verify_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(money_task, entered, funded, post_task):
    """One money task with a winner (open), one expired, one coupon-free cancelled."""
    services.pick_winner(actor=funded.owner, task=money_task, entry_public_id=entered[0].public_id)
    expired = post_task(
        funded, winners_count=1, reward_fen=500, deadline=clock.now() + timedelta(days=1)
    )
    services.close_due(expired.deadline)
    cancelled = post_task(funded, winners_count=1, reward_fen=300)
    services.cancel_task(actor=funded.owner, task=cancelled)
    money_task.refresh_from_db()
    return money_task


def _coupon(shop):
    from shoploop.coupons.services import create_coupon

    return create_coupon(
        actor=shop.owner,
        shop=shop,
        name="券",
        kind="fixed",
        amount_off_fen=100,
        starts_at=clock.now(),
        ends_at=clock.now() + timedelta(days=30),
        total_quantity=5,
    )


def _problems() -> list[str]:
    report = verify_ledger()
    return report.problems


def test_the_world_is_clean_and_counted(world):
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.checked["crowdtasks"] == 3


def test_a_paid_figure_that_disagrees_is_reported(world):
    Task.objects.filter(pk=world.pk).update(paid_fen=0)
    assert any("fen paid" in problem for problem in _problems())


def test_a_refund_left_on_an_open_task_is_reported(world):
    Task.objects.filter(pk=world.pk).update(refunded_fen=500)
    problems = _problems()
    assert any("refunded" in problem for problem in problems)


def test_an_ended_task_still_holding_money_is_reported(world):
    expired = Task.objects.get(state="expired")
    Task.objects.filter(pk=expired.pk).update(refunded_fen=0)
    problems = _problems()
    assert any("still reserved" in p or "refunded" in p for p in problems), problems


def test_a_winner_row_without_a_payment_is_reported(world, entered):
    Winner.objects.create(task=world, entry=entered[1], user=entered[1].author, amount_fen=1000)
    Task.objects.filter(pk=world.pk).update(paid_fen=2000, winners_picked=2)
    assert any("was never paid" in problem for problem in _problems())


def test_a_second_payment_for_a_task_is_reported(world, entered):
    """Balanced books, but money paid out of the reserve with no winner behind it."""
    transfer(
        key="crowdtask:bogus:winner:x",
        debit=open_account(
            kind=AccountKind.TASK_REWARDS, owner_ref=rewards.task_account_owner(world.public_id)
        ),
        credit=open_account(kind=AccountKind.COMMISSIONS, owner_ref="user:someone"),
        amount=500,
        reason="task_reward_paid",
        cause=rewards.cause(world.public_id),
    )
    problems = _problems()
    assert any("names no winner" in problem for problem in problems), problems


def test_a_reward_transfer_for_no_task_is_reported(world, funded):
    transfer(
        key="crowdtask:ghost:reserve",
        debit=open_account(
            kind=AccountKind.MERCHANT_AVAILABLE, owner_ref=f"shop:{funded.public_id}"
        ),
        credit=open_account(kind=AccountKind.TASK_REWARDS, owner_ref="crowdtask:ghost"),
        amount=100,
        reason="task_reward_reserved",
        cause="crowdtask:ghost",
    )
    assert any("no crowdsourcing task" in problem for problem in _problems())


def test_a_reservation_of_the_wrong_amount_is_reported(world):
    Task.objects.filter(pk=world.pk).update(reserved_fen=3000)
    problems = _problems()
    assert any("reservation" in problem for problem in problems), problems


def test_money_moved_for_a_coupon_task_is_reported(world):
    coupon = _coupon(world.shop)
    Task.objects.filter(pk=world.pk).update(reward_kind="coupon", reward_fen=0, coupon=coupon)
    assert any("rewards a coupon but moved money" in p for p in _problems())


def test_the_task_account_never_pays_more_than_it_reserved(world):
    from shoploop.ledger.errors import InsufficientFunds

    with pytest.raises(InsufficientFunds):
        rewards.pay(
            task_public_id=world.public_id,
            winner_public_id="extra",
            user_public_id="someone",
            amount=1001,
        )
    account = Account.objects.get(code=f"task_rewards:crowdtask:{world.public_id}")
    assert account.credit_balance == 1000
    assert not Transfer.objects.filter(idempotency_key__endswith=":winner:extra").exists()
