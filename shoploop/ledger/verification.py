"""Prove that no fen was created or lost, and that the ledger tells the same story as the world.

Two layers:

- ``verify_books`` — the transfer engine's own invariants: every cached balance equals the sums
  of its transfers, limited accounts are within their limits, debits equal credits (posted and
  pending), and every resolution resolves one hold once, on the hold's accounts, for no more than
  it held.
- ``verify_ledger`` — the books plus a reconciliation with the rows the money belongs to: each
  transfer is one of the known money flows (money enters only through a provider clearing account
  and leaves only through refunds and payouts); each capture, refund and payout matches exactly
  one payment, refund or withdrawal row in the state that row claims, for the same amount; each
  clearing account equals what its provider reported; each order's holds match the order's state.

Balanced books alone prove little: a transfer that creates ¥10,000 for a merchant out of the
refunds account is balanced. The reconciliation is what catches it.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Count, Exists, OuterRef, Sum

from shoploop.ledger.models import (
    Account,
    AccountKind,
    Limit,
    Payment,
    Refund,
    Transfer,
    TransferKind,
    Withdrawal,
)

POSTED_KINDS = (TransferKind.SINGLE, TransferKind.POST)
HOLD_KINDS = (TransferKind.PENDING, TransferKind.POST, TransferKind.VOID)


@dataclass(frozen=True)
class Flow:
    """One way money may move: from which kind of account to which, as which transfer kinds, and
    the row the transfer's ``cause`` must name."""

    debit: str | tuple[str, ...]  # one kind, or any of several
    credit: str
    kinds: tuple[str, ...]
    cause_prefix: str

    @property
    def debits(self) -> tuple[str, ...]:
        return self.debit if isinstance(self.debit, tuple) else (self.debit,)


# Every money movement the platform makes (see payments.py, payouts.py, orders/services.py).
# A transfer whose reason is not here, or that moves other kinds of account, is money from nowhere.
FLOWS = {
    "payment_captured": Flow(
        AccountKind.PROVIDER_CLEARING, AccountKind.BUYER_ESCROW, (TransferKind.SINGLE,), "payment:"
    ),
    "refund_requested": Flow(
        AccountKind.BUYER_ESCROW, AccountKind.REFUNDS, (TransferKind.SINGLE,), "refund:"
    ),
    "refund_paid_out": Flow(
        AccountKind.REFUNDS, AccountKind.PROVIDER_CLEARING, (TransferKind.SINGLE,), "refund:"
    ),
    "order_hold": Flow(
        AccountKind.BUYER_ESCROW, AccountKind.MERCHANT_PENDING, HOLD_KINDS, "order:"
    ),
    "order_completed": Flow(
        AccountKind.MERCHANT_PENDING,
        AccountKind.MERCHANT_AVAILABLE,
        (TransferKind.SINGLE,),
        "order:",
    ),
    "platform_fee": Flow(
        AccountKind.MERCHANT_PENDING, AccountKind.PLATFORM_FEES, (TransferKind.SINGLE,), "order:"
    ),
    "withdrawal": Flow(
        AccountKind.MERCHANT_AVAILABLE, AccountKind.PAYOUTS_IN_TRANSIT, HOLD_KINDS, "withdrawal:"
    ),
    "withdrawal_paid": Flow(
        AccountKind.PAYOUTS_IN_TRANSIT,
        AccountKind.PROVIDER_CLEARING,
        (TransferKind.SINGLE,),
        "withdrawal:",
    ),
    # A beneficiary (promoter) withdrawing available commissions (services/payouts.py).
    "commission_withdrawal": Flow(
        AccountKind.COMMISSIONS, AccountKind.PAYOUTS_IN_TRANSIT, HOLD_KINDS, "withdrawal:"
    ),
    # A commission: frozen as a hold the shop owes, posted when released, voided when reversed.
    # The order's completion keeps its frozen commissions back from the shop's share (named by
    # the order, keyed by the commission); the shop settles each from there when it is released,
    # or from its available funds if nothing was kept back (services/commissions.py).
    "commission": Flow(
        AccountKind.COMMISSIONS_PAYABLE, AccountKind.COMMISSIONS, HOLD_KINDS, "commission:"
    ),
    "commission_reserved": Flow(
        AccountKind.MERCHANT_PENDING,
        AccountKind.COMMISSIONS_RESERVED,
        (TransferKind.SINGLE,),
        "order:",
    ),
    "commission_settled": Flow(
        (AccountKind.COMMISSIONS_RESERVED, AccountKind.MERCHANT_AVAILABLE),
        AccountKind.COMMISSIONS_PAYABLE,
        (TransferKind.SINGLE,),
        "commission:",
    ),
    # A crowdsourcing task's money reward: reserved from the shop's available funds when the task
    # is published, paid to each winner's person balance, the rest returned to the shop when the
    # task ends (crowdtasks/rewards.py; reconciled by crowdtasks/verification.py).
    "task_reward_reserved": Flow(
        AccountKind.MERCHANT_AVAILABLE,
        AccountKind.TASK_REWARDS,
        (TransferKind.SINGLE,),
        "crowdtask:",
    ),
    "task_reward_paid": Flow(
        AccountKind.TASK_REWARDS, AccountKind.COMMISSIONS, (TransferKind.SINGLE,), "crowdtask:"
    ),
    "task_reward_refunded": Flow(
        AccountKind.TASK_REWARDS,
        AccountKind.MERCHANT_AVAILABLE,
        (TransferKind.SINGLE,),
        "crowdtask:",
    ),
}


