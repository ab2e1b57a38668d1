"""Insights pages: the loop of a shop, a community or the platform as SVG charts, each with its
numbers as a table and a CSV download. Thin: the figures come from ``selectors``."""

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from shoploop.insights import charts, selectors
from shoploop.insights.report import (
    cohort_rows,
    loop_rows,
    segment_rows,
    stage_labels,
)

CSV_TABLES = ("loop", "cohorts", "segments", "places")


@login_required
def index(request):
    return render(
        request, "insights/index.html", {"scopes": selectors.scopes_of(viewer=request.user)}
    )


@login_required
def dashboard(request, kind: str, public_id: str):
    scope = selectors.scope_for(viewer=request.user, kind=kind, public_id=public_id)
    return render(request, "insights/dashboard.html", dashboard_context(scope))


def dashboard_context(scope: selectors.Scope) -> dict:
    """Everything the dashboard draws (bench.insights times it too)."""
    weeks = selectors.weeks_ending()
    loop = selectors.weekly_loop(scope, weeks=weeks)
    latest = latest_with_people(loop)
    k = selectors.min_people()
    labels = stage_labels()
    funnel = charts.bar_chart(
        _("People at each stage of the loop, week of %(week)s") % {"week": latest.week},
        [(labels[s], latest.people[s], str(latest.people[s])) for s in selectors.STAGES],
        k=k,
    )
    activity = charts.bar_chart(
        _("Conversations and purchases, week of %(week)s") % {"week": latest.week},
        [
            (label, latest.counts[metric], str(latest.counts[metric]))
            for metric, label in activity_labels(scope.kind).items()
        ],
        k=k,
    )
    viral = charts.line_chart(
        _("New buyers brought per buyer, by week"),
        [week.isoformat() for week in weeks],
        [row.viral for row in loop],
    )
    segments = selectors.segments(scope, weeks=weeks)
    segment_chart = charts.bar_chart(
        _("Units bought by category"),
        [(row["name"], row["units"], str(row["units"])) for row in segments["categories"]],
        k=k,
    )
    return {
        "scope": scope,
        "k": k,
        "funnel": funnel,
        "activity_chart": activity,
        "viral_chart": viral,
        "segment_chart": segment_chart,
        "trend": selectors.viral_trend(loop),
        "loop": loop_rows(loop),
        "cohorts": cohort_rows(selectors.cohorts(scope, weeks=weeks)),
        "segments": segment_rows(segments),
        "places": selectors.next_product_places(scope, weeks=weeks),
    }


def activity_labels(kind: str) -> dict[str, str]:
    """What the activity chart draws: the conversation and purchase counts a scope of ``kind``
    has (a shop's chats are its buyers' conversations with it, a community's its room's
    messages; posts and comments are a community's, reviews a shop's)."""
    said = {"posts": _("Posts"), "comments": _("Comments"), "reviews": _("Reviews")}
    if kind == "shop":
        said = {"reviews": said["reviews"]}
    elif kind == "community":
        said.pop("reviews")
    return {
        **said,
        "chats": _("Chat messages"),
        "orders": _("Orders"),
        "deal_completions": _("Completed deals"),
    }


def latest_with_people(loop: list) -> selectors.WeekFigures:
    """The newest week in which anyone did anything (this week, early on Monday, is empty)."""
    for row in reversed(loop):
        if any(row.people[stage] != 0 for stage in selectors.STAGES):
            return row
    return loop[-1]


@login_required
def table_csv(request, kind: str, public_id: str, table: str):
    if table not in CSV_TABLES:
        raise Http404
    scope = selectors.scope_for(viewer=request.user, kind=kind, public_id=public_id)
    weeks = selectors.weeks_ending()
    if table == "loop":
        rows = loop_rows(selectors.weekly_loop(scope, weeks=weeks))
    elif table == "cohorts":
        rows = cohort_rows(selectors.cohorts(scope, weeks=weeks))
    elif table == "segments":
        rows = segment_rows(selectors.segments(scope, weeks=weeks))
    else:
        places = selectors.next_product_places(scope, weeks=weeks)
        header = ["community", "name", "category", "buyer_weeks", "buyers_at_least"]
        rows = {"header": header, "rows": [[p[h] for h in header] for p in places]}
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-{public_id}-{table}.csv"'
    writer = csv.writer(response)
    writer.writerow(rows["header"])
    for row in rows["rows"]:
        writer.writerow(["" if value is None else value for value in row])
    return response
