"""A task's money reward in the ledger: three posted transfers, all caused by ``crowdtask:<id>``.

- ``reserve``: merchant_available:shop → task_rewards:crowdtask:<id>, the whole reward
  (per winner × winners) when the task is published. The available account's limit counts
  pending withdrawals, so a shop can never reserve money it has promised elsewhere.
- ``pay``: task_rewards → commissions:user:<winner>, one per winner, keyed by the winner row.
  That account is a person's withdrawable balance (the one referral and 团长 commissions
  credit; ``ledger.selectors.commission_balance_fen``, ``payouts.request_beneficiary_withdrawal``).
- ``refund``: task_rewards → merchant_available, what is left when the task ends.

Each key is unique, so a retry moves nothing twice; the task account's limit means no task pays
out more than it reserved.
"""

from shoploop.ledger.models import AccountKind, Transfer
from shoploop.ledger.services.commissions import beneficiary_account
from shoploop.ledger.services.transfers import open_account, transfer

CAUSE_PREFIX = "crowdtask:"


def cause(task_public_id: str) -> str:
    return f"{CAUSE_PREFIX}{task_public_id}"


def reserve_key(task_public_id: str) -> str:
    return f"{cause(task_public_id)}:reserve"


def pay_key(task_public_id: str, winner_public_id: str) -> str:
    return f"{cause(task_public_id)}:winner:{winner_public_id}"


def refund_key(task_public_id: str) -> str:
    return f"{cause(task_public_id)}:refund"


def task_account_owner(task_public_id: str) -> str:
    return cause(task_public_id)


def _shop_available(shop_public_id: str):
    return open_account(kind=AccountKind.MERCHANT_AVAILABLE, owner_ref=f"shop:{shop_public_id}")


def _task_account(task_public_id: str):
    return open_account(kind=AccountKind.TASK_REWARDS, owner_ref=task_account_owner(task_public_id))


def reserve(*, task_public_id: str, shop_public_id: str, amount: int) -> Transfer:
    """Raises ``InsufficientFunds`` when the shop's available balance is smaller."""
    return transfer(
        key=reserve_key(task_public_id),
        debit=_shop_available(shop_public_id),
        credit=_task_account(task_public_id),
        amount=amount,
        reason="task_reward_reserved",
        cause=cause(task_public_id),
    )


def pay(*, task_public_id: str, winner_public_id: str, user_public_id: str, amount: int):
    return transfer(
        key=pay_key(task_public_id, winner_public_id),
        debit=_task_account(task_public_id),
        credit=beneficiary_account(f"user:{user_public_id}"),
        amount=amount,
        reason="task_reward_paid",
        cause=cause(task_public_id),
    )


def refund(*, task_public_id: str, shop_public_id: str, amount: int) -> Transfer:
    return transfer(
        key=refund_key(task_public_id),
        debit=_task_account(task_public_id),
        credit=_shop_available(shop_public_id),
        amount=amount,
        reason="task_reward_refunded",
        cause=cause(task_public_id),
    )