@dataclass(frozen=True)
class CommissionClaim:
    """What a commission row claims, for the reconciliation: its ``ref`` (the transfers' cause),
    state (``frozen``, ``available``, ``reversed``), current amount and hold version, the shop
    that pays it and the beneficiary's account owner (``user:<public_id>``)."""

    ref: str
    state: str
    amount: int
    version: int
    shop_public_id: str
    beneficiary_ref: str


# Apps that own commission rows register a function listing their claims (referrals today).
_commission_sources: dict[str, "Callable[[], Iterable[CommissionClaim]]"] = {}


def register_commission_source(name: str, source) -> None:
    _commission_sources[name] = source


# Apps whose rows own other money flows register a check of the world (crowdtasks' rewards):
# ``check(world, report)`` reconciles their transfers with their rows and reports orphans.
_world_checks: dict[str, "Callable[[World, LedgerReport], None]"] = {}


def register_world_check(name: str, check) -> None:
    _world_checks[name] = check


@dataclass
class LedgerReport:
    accounts: int = 0
    transfers: int = 0
    open_holds: int = 0
    posted_total: int = 0
    # What the reconciliation looked at, per kind ("captures": 12, "orders": 30, …).
    checked: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        line = (
            f"verify_ledger: accounts={self.accounts} transfers={self.transfers} "
            f"open_holds={self.open_holds} posted_fen={self.posted_total} "
            f"problems={len(self.problems)}"
        )
        if self.checked:
            counts = " ".join(f"{kind}={n}" for kind, n in sorted(self.checked.items()))
            line += f"\nchecked: {counts}"
        return line


def verify_ledger() -> LedgerReport:
    """The books, then their reconciliation with payments, refunds, withdrawals and orders."""
    report = verify_books()
    World.load().check(report)
    return report


# --- the books -------------------------------------------------------------------------------


def _sums(kinds, side: str, *, open_holds_only: bool = False) -> dict[int, int]:
    rows = Transfer.objects.filter(kind__in=kinds)
    if open_holds_only:
        rows = rows.filter(~Exists(Transfer.objects.filter(pending=OuterRef("pk"))))
    column = f"{side}_account"
    return {
        row[column]: row["total"]
        for row in rows.values(column).annotate(total=Sum("amount")).order_by()
    }


def recomputed_balances() -> dict[int, dict[str, int]]:
    balances: dict[int, dict[str, int]] = defaultdict(
        lambda: {"debits_pending": 0, "debits_posted": 0, "credits_pending": 0, "credits_posted": 0}
    )
    for side in ("debit", "credit"):
        for account_id, total in _sums(POSTED_KINDS, side).items():
            balances[account_id][f"{side}s_posted"] = total
        for account_id, total in _sums([TransferKind.PENDING], side, open_holds_only=True).items():
            balances[account_id][f"{side}s_pending"] = total
    return balances


