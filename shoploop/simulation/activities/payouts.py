"""Merchants withdraw part of their available balance to a (sandbox) bank account."""

from __future__ import annotations

from shoploop.core.money import FEN_PER_YUAN
from shoploop.ledger import selectors as ledger_selectors
from shoploop.ledger.services import payouts
from shoploop.simulation.activities.base import Activity

# The sandbox bank refuses accounts ending in these digits (ledger.providers.sandbox).
FAILING_ACCOUNT_SUFFIX = "0000"


def bank_account(shop_index: int, *, failing: bool) -> str:
    """A stable 16-digit account per shop; the working ones end in 1000–9999, never 0000."""
    suffix = FAILING_ACCOUNT_SUFFIX if failing else f"{(shop_index * 7919) % 9000 + 1000:04d}"
    return f"6222{shop_index:08d}{suffix}"


class Withdrawals(Activity):
    """A merchant with money available withdraws a share of it on some days. The world's first
    ``failed_payouts`` withdrawals go to an account the sandbox bank refuses, so a failed payout
    (and the money coming back to the wallet) can be seen."""

    name = "withdraw"

    def plan(self) -> None:
        self.requested = 0

    def play_day(self, day: int) -> None:
        world = self.world
        rate = world.params.withdrawal_rate
        due = [index for index in world.approved_shops if world.rng.random() < rate]
        for index, moment in zip(due, world.moments(len(due)), strict=True):
            self._withdraw(index, day=day, at=moment)

    def _withdraw(self, index: int, *, day: int, at) -> None:
        world, params = self.world, self.world.params
        plan = world.shops[index]
        merchant = world.user(plan.owner)
        available = ledger_selectors.wallet_of(actor=merchant).available
        if available < payouts.MIN_WITHDRAWAL_FEN:
            return
        share = world.rng.randint(*params.withdrawal_share_percent)
        amount = max(
            payouts.MIN_WITHDRAWAL_FEN, available * share // 100 // FEN_PER_YUAN * FEN_PER_YUAN
        )
        failing = self.requested < params.failed_payouts
        withdrawal = world.call(
            payouts.request_withdrawal,
            at=at,
            outcome="withdrawal.requested",
            actor=merchant,
            amount=amount,
            account_holder=world.person(plan.owner).name,
            account_number=bank_account(index, failing=failing),
            request_key=f"simulated-day-{day}",
        )
        if withdrawal is not None:
            self.requested += 1


class SettleDeadlines(Activity):
    """The scheduler: ``settle_due`` at 23:59:59 of every day (expiries, auto-receipt,
    completion with fees, refund retries, payouts), each handler in its own transactions."""

    name = "deadlines"

    def play_day(self, day: int) -> None:
        world = self.world
        world.settle_deadlines(at=world.day_end(day))
