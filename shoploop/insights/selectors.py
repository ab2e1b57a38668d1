"""Reads for the insights pages and API: only the rollup tables, never orders or events.

Who may see what (``scope_for``): a merchant their own shop, a community's owner that
community, operators everything; anyone else gets ``forbidden``. No figure about fewer than
``INSIGHTS_MIN_PEOPLE`` people is shown (``hidden``: ``None``, drawn as "<5").
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.utils.translation import gettext as _

from shoploop.core import clock
from shoploop.core.errors import NotFound, PermissionDenied
from shoploop.insights.batch import day_start, week_start
from shoploop.insights.ingest import PLATFORM, PURCHASE, STAGES
from shoploop.insights.models import KnownProduct, Tally, WeeklyDistinct

KINDS = ("shop", "community", "platform")
DEFAULT_WEEKS = 8
# Counted metrics and the person fact that says how many people are behind each.
COUNTS = {
    "views": None,
    "follows": "follows",
    "joins": "joins",
    "posts": "posts",
    "comments": "comments",
    "chats": "chats",
    "reviews": "reviews",
    "orders": "orders",
    "gmv_fen": "orders",
    "deal_completions": "deal_completions",
    "shares": "shares",
    "visits": "visits",
    "share_signups": "share_signups",
    "share_purchases": "share_purchases",
    "link_purchases": "link_purchases",
}
PEOPLE = (*STAGES, "new_buyers", "repeat_buyers", "brought_new_buyers")


@dataclass(frozen=True)
class Scope:
    kind: str
    public_id: str
    name: str

    @property
    def key(self) -> str:
        return PLATFORM if self.kind == "platform" else f"{self.kind}:{self.public_id}"


@dataclass
class WeekFigures:
    week: date
    counts: dict[str, int | None] = field(default_factory=dict)
    people: dict[str, int | None] = field(default_factory=dict)
    conversions: dict[str, float | None] = field(default_factory=dict)
    viral: float | None = None


def min_people() -> int:
    return settings.INSIGHTS_MIN_PEOPLE


def hidden(people: int | None) -> bool:
    """A figure about 1..k-1 people is not shown (nobody, 0, is no one's secret)."""
    return people is None or 0 < people < min_people()


# ---- who may see what ---------------------------------------------------------------------------


def scope_for(*, viewer, kind: str, public_id: str) -> Scope:
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to see insights."), code="forbidden")
    if kind == "shop":
        return _shop_scope(viewer, public_id)
    if kind == "community":
        return _community_scope(viewer, public_id)
    if kind == "platform":
        if not viewer.is_staff:
            raise PermissionDenied(_("Only operators see the whole platform."), code="forbidden")
        return Scope("platform", "all", _("The whole platform"))
    raise NotFound(_("No such insights."), code="not_found")


def _shop_scope(viewer, public_id: str) -> Scope:
    from shoploop.catalog.models import Shop

    shop = Shop.objects.filter(public_id=public_id).values("owner_id", "name").first()
    if shop is None:
        raise NotFound(_("No such shop."), code="shop_not_found")
    if shop["owner_id"] != viewer.pk and not viewer.is_staff:
        raise PermissionDenied(_("These are another shop's insights."), code="forbidden")
    return Scope("shop", public_id, shop["name"])


def _community_scope(viewer, public_id: str) -> Scope:
    from shoploop.communities.models import Community

    community = Community.objects.filter(public_id=public_id).values("owner_id", "name").first()
    if community is None:
        raise NotFound(_("No such community."), code="community_not_found")
    if community["owner_id"] != viewer.pk and not viewer.is_staff:
        raise PermissionDenied(_("Only the community's owner sees its insights."), code="forbidden")
    return Scope("community", public_id, community["name"])


def scopes_of(*, viewer) -> list[Scope]:
    """The insights a person may open: their shop, the communities they own, the platform."""
    from shoploop.catalog.models import Shop
    from shoploop.communities.models import Community

    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return []
    found = [
        Scope("shop", pk, name)
        for pk, name in Shop.objects.filter(owner=viewer).values_list("public_id", "name")
    ]
    found += [
        Scope("community", pk, name)
        for pk, name in Community.objects.filter(owner=viewer)
        .order_by("pk")
        .values_list("public_id", "name")
    ]
    if viewer.is_staff:
        found.append(Scope("platform", "all", _("The whole platform")))
    return found


# ---- the loop, week by week ---------------------------------------------------------------------


def weeks_ending(end: date | None = None, count: int = DEFAULT_WEEKS) -> list[date]:
    last = week_start(clock.now()) if end is None else end
    return [last - timedelta(weeks=n) for n in range(count - 1, -1, -1)]


def raw_weeks(scope: str, weeks: list[date]) -> tuple[dict, dict]:
    """(counts, people) per week, unfiltered: {week: {metric: n}}."""
    first = day_start_of(weeks[0])
    last = day_start_of(weeks[-1] + timedelta(weeks=1))
    counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for start, metric, value in Tally.objects.filter(
        grain="d", scope=scope, start__gte=first, start__lt=last
    ).values_list("start", "metric", "value"):
        counts[week_start(start)][metric] += value
    people: dict[date, dict[str, int]] = defaultdict(dict)
    for week, key, value in WeeklyDistinct.objects.filter(
        scope=scope, week__gte=weeks[0], week__lte=weeks[-1]
    ).values_list("week", "key", "value"):
        people[week][key] = value
    return counts, people


def day_start_of(day: date):
    from datetime import datetime, time

    from django.utils import timezone

    return day_start(timezone.make_aware(datetime.combine(day, time(12))))


def weekly_loop(scope: Scope, *, weeks: list[date] | None = None) -> list[WeekFigures]:
    weeks = weeks or weeks_ending()
    counts, people = raw_weeks(scope.key, weeks)
    return [_week_figures(week, counts.get(week, {}), people.get(week, {})) for week in weeks]


def _week_figures(week: date, counts: dict, people: dict) -> WeekFigures:
    figures = WeekFigures(week=week)
    for metric, person_key in COUNTS.items():
        value = counts.get(metric, 0)
        behind = value if person_key is None else people.get(person_key, 0)
        figures.counts[metric] = None if hidden(behind) else value
    for key in PEOPLE:
        value = people.get(key, 0)
        figures.people[key] = None if hidden(value) else value
    for before, after in itertools.pairwise(STAGES):
        figures.conversions[f"{before}_to_{after}"] = ratio(
            people.get(after, 0), people.get(before, 0)
        )
    figures.viral = ratio(people.get("brought_new_buyers", 0), people.get(PURCHASE, 0))
    return figures


def ratio(numerator: int, denominator: int) -> float | None:
    if hidden(numerator) or hidden(denominator) or not denominator:
        return None
    return round(numerator / denominator, 4)


def viral_trend(rows: list[WeekFigures]) -> float | None:
    """Change per week of the viral coefficient (least squares over the shown weeks)."""
    points = [(i, row.viral) for i, row in enumerate(rows) if row.viral is not None]
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return round(sum((x - mean_x) * (y - mean_y) for x, y in points) / spread, 4)


# ---- cohorts ------------------------------------------------------------------------------------


def cohorts(scope: Scope, *, weeks: list[date] | None = None) -> list[dict]:
    """Per first-purchase week: how many new buyers, and how many of them bought in each later
    week (hidden under k people)."""
    weeks = weeks or weeks_ending()
    rows = WeeklyDistinct.objects.filter(
        scope=scope.key, week__gte=weeks[0], week__lte=weeks[-1], key__startswith="cohort:"
    ).values_list("week", "key", "value")
    active: dict[date, dict[date, int]] = defaultdict(dict)
    for week, key, value in rows:
        active[date.fromisoformat(key.split(":", 1)[1])][week] = value
    table = []
    for cohort in weeks:
        size = active.get(cohort, {}).get(cohort, 0)
        if not size:
            continue
        later = [active[cohort].get(week, 0) for week in weeks if week >= cohort]
        table.append(
            {
                "cohort": cohort,
                "buyers": None if hidden(size) else size,
                "active": [None if hidden(n) else n for n in later],
            }
        )
    return table


# ---- segments -----------------------------------------------------------------------------------


SEGMENT_KINDS = {"cat": "categories", "band": "price_bands", "want": "wants"}
_SEGMENT_REGEX = r"^(cat|band|want):"


def segments(scope: Scope, *, weeks: list[date] | None = None) -> dict[str, list[dict]]:
    """What the scope's buyers bought by category and price band, and what its people want
    (想要) by price band: units (wants) and people (the most in any one week: a lower bound on
    distinct people, so the k-anonymity rule holds)."""
    weeks = weeks or weeks_ending()
    units = _sum_tallies(scope.key, weeks, tuple(f"{prefix}:" for prefix in SEGMENT_KINDS))
    buyers: dict[str, int] = defaultdict(int)
    for key, value in (
        WeeklyDistinct.objects.filter(scope=scope.key, week__gte=weeks[0], week__lte=weeks[-1])
        .filter(key__regex=_SEGMENT_REGEX)
        .values_list("key", "value")
    ):
        buyers[key] = max(buyers[key], value)
    result: dict[str, list[dict]] = {kind: [] for kind in SEGMENT_KINDS.values()}
    for key in sorted(units, key=lambda k: -units[k]):
        kind, name = key.split(":", 1)
        if hidden(buyers.get(key, 0)):
            continue
        result[SEGMENT_KINDS[kind]].append(
            {"name": name, "units": units[key], "buyers_at_least": buyers[key]}
        )
    return result


def _sum_tallies(scope: str, weeks: list[date], prefixes: tuple[str, ...]) -> dict[str, int]:
    first = day_start_of(weeks[0])
    last = day_start_of(weeks[-1] + timedelta(weeks=1))
    totals: dict[str, int] = defaultdict(int)
    rows = Tally.objects.filter(grain="d", scope=scope, start__gte=first, start__lt=last)
    for metric, value in rows.filter(metric__regex=_SEGMENT_REGEX).values_list("metric", "value"):
        if metric.startswith(prefixes):
            totals[metric] += value
    return totals


def next_product_places(scope: Scope, *, weeks: list[date] | None = None, limit: int = 10):
    """For a shop: the communities whose members bought the shop's categories most (buyer-weeks
    over the weeks shown; a community shows only with at least k buyers in some week): where
    its next product should go. Reads the weekly distinct rows only (bounded by communities ×
    categories × weeks, whatever the number of events)."""
    from shoploop.communities.models import Community

    if scope.kind != "shop":
        return []
    weeks = weeks or weeks_ending()
    categories = set(
        KnownProduct.objects.filter(shop=scope.public_id).values_list("category", flat=True)
    )
    keys = [f"cat:{category}" for category in sorted(categories)]
    if not keys:
        return []
    most: dict[tuple[str, str], int] = defaultdict(int)
    total: dict[tuple[str, str], int] = defaultdict(int)
    for community, key, value in WeeklyDistinct.objects.filter(
        scope__startswith="community:", key__in=keys, week__gte=weeks[0], week__lte=weeks[-1]
    ).values_list("scope", "key", "value"):
        most[(community, key)] = max(most[(community, key)], value)
        total[(community, key)] += value
    ranked = sorted(
        (pair for pair in total if not hidden(most[pair])),
        key=lambda pair: (-total[pair], pair),
    )[:limit]
    names = dict(
        Community.objects.filter(
            public_id__in=[community.split(":", 1)[1] for community, _key in ranked]
        ).values_list("public_id", "name")
    )
    return [
        {
            "community": community.split(":", 1)[1],
            "name": names.get(community.split(":", 1)[1], ""),
            "category": key.split(":", 1)[1],
            "buyer_weeks": total[(community, key)],
            "buyers_at_least": most[(community, key)],
        }
        for community, key in ranked
    ]