def verify_books() -> LedgerReport:
    """The transfer engine's invariants only (what tests of bare transfers can rely on)."""
    report = LedgerReport()
    recomputed = recomputed_balances()
    totals = defaultdict(int)
    for account in Account.objects.order_by("pk").iterator(chunk_size=2000):
        report.accounts += 1
        expected = recomputed.get(account.pk, recomputed.default_factory())
        for name, value in expected.items():
            cached = getattr(account, name)
            totals[name] += cached
            if cached != value:
                report.problems.append(f"{account.code}: cached {name}={cached}, sums to {value}")
        _check_limit(report, account, expected)
    if totals["debits_posted"] != totals["credits_posted"]:
        report.problems.append(
            f"posted debits {totals['debits_posted']} != credits {totals['credits_posted']}"
        )
    if totals["debits_pending"] != totals["credits_pending"]:
        report.problems.append(
            f"pending debits {totals['debits_pending']} != credits {totals['credits_pending']}"
        )
    report.posted_total = totals["debits_posted"]
    report.transfers = Transfer.objects.count()
    report.open_holds = (
        Transfer.objects.filter(kind=TransferKind.PENDING)
        .filter(~Exists(Transfer.objects.filter(pending=OuterRef("pk"))))
        .count()
    )
    _check_resolutions(report)
    return report


def _check_limit(report: LedgerReport, account: Account, expected: dict[str, int]) -> None:
    if account.limit == Limit.DEBITS_MUST_NOT_EXCEED_CREDITS and (
        expected["debits_posted"] + expected["debits_pending"] > expected["credits_posted"]
    ):
        report.problems.append(f"{account.code}: debits exceed credits")
    if account.limit == Limit.CREDITS_MUST_NOT_EXCEED_DEBITS and (
        expected["credits_posted"] + expected["credits_pending"] > expected["debits_posted"]
    ):
        report.problems.append(f"{account.code}: credits exceed debits")


def _check_resolutions(report: LedgerReport) -> None:
    twice = (
        Transfer.objects.filter(pending__isnull=False)
        .values("pending")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by()
    )
    for row in twice:
        report.problems.append(f"hold {row['pending']} resolved {row['n']} times")
    resolutions = Transfer.objects.filter(pending__isnull=False).select_related("pending")
    for resolution in resolutions.iterator(chunk_size=2000):
        hold = resolution.pending
        if hold.kind != TransferKind.PENDING:
            report.problems.append(f"{resolution.public_id} resolves a non-hold")
        if (resolution.debit_account_id, resolution.credit_account_id) != (
            hold.debit_account_id,
            hold.credit_account_id,
        ):
            report.problems.append(f"{resolution.public_id} moves other accounts than its hold")
        if resolution.amount > hold.amount or (
            resolution.kind == TransferKind.VOID and resolution.amount != hold.amount
        ):
            report.problems.append(f"{resolution.public_id} amount does not match its hold")


# --- the world -------------------------------------------------------------------------------


@dataclass
class Move:
    """A transfer as the reconciliation needs it."""

    pk: int
    public_id: str
    key: str
    kind: str
    debit: str  # account codes
    credit: str
    amount: int
    reason: str
    cause: str
    resolution: "Move | None" = None

    @property
    def state(self) -> str:
        """A hold's fate: open, post or void."""
        return self.resolution.kind if self.resolution else "open"


def clearing_code(provider: str) -> str:
    return f"{AccountKind.PROVIDER_CLEARING}:{provider}"


def escrow_code(payment_public_id: str) -> str:
    return f"{AccountKind.BUYER_ESCROW}:payment:{payment_public_id}"


def shop_code(kind: str, shop_public_id: str) -> str:
    return f"{kind}:shop:{shop_public_id}"


