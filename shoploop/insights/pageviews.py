"""Page views, counted cheaply: one outbox event per process per minute, not one per view.

A product or community page view is the loop's first stage, but it is also the most frequent
request: an outbox row per view would multiply the outbox by the page traffic. So each process
counts views in memory (per page: views, and up to ``MAX_VIEWERS`` signed-in viewers for
distinct reach) and publishes them as one ``insights.views.counted`` event when
``INSIGHTS_VIEWS_FLUSH_SECONDS`` have passed or ``INSIGHTS_VIEWS_FLUSH_AT`` views are pending
(checked on the next view). The honest cost: a process that dies loses its last minute of views,
and a page with more viewers than the sample in a minute counts at most that many distinct
viewers; views are a trend, not money. ``INSIGHTS_COUNT_VIEWS`` off records nothing (tests).
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from shoploop.core.events import publish

MAX_VIEWERS = 50

_lock = threading.Lock()
_pending: dict[tuple[str, str, str, str], list] = {}
_state = {"views": 0, "since": time.monotonic()}


def record_view(
    *,
    kind: str,
    target_public_id: str,
    shop_public_id: str = "",
    community_public_id: str = "",
    viewer=None,
) -> None:
    if not settings.INSIGHTS_COUNT_VIEWS:
        return
    key = (kind, target_public_id, shop_public_id, community_public_id)
    with _lock:
        entry = _pending.setdefault(key, [0, set()])
        entry[0] += 1
        if viewer is not None and viewer.is_authenticated and len(entry[1]) < MAX_VIEWERS:
            entry[1].add(viewer.public_id)
        _state["views"] += 1
        due = (
            _state["views"] >= settings.INSIGHTS_VIEWS_FLUSH_AT
            or time.monotonic() - _state["since"] >= settings.INSIGHTS_VIEWS_FLUSH_SECONDS
        )
    if due:
        flush()


def flush() -> int:
    """Publish what this process counted (one event); returns the views it carried."""
    global _pending
    with _lock:
        taken, _pending = _pending, {}
        _state["views"], _state["since"] = 0, time.monotonic()
    if not taken:
        return 0
    views = [
        {
            "kind": kind,
            "target_public_id": target,
            "shop_public_id": shop,
            "community_public_id": community,
            "count": count,
            "viewer_public_ids": sorted(viewers),
        }
        for (kind, target, shop, community), (count, viewers) in sorted(taken.items())
    ]
    publish("insights.views.counted", aggregate="insights.views", views=views)
    return sum(view["count"] for view in views)
