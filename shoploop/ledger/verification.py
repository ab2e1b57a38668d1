"""Prove that no fen was created or lost: recompute every balance from the transfers."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Sum

from shoploop.ledger.models import Account, Limit, Transfer, TransferKind

POSTED_KINDS = (TransferKind.SINGLE, TransferKind.POST)


@dataclass
class LedgerReport:
    accounts: int = 0
    transfers: int = 0
    open_holds: int = 0
    posted_total: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"verify_ledger: accounts={self.accounts} transfers={self.transfers} "
            f"open_holds={self.open_holds} posted_fen={self.posted_total} "
            f"problems={len(self.problems)}"
        )


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


def verify_ledger() -> LedgerReport:
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
        if account.limit == Limit.DEBITS_MUST_NOT_EXCEED_CREDITS and (
            expected["debits_posted"] + expected["debits_pending"] > expected["credits_posted"]
        ):
            report.problems.append(f"{account.code}: debits exceed credits")
        if account.limit == Limit.CREDITS_MUST_NOT_EXCEED_DEBITS and (
            expected["credits_posted"] + expected["credits_pending"] > expected["debits_posted"]
        ):
            report.problems.append(f"{account.code}: credits exceed debits")
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