@dataclass
class World:
    """Every transfer, grouped by (reason, cause), next to the rows it must agree with."""

    moves: list[Move]
    account_kinds: dict[str, str]
    by_cause: dict[tuple[str, str], list[Move]]
    by_key: dict[str, Move] = field(default_factory=dict)

    @classmethod
    def load(cls) -> "World":
        accounts = dict(Account.objects.values_list("pk", "code"))
        kinds = dict(Account.objects.values_list("code", "kind"))
        moves: dict[int, Move] = {}
        pending_of: dict[int, int] = {}
        columns = (
            "pk",
            "public_id",
            "idempotency_key",
            "kind",
            "debit_account_id",
            "credit_account_id",
            "amount",
            "reason",
            "cause",
            "pending_id",
        )
        for row in Transfer.objects.order_by("pk").values_list(*columns).iterator(2000):
            pk, public_id, key, kind, debit, credit, amount, reason, cause, pending_id = row
            moves[pk] = Move(
                pk, public_id, key, kind, accounts[debit], accounts[credit], amount, reason, cause
            )
            if pending_id is not None:
                pending_of[pk] = pending_id
        for pk, hold_pk in pending_of.items():
            if hold_pk in moves:
                moves[hold_pk].resolution = moves[pk]
        by_cause: dict[tuple[str, str], list[Move]] = defaultdict(list)
        for move in moves.values():
            if move.kind in (TransferKind.SINGLE, TransferKind.PENDING):
                by_cause[(move.reason, move.cause)].append(move)
        by_key = {move.key: move for move in moves.values()}
        return cls(list(moves.values()), kinds, by_cause, by_key)

    def named(self, reason: str, cause: str) -> list[Move]:
        return self.by_cause.get((reason, cause), [])

    def check(self, report: LedgerReport) -> None:
        self.check_flows(report)
        payments = self.check_payments(report)
        self.check_refunds(report, payments)
        self.check_withdrawals(report)
        self.check_commissions(report)
        self.check_clearing(report, payments)
        self.check_orders(report)
        for name in sorted(_world_checks):
            _world_checks[name](self, report)

    # Money enters only through clearing accounts and leaves only through refunds and payouts.
    def check_flows(self, report: LedgerReport) -> None:
        for move in self.moves:
            report.checked["transfers"] += 1
            flow = FLOWS.get(move.reason)
            if flow is None:
                report.problems.append(
                    f"transfer {move.public_id}: unknown money flow {move.reason!r} "
                    f"({move.debit} → {move.credit}, {move.amount} fen)"
                )
                continue
            moved = (self.account_kinds[move.debit], self.account_kinds[move.credit])
            if (
                moved[0] not in flow.debits
                or moved[1] != flow.credit
                or move.kind not in flow.kinds
            ):
                report.problems.append(
                    f"transfer {move.public_id}: {move.reason} may not move {move.kind} "
                    f"{move.debit} → {move.credit}"
                )
            if not move.cause.startswith(flow.cause_prefix):
                report.problems.append(
                    f"transfer {move.public_id}: {move.reason} names no {flow.cause_prefix[:-1]} "
                    f"(cause {move.cause!r})"
                )

    def orphans(self, report, reasons, known: set[str], what: str) -> None:
        """Report every transfer of ``reasons`` whose cause is not in ``known``."""
        self._orphans(report, reasons, known, what)

    def _orphans(self, report, reasons, known: set[str], what: str) -> None:
        for reason in reasons:
            for (moved_reason, cause), found in self.by_cause.items():
                if moved_reason == reason and cause not in known:
                    for move in found:
                        report.problems.append(
                            f"transfer {move.public_id}: {reason} for {cause!r}, which is no {what}"
                        )

    def check_payments(self, report: LedgerReport) -> dict[int, dict]:
        """Each captured payment has exactly one capture of its amount into its own escrow."""
        payments = {
            row["pk"]: row
            for row in Payment.objects.values(
                "pk", "public_id", "amount", "provider", "state", "captured_fen", "refunded_fen"
            )
        }
        for payment in payments.values():
            report.checked["payments"] += 1
            name = f"payment {payment['public_id']}"
            captures = self.named("payment_captured", f"payment:{payment['public_id']}")
            report.checked["captures"] += len(captures)
            if payment["state"] == Payment.State.SUCCEEDED and not payment["captured_fen"]:
                report.problems.append(f"{name} is marked paid but captured nothing")
            if payment["captured_fen"] and payment["state"] in (
                Payment.State.REQUIRES_PAYMENT,
                Payment.State.PROCESSING,
            ):
                report.problems.append(f"{name} captured money but is still {payment['state']}")
            if payment["captured_fen"] == 0:
                if captures:
                    report.problems.append(f"{name} captured nothing but the ledger has a capture")
                continue
            if len(captures) != 1:
                report.problems.append(
                    f"{name} captured {payment['captured_fen']} fen; the ledger has "
                    f"{len(captures)} captures"
                )
                continue
            capture = captures[0]
            if capture.amount != payment["captured_fen"]:
                report.problems.append(
                    f"{name} captured {payment['captured_fen']} fen; its capture "
                    f"{capture.public_id} moved {capture.amount}"
                )
            expected = (clearing_code(payment["provider"]), escrow_code(payment["public_id"]))
            if (capture.debit, capture.credit) != expected:
                report.problems.append(
                    f"{name}: capture {capture.public_id} moved {capture.debit} → "
                    f"{capture.credit}, not {expected[0]} → {expected[1]}"
                )
        known = {f"payment:{p['public_id']}" for p in payments.values()}
        self._orphans(report, ["payment_captured"], known, "payment")
        return payments

    def check_refunds(self, report: LedgerReport, payments: dict[int, dict]) -> None:
        """Each refund row: one escrow → refunds transfer at once, one refunds → clearing transfer
        when (and only when) the provider paid it; a payment's refunded figure is their sum."""
        refunded_by_payment: dict[int, int] = defaultdict(int)
        requested_by_escrow: dict[str, int] = defaultdict(int)
        for move in self.moves:
            if move.reason == "refund_requested":
                requested_by_escrow[move.debit] += move.amount
        refunds = list(Refund.objects.values("public_id", "payment_id", "amount", "state"))
        for refund in refunds:
            report.checked["refunds"] += 1
            payment = payments[refund["payment_id"]]
            name = f"refund {refund['public_id']}"
            cause = f"refund:{refund['public_id']}"
            refunded_by_payment[refund["payment_id"]] += refund["amount"]
            requested = self.named("refund_requested", cause)
            paid_out = self.named("refund_paid_out", cause)
            self._one_of_amount(report, name, "refund request", requested, refund["amount"])
            if requested and requested[0].debit != escrow_code(payment["public_id"]):
                report.problems.append(
                    f"{name} was taken from {requested[0].debit}, not its payment's escrow"
                )
            if refund["state"] == Refund.State.SUCCEEDED:
                self._one_of_amount(report, name, "refund payout", paid_out, refund["amount"])
                if paid_out and paid_out[0].credit != clearing_code(payment["provider"]):
                    report.problems.append(
                        f"{name} was paid out to {paid_out[0].credit}, not its provider"
                    )
            elif paid_out:
                report.problems.append(f"{name} is {refund['state']} but the ledger paid it out")
        for payment in payments.values():
            name = f"payment {payment['public_id']}"
            rows = refunded_by_payment[payment["pk"]]
            moved = requested_by_escrow[escrow_code(payment["public_id"])]
            if payment["refunded_fen"] != rows or payment["refunded_fen"] != moved:
                report.problems.append(
                    f"{name} says {payment['refunded_fen']} fen refunded; its refunds total "
                    f"{rows}, the ledger moved {moved}"
                )
        known = {f"refund:{refund['public_id']}" for refund in refunds}
        self._orphans(report, ["refund_requested", "refund_paid_out"], known, "refund")

    def check_withdrawals(self, report: LedgerReport) -> None:
        """Each withdrawal: one hold on the shop's available funds, posted and paid out when paid,
        voided when failed, open while pending."""
        withdrawals = list(
            Withdrawal.objects.values(
                "public_id", "amount", "state", "shop__public_id", "beneficiary_ref"
            )
        )
        fate = {
            Withdrawal.State.PENDING: "open",
            Withdrawal.State.PAID: TransferKind.POST,
            Withdrawal.State.FAILED: TransferKind.VOID,
        }
        for withdrawal in withdrawals:
            report.checked["withdrawals"] += 1
            name = f"withdrawal {withdrawal['public_id']}"
            cause = f"withdrawal:{withdrawal['public_id']}"
            holds = self.named("withdrawal", cause) + self.named("commission_withdrawal", cause)
            paid = self.named("withdrawal_paid", cause)
            report.checked["payouts"] += len(paid)
            self._one_of_amount(report, name, "hold", holds, withdrawal["amount"])
            if len(holds) == 1:
                hold = holds[0]
                expected = (
                    shop_code(AccountKind.MERCHANT_AVAILABLE, withdrawal["shop__public_id"])
                    if withdrawal["shop__public_id"]
                    else f"{AccountKind.COMMISSIONS}:{withdrawal['beneficiary_ref']}"
                )
                if hold.debit != expected:
                    report.problems.append(f"{name} was held on {hold.debit}, not {expected}")
                if hold.state != fate[withdrawal["state"]]:
                    report.problems.append(
                        f"{name} is {withdrawal['state']} but its hold is {hold.state}"
                    )
                if hold.resolution and hold.resolution.amount != hold.amount:
                    report.problems.append(f"{name}: its hold was resolved for another amount")
            if withdrawal["state"] == Withdrawal.State.PAID:
                self._one_of_amount(report, name, "payout", paid, withdrawal["amount"])
            elif paid:
                report.problems.append(f"{name} is {withdrawal['state']} but was paid out")
        known = {f"withdrawal:{w['public_id']}" for w in withdrawals}
        reasons = ["withdrawal", "commission_withdrawal", "withdrawal_paid"]
        self._orphans(report, reasons, known, "withdrawal")

    def check_commissions(self, report: LedgerReport) -> None:
        """Each commission row: its current hold open (frozen), posted and settled once
        (available) or nothing held (reversed), for its amount, on its shop and beneficiary;
        every earlier version voided. Any commission transfer naming no row is reported."""
        known: set[str] = set()
        for source in _commission_sources.values():
            for claim in source():
                report.checked["commissions"] += 1
                known.add(claim.ref)
                _check_commission(report, claim, self)
        self._orphans(report, ["commission", "commission_settled"], known, "commission")
        for (reason, _cause), found in self.by_cause.items():
            if reason != "commission_reserved":
                continue
            for move in found:
                if not move.key.endswith(":reserve") or move.key[: -len(":reserve")] not in known:
                    report.problems.append(
                        f"transfer {move.public_id}: commission_reserved keyed {move.key!r}, "
                        "which is no commission"
                    )

    def check_clearing(self, report: LedgerReport, payments: dict[int, dict]) -> None:
        """A provider clearing account took in exactly what its payments captured and gave back
        exactly what its refunds were paid."""
        captured: dict[str, int] = defaultdict(int)
        for payment in payments.values():
            captured[clearing_code(payment["provider"])] += payment["captured_fen"]
        refunded: dict[str, int] = defaultdict(int)
        for row in (
            Refund.objects.filter(state=Refund.State.SUCCEEDED)
            .values("payment__provider")
            .annotate(total=Sum("amount"))
            .order_by()
        ):
            refunded[clearing_code(row["payment__provider"])] += row["total"]
        ledger_in: dict[str, int] = defaultdict(int)
        ledger_out: dict[str, int] = defaultdict(int)
        for move in self.moves:
            if self.account_kinds[move.debit] == AccountKind.PROVIDER_CLEARING:
                ledger_in[move.debit] += move.amount
            if move.reason == "refund_paid_out":
                ledger_out[move.credit] += move.amount
        clearing = {
            code
            for code, kind in self.account_kinds.items()
            if kind == AccountKind.PROVIDER_CLEARING
        }
        for code in sorted(clearing | set(captured)):
            report.checked["clearing_accounts"] += 1
            if ledger_in[code] != captured[code]:
                report.problems.append(
                    f"{code} took in {ledger_in[code]} fen; its payments captured {captured[code]}"
                )
            if ledger_out[code] != refunded[code]:
                report.problems.append(
                    f"{code} refunded {ledger_out[code]} fen; its refunds paid {refunded[code]}"
                )

    def check_orders(self, report: LedgerReport) -> None:
        """Each order's holds follow its life: none before payment, the first for the whole total,
        the open one for what is still owed (partial refunds summed), posted once when completed,
        all voided when cancelled; a completed order's share and fee add up to the posted hold."""
        order_model = apps.get_model("orders", "Order")
        refunds = self._order_refunds()
        columns = (
            "public_id",
            "state",
            "total_fen",
            "refunded_fen",
            "fee_fen",
            "has_hold",
            "hold_version",
            "shop__public_id",
            "checkout__payment_public_id",
        )
        known = set()
        for order in order_model.objects.values(*columns).iterator(chunk_size=2000):
            report.checked["orders"] += 1
            ref = f"order:{order['public_id']}"
            known.add(ref)
            holds = self.named("order_hold", ref)
            report.checked["holds"] += len(holds)
            _check_order(report, order, holds, self, refunds.get(ref, 0))
        reasons = ["order_hold", "order_completed", "platform_fee", "commission_reserved"]
        self._orphans(report, reasons, known, "order")

    def _order_refunds(self) -> dict[str, int]:
        """Refund rows per order ref: cancellations, late payments and accepted after-sales."""
        after_sale = apps.get_model("orders", "AfterSale")
        owner = {
            f"after_sale:{row['public_id']}:refund": f"order:{row['order__public_id']}"
            for row in after_sale.objects.values("public_id", "order__public_id")
        }
        totals: dict[str, int] = defaultdict(int)
        for key, amount in Refund.objects.values_list("key", "amount"):
            if key in owner:
                totals[owner[key]] += amount
            elif key.startswith("order:") and key.rsplit(":", 1)[-1] in ("cancel", "late"):
                totals[key.split(":refund:")[0]] += amount
        return totals

    @staticmethod
    def _one_of_amount(report, name: str, what: str, found: list[Move], amount: int) -> None:
        if len(found) != 1:
            report.problems.append(f"{name} has {len(found)} {what} transfers, expected 1")
        elif found[0].amount != amount:
            report.problems.append(
                f"{name} is {amount} fen but its {what} {found[0].public_id} "
                f"moved {found[0].amount}"
            )


