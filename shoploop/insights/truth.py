"""Loop truth: what insights recovered from the events against what the simulation played.

``simulate`` writes ``loop_played`` to world.json (the sharing activity counts, as it plays,
the person-days that could share and, per community, the new links, the visits, the purchases
they brought by insights' rule, counted from the visits it made and the orders every activity saw
paid, and the purchases its own draws caused) next to its knobs (``share_rate``,
``share_visits_per_link``, ``share_conversion``). The rule also counts a visitor who bought the
product another way (a flash sale, a group) within the window; the caused row shows how far that
is from the draws alone.
``compare`` reads the same figures from the rollups only and returns one row per figure with its
relative error. Rows about communities with fewer than ``min_purchases`` purchases brought are
shown but not gated (one coincidence in a handful is not a ±5 % question).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Sum

from shoploop.insights.batch import day_start
from shoploop.insights.ingest import PLATFORM
from shoploop.insights.models import Tally

TOLERANCE = 0.05
SHARING_METRICS = ("shares", "visits", "link_purchases")


@dataclass
class TruthRow:
    name: str
    played: float
    recovered: float
    knob: float | None = None
    gated: bool = True

    @property
    def error(self) -> float:
        return relative_error(self.recovered, self.played)

    @property
    def knob_error(self) -> float | None:
        return None if self.knob is None else relative_error(self.recovered, self.knob)

    @property
    def ok(self) -> bool:
        return not self.gated or abs(self.error) <= TOLERANCE


def relative_error(value: float, truth: float) -> float:
    if truth == 0:
        return 0.0 if value == 0 else float("inf")
    return (value - truth) / truth


def recovered_user_days(start: datetime, days: int) -> int:
    """Σ over the world's days, from the first day a product was on sale, of the people signed
    up by the end of that day (the sharing activity's person-days), from daily tallies."""
    daily = dict(
        Tally.objects.filter(grain="d", scope=PLATFORM, metric="signups").values_list(
            "start", "value"
        )
    )
    published = (
        Tally.objects.filter(grain="d", scope=PLATFORM, metric="products_published", value__gt=0)
        .order_by("start")
        .values_list("start", flat=True)
        .first()
    )
    signed_up, total = 0, 0
    for day in range(days):
        moment = day_start(start + timedelta(days=day, hours=12))
        signed_up += sum(v for when, v in daily.items() if day_start(when) == moment)
        if published is not None and moment >= day_start(published):
            total += signed_up
    return total


def recovered_sharing() -> dict[str, dict[str, int]]:
    """Links, visits and purchases brought per scope (``platform``, ``community:<id>``)."""
    found: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SHARING_METRICS, 0))
    rows = (
        Tally.objects.filter(grain="d", metric__in=SHARING_METRICS)
        .exclude(scope__startswith="shop:")
        .values_list("scope", "metric")
        .annotate(total=Sum("value"))
    )
    for scope, metric, total in rows:
        found[scope][metric] = total
    return found


def compare(world: dict, *, min_purchases: int = 20) -> list[TruthRow]:
    params, played = world["parameters"], world["loop_played"]
    start = datetime.fromisoformat(world["start"])
    user_days = recovered_user_days(start, params["days"])
    recovered = recovered_sharing()
    totals = {m: sum(c[m] for c in played["communities"].values()) for m in SHARING_METRICS}
    found = recovered[PLATFORM]
    knob_viral = params["share_rate"] * params["share_visits_per_link"] * params["share_conversion"]
    rows = [
        TruthRow("person-days that could share", played["user_days"], user_days),
        TruthRow("links shared", totals["shares"], found["shares"]),
        TruthRow("visits through links", totals["visits"], found["visits"]),
        TruthRow("purchases links brought", totals["link_purchases"], found["link_purchases"]),
        TruthRow(
            "share rate (links per person-day)",
            _ratio(totals["shares"], played["user_days"]),
            _ratio(found["shares"], user_days),
            knob=params["share_rate"],
        ),
        TruthRow(
            "visits per link",
            _ratio(totals["visits"], totals["shares"]),
            _ratio(found["visits"], found["shares"]),
            knob=params["share_visits_per_link"],
        ),
        TruthRow(
            "visit → purchase conversion",
            _ratio(totals["link_purchases"], totals["visits"]),
            _ratio(found["link_purchases"], found["visits"]),
            knob=params["share_conversion"],
        ),
        TruthRow(
            "viral coefficient (purchases brought per person-day)",
            _ratio(totals["link_purchases"], played["user_days"]),
            _ratio(found["link_purchases"], user_days),
            knob=knob_viral,
        ),
    ]
    for community, figures in sorted(played["communities"].items()):
        if not community:
            continue
        got = recovered.get(f"community:{community}", dict.fromkeys(SHARING_METRICS, 0))
        rows.append(
            TruthRow(
                f"community {community}: viral coefficient (purchases brought per link)",
                _ratio(figures["link_purchases"], figures["shares"]),
                _ratio(got["link_purchases"], got["shares"]),
                knob=params["share_visits_per_link"] * params["share_conversion"],
                gated=figures["link_purchases"] >= min_purchases,
            )
        )
    return rows


def caused_by_draws(world: dict) -> tuple[int, int] | None:
    """(purchases the sharing activity's own draws caused, purchases links brought by the rule),
    or None for a world file older than the count."""
    communities = world["loop_played"]["communities"].values()
    if not all("caused" in c for c in communities):
        return None
    return sum(c["caused"] for c in communities), sum(c["link_purchases"] for c in communities)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0
