"""Reads: a sharer's links and what they brought, a promoter's commissions, operator clusters."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q, Sum

from shoploop.ledger import selectors as ledger_selectors
from shoploop.referrals import conf
from shoploop.referrals.models import Binding, Commission, ShareLink, ShareVisit


def links_of(*, user):
    return (
        ShareLink.objects.filter(sharer=user)
        .select_related("community")
        .annotate(visit_total=Count("visits"))
        .order_by("-created_at")
    )


def totals_of(*, user) -> dict:
    sums = ShareLink.objects.filter(sharer=user).aggregate(
        links=Count("pk"),
        signups=Sum("signups_count"),
        purchases=Sum("purchases_count"),
    )
    earned = Commission.objects.filter(promoter=user).aggregate(
        frozen=Sum("amount_fen", filter=Q(state=Commission.State.FROZEN)),
        available=Sum("amount_fen", filter=Q(state=Commission.State.AVAILABLE)),
    )
    result = {key: value or 0 for key, value in sums.items()}
    result["visits"] = ShareVisit.objects.filter(link__sharer=user).count()
    result.update({f"{key}_fen": value or 0 for key, value in earned.items()})
    result["withdrawable_fen"] = withdrawable_fen(user=user)
    return result


# A person's commission balance and withdrawals belong to the ledger; named here too for the
# pages and API of this app.
withdrawable_fen = ledger_selectors.commission_balance_fen
withdrawals_of = ledger_selectors.person_withdrawals


def commissions_of(*, user):
    return (
        Commission.objects.filter(promoter=user)
        .select_related("order", "shop")
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class Cluster:
    promoter_public_id: str
    signal: str  # "network" or "phone_prefix"
    value: str
    users: int
    first_at: object


def _windows(items, *, minutes: int, size: int):
    """Sliding windows of at least ``size`` items within ``minutes`` (items sorted by time)."""
    window = timedelta(minutes=minutes)
    start = 0
    for end in range(len(items)):
        while items[end][0] - items[start][0] > window:
            start += 1
        if end - start + 1 >= size:
            yield items[start][0], end - start + 1


def suspicious_clusters() -> list[Cluster]:
    """Promoters with at least REFERRALS_CLUSTER_SIZE users bound within
    REFERRALS_CLUSTER_MINUTES who share a hashed network or the first 7 digits of a phone."""
    groups: dict[tuple, list] = defaultdict(list)
    rows = Binding.objects.values_list(
        "promoter__public_id", "ip_hash", "user__phone", "created_at"
    ).order_by("created_at")
    for promoter, ip_hash, phone, at in rows.iterator(2000):
        if ip_hash:
            groups[(promoter, "network", ip_hash)].append((at, phone))
        if phone:
            groups[(promoter, "phone_prefix", phone[:-4])].append((at, phone))
    found = []
    for (promoter, signal, value), items in groups.items():
        best = max(
            _windows(items, minutes=conf.cluster_minutes(), size=conf.cluster_size()),
            key=lambda pair: pair[1],
            default=None,
        )
        if best is not None:
            shown = value if signal == "phone_prefix" else value[:8]
            found.append(Cluster(promoter, signal, shown, best[1], best[0]))
    return sorted(found, key=lambda cluster: -cluster.users)
