"""Insights API (/api/v1/insights): the tables behind the pages. ``kind`` is ``shop``,
``community`` or ``platform`` (id ``all``); another shop's insights answer 403 ``forbidden``."""

from ninja import Router, Schema

from shoploop.insights import selectors
from shoploop.insights.report import cohort_rows, loop_rows, segment_rows

router = Router(tags=["insights"])


class TableOut(Schema):
    scope: str
    name: str
    min_people: int
    header: list[str]
    rows: list[list[str | int | float | None]]


class LoopOut(TableOut):
    viral_trend: float | None


class PlaceOut(Schema):
    community: str
    name: str
    category: str
    buyer_weeks: int
    buyers_at_least: int


def _table(scope: selectors.Scope, table: dict) -> dict:
    return {
        "scope": scope.key,
        "name": scope.name,
        "min_people": selectors.min_people(),
        "header": table["header"],
        "rows": table["rows"],
    }


@router.get("/{kind}/{public_id}/loop", response=LoopOut)
def loop(request, kind: str, public_id: str):
    scope = selectors.scope_for(viewer=request.user, kind=kind, public_id=public_id)
    rows = selectors.weekly_loop(scope)
    return {**_table(scope, loop_rows(rows)), "viral_trend": selectors.viral_trend(rows)}


@router.get("/{kind}/{public_id}/cohorts", response=TableOut)
def cohorts(request, kind: str, public_id: str):
    scope = selectors.scope_for(viewer=request.user, kind=kind, public_id=public_id)
    return _table(scope, cohort_rows(selectors.cohorts(scope)))


@router.get("/{kind}/{public_id}/segments", response=TableOut)
def segments(request, kind: str, public_id: str):
    scope = selectors.scope_for(viewer=request.user, kind=kind, public_id=public_id)
    return _table(scope, segment_rows(selectors.segments(scope)))


@router.get("/{kind}/{public_id}/places", response=list[PlaceOut])
def places(request, kind: str, public_id: str):
    scope = selectors.scope_for(viewer=request.user, kind=kind, public_id=public_id)
    return selectors.next_product_places(scope)