def order_hold_key(order_public_id: str, version: int) -> str:
    """The orders app's key for an order's hold of a given version (orders/services.py)."""
    return f"order:{order_public_id}:hold" + (f":{version}" if version else "")


def _check_order(report: LedgerReport, order: dict, holds: list[Move], world: World, refunds: int):
    state = order["state"]
    name = f"order {order['public_id']} ({state})"
    ref = f"order:{order['public_id']}"
    net = order["total_fen"] - order["refunded_fen"]
    if order["refunded_fen"] != refunds:
        report.problems.append(
            f"{name} says {order['refunded_fen']} fen refunded; its refunds total {refunds}"
        )
    open_holds = [hold for hold in holds if hold.state == "open"]
    posted = [hold for hold in holds if hold.state == TransferKind.POST]
    if state == "pending_payment" and holds:
        report.problems.append(f"{name} is unpaid but holds money")
    if holds:
        first = min(holds, key=lambda hold: hold.pk)
        if first.amount != order["total_fen"]:
            report.problems.append(
                f"{name} totals {order['total_fen']} fen but its first hold was {first.amount}"
            )
        payment = order["checkout__payment_public_id"]
        expected = (
            escrow_code(payment),
            shop_code(AccountKind.MERCHANT_PENDING, order["shop__public_id"]),
        )
        for hold in holds:
            if (hold.debit, hold.credit) != expected:
                report.problems.append(f"{name}: hold {hold.public_id} moves other accounts")
    if order["has_hold"]:
        current = order_hold_key(order["public_id"], order["hold_version"])
        if [hold.key for hold in open_holds] != [current]:
            report.problems.append(f"{name} should hold only {current}; open: {len(open_holds)}")
        elif open_holds[0].amount != net:
            report.problems.append(
                f"{name} still owes {net} fen to the shop but holds {open_holds[0].amount}"
            )
    elif open_holds:
        report.problems.append(f"{name} has no hold but {len(open_holds)} are open")
    # The shop's share, the fee and what was kept back for the order's commissions.
    shares = (
        world.named("order_completed", ref)
        + world.named("platform_fee", ref)
        + world.named("commission_reserved", ref)
    )
    if state == "completed" and holds:
        # A completed order posts its open hold once; one refunded in full had nothing to post.
        expected_posts = 1 if net > 0 else 0
        if len(posted) != expected_posts:
            report.problems.append(f"{name}: {len(posted)} holds posted, expected {expected_posts}")
        elif posted and posted[0].resolution.amount != net:
            report.problems.append(
                f"{name} posted {posted[0].resolution.amount} fen of a net {net} fen"
            )
        fee = sum(move.amount for move in world.named("platform_fee", ref))
        if sum(move.amount for move in shares) != net or fee != order["fee_fen"]:
            report.problems.append(
                f"{name}: shop share, fee and commissions kept move "
                f"{sum(m.amount for m in shares)} fen "
                f"(fee {fee}), expected {net} (fee {order['fee_fen']})"
            )
    elif posted or shares:
        report.problems.append(f"{name} is not completed but its hold was posted or paid out")
    if state == "cancelled" and order["refunded_fen"] != order["total_fen"] and holds:
        report.problems.append(f"{name} was paid and cancelled but not refunded in full")


