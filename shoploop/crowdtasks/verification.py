"""verify_ledger's reconciliation of task rewards (registered in handlers.py).

For every money task: exactly one reservation of ``reserved_fen`` from its shop's available funds
into its own task_rewards account; exactly one payment of ``amount_fen`` per winner into that
winner's person balance, summing to ``paid_fen``; a refund of ``refunded_fen`` to the shop once
the task has ended (none while it is open); ``reserved = paid + refunded + still reserved``,
where what is still reserved is the task account's balance, which is zero once the task ended.
A coupon task moves no money. Any reward transfer whose cause names no task is reported.
"""

from collections import defaultdict

from shoploop.crowdtasks import rewards
from shoploop.crowdtasks.models import Task, Winner
from shoploop.ledger.models import AccountKind
from shoploop.ledger.verification import LedgerReport, World, shop_code

REASONS = ("task_reward_reserved", "task_reward_paid", "task_reward_refunded")


def check_task_rewards(world: World, report: LedgerReport) -> None:
    winners = _winners_by_task()
    known: set[str] = set()
    columns = (
        "pk",
        "public_id",
        "state",
        "reward_kind",
        "reserved_fen",
        "paid_fen",
        "refunded_fen",
        "shop__public_id",
    )
    for task in Task.objects.values(*columns).iterator(chunk_size=2000):
        report.checked["crowdtasks"] += 1
        known.add(rewards.cause(task["public_id"]))
        _check_task(report, world, task, winners.get(task["pk"], []))
    world.orphans(report, REASONS, known, "crowdsourcing task")


def _winners_by_task() -> dict[int, list[dict]]:
    found: dict[int, list[dict]] = defaultdict(list)
    for row in Winner.objects.values("task_id", "public_id", "amount_fen", "user__public_id"):
        found[row["task_id"]].append(row)
    return found


def _check_task(report: LedgerReport, world: World, task: dict, winners: list[dict]) -> None:
    name = f"crowdtask {task['public_id']} ({task['state']})"
    cause = rewards.cause(task["public_id"])
    reserved = world.named("task_reward_reserved", cause)
    paid = world.named("task_reward_paid", cause)
    refunded = world.named("task_reward_refunded", cause)
    if task["reward_kind"] != Task.RewardKind.MONEY:
        if reserved or paid or refunded or task["reserved_fen"] or task["paid_fen"]:
            report.problems.append(f"{name} rewards a coupon but moved money")
        return
    account = f"{AccountKind.TASK_REWARDS}:{rewards.task_account_owner(task['public_id'])}"
    available = shop_code(AccountKind.MERCHANT_AVAILABLE, task["shop__public_id"])
    World._one_of_amount(report, name, "reservation", reserved, task["reserved_fen"])
    if reserved and (reserved[0].debit, reserved[0].credit) != (available, account):
        report.problems.append(f"{name} was reserved {reserved[0].debit} → {reserved[0].credit}")
    _check_payments(report, name, task, paid, winners, account)
    _check_refund(report, name, task, refunded, account, available)
    moved_out = sum(move.amount for move in paid + refunded)
    moved_in = sum(move.amount for move in reserved)
    still = task["reserved_fen"] - task["paid_fen"] - task["refunded_fen"]
    if moved_in - moved_out != still:
        report.problems.append(
            f"{name}: reserved {task['reserved_fen']} = paid {task['paid_fen']} + refunded "
            f"{task['refunded_fen']} + {still} still reserved, but its account holds "
            f"{moved_in - moved_out}"
        )
    if task["state"] != Task.State.OPEN and still:
        report.problems.append(f"{name} has ended but {still} fen are still reserved")


def _check_payments(report, name, task, paid, winners, account) -> None:
    by_key = {move.key: move for move in paid}
    expected_keys = set()
    for winner in winners:
        key = rewards.pay_key(task["public_id"], winner["public_id"])
        expected_keys.add(key)
        move = by_key.get(key)
        person = f"{AccountKind.COMMISSIONS}:user:{winner['user__public_id']}"
        if move is None:
            report.problems.append(f"{name}: winner {winner['public_id']} was never paid")
        elif (move.amount, move.debit, move.credit) != (winner["amount_fen"], account, person):
            report.problems.append(
                f"{name}: winner {winner['public_id']} was paid {move.amount} fen "
                f"{move.debit} → {move.credit}, expected {winner['amount_fen']} to {person}"
            )
    for key in sorted(set(by_key) - expected_keys):
        report.problems.append(f"{name}: payment {key} names no winner")
    rows = sum(winner["amount_fen"] for winner in winners)
    if rows != task["paid_fen"] or sum(move.amount for move in paid) != task["paid_fen"]:
        report.problems.append(
            f"{name} says {task['paid_fen']} fen paid; its winners got {rows}, the ledger "
            f"moved {sum(move.amount for move in paid)}"
        )


def _check_refund(report, name, task, refunded, account, available) -> None:
    if task["state"] == Task.State.OPEN or not task["refunded_fen"]:
        if refunded or task["refunded_fen"]:
            report.problems.append(f"{name} refunded {len(refunded)} times while nothing was due")
        return
    World._one_of_amount(report, name, "refund", refunded, task["refunded_fen"])
    if refunded and (refunded[0].debit, refunded[0].credit) != (account, available):
        report.problems.append(f"{name} was refunded {refunded[0].debit} → {refunded[0].credit}")