def _check_commission(report: LedgerReport, claim: CommissionClaim, world: World) -> None:
    name = f"{claim.ref} ({claim.state})"
    current_key = f"{claim.ref}:hold:{claim.version}"
    holds = world.named("commission", claim.ref)
    settled = world.named("commission_settled", claim.ref)
    current = [hold for hold in holds if hold.key == current_key]
    for hold in holds:
        if hold.key != current_key and hold.state != TransferKind.VOID:
            report.problems.append(f"{name}: an earlier hold {hold.key} is {hold.state}")
    fate = {"frozen": "open", "available": TransferKind.POST, "reversed": TransferKind.VOID}
    if claim.state not in fate:
        report.problems.append(f"{name}: unknown state")
        return
    if claim.state == "reversed":
        if current and current[0].state != TransferKind.VOID:
            report.problems.append(f"{name} but its hold is {current[0].state}")
    elif len(current) != 1:
        report.problems.append(f"{name} has {len(current)} current holds, expected 1")
    else:
        hold = current[0]
        if hold.state != fate[claim.state]:
            report.problems.append(f"{name} but its hold is {hold.state}")
        if hold.amount != claim.amount:
            report.problems.append(f"{name} is {claim.amount} fen but its hold is {hold.amount}")
        payable = shop_code(AccountKind.COMMISSIONS_PAYABLE, claim.shop_public_id)
        beneficiary = f"{AccountKind.COMMISSIONS}:{claim.beneficiary_ref}"
        if (hold.debit, hold.credit) != (payable, beneficiary):
            report.problems.append(f"{name} was held {hold.debit} → {hold.credit}")
        if hold.resolution and hold.resolution.amount != hold.amount:
            report.problems.append(f"{name}: its hold was resolved for another amount")
    # Kept back at the order's completion: for its amount, on its shop; only while it is frozen
    # (completed, awaiting release) or once released, then settled from there.
    kept = world.by_key.get(f"{claim.ref}:reserve")
    reserved = shop_code(AccountKind.COMMISSIONS_RESERVED, claim.shop_public_id)
    if kept is not None:
        if kept.reason != "commission_reserved" or kept.credit != reserved:
            report.problems.append(f"{name} was kept back as {kept.reason} in {kept.credit}")
        elif kept.debit != shop_code(AccountKind.MERCHANT_PENDING, claim.shop_public_id):
            report.problems.append(f"{name} was kept back from {kept.debit}")
        if claim.state == "reversed":
            report.problems.append(f"{name} but {kept.amount} fen was kept back for it")
        elif kept.amount != claim.amount:
            report.problems.append(f"{name} is {claim.amount} fen but {kept.amount} was kept back")
    if claim.state == "available":
        World._one_of_amount(report, name, "settlement", settled, claim.amount)
        source = (
            reserved
            if kept is not None
            else shop_code(AccountKind.MERCHANT_AVAILABLE, claim.shop_public_id)
        )
        if settled and settled[0].debit != source:
            report.problems.append(f"{name} was settled from {settled[0].debit}")
    elif settled:
        report.problems.append(f"{name} but the shop settled it")
