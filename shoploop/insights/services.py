"""The rollup: read outbox events after the stored cursor, in batches, and update the rollups.

Each batch is one transaction that locks the cursor row (``SELECT … FOR UPDATE``; on SQLite the
``IMMEDIATE`` transaction's write lock), reads the next ``INSIGHTS_BATCH_SIZE`` events the
ingestors know, writes their facts (``batch.Batch``) and moves the cursor, then commits. So:

- a crash rolls back the facts and the cursor together: a re-run starts where the last commit
  left off and counts nothing twice;
- two workers at once queue on the cursor row: the second reads the cursor the first moved and
  takes the next batch (they never read the same events);
- an event is only read once it is ``INSIGHTS_SETTLE_SECONDS`` old: ids are given out when a
  row is inserted but become visible at commit, so a transaction still open could commit a lower
  id after a higher one was read. A batch stops at the first event younger than that; any
  service transaction is far shorter than the delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from shoploop.core import clock
from shoploop.core.models import OutboxEvent
from shoploop.insights.batch import Batch, Event, attribution_window, week_start
from shoploop.insights.ingest import INGESTORS
from shoploop.insights.models import Cursor, LinkVisit, WeeklyPerson

CURSOR = "events"


@dataclass
class RollupResult:
    events: int = 0
    batches: int = 0
    cursor: int = 0


def roll_up(
    *,
    batch_size: int | None = None,
    max_batches: int | None = None,
    settle_seconds: float | None = None,
    wait_to_settle: bool = True,
) -> RollupResult:
    """Roll up every settled event after the cursor (at most ``max_batches`` batches).
    ``wait_to_settle=False`` reads every committed event, whatever its time: for a finished
    simulated world, whose clock ran ahead of the wall clock and where nothing is in flight."""
    size = batch_size or settings.INSIGHTS_BATCH_SIZE
    settle = settings.INSIGHTS_SETTLE_SECONDS if settle_seconds is None else settle_seconds
    if not wait_to_settle:
        settle = None
    result = RollupResult()
    Cursor.objects.get_or_create(name=CURSOR)
    while max_batches is None or result.batches < max_batches:
        done, result.cursor = roll_up_batch(size=size, settle_seconds=settle)
        if not done:
            break
        result.events += done
        result.batches += 1
    return result


def roll_up_batch(*, size: int, settle_seconds: float | None) -> tuple[int, int]:
    """One batch in one transaction; returns (events read, cursor after)."""
    with transaction.atomic():
        cursor = Cursor.objects.select_for_update().get(name=CURSOR)
        events = _settled(_next_events(cursor.last_event_id, size), settle_seconds)
        if not events:
            return 0, cursor.last_event_id
        ingest(events)
        Cursor.objects.filter(name=CURSOR).update(
            last_event_id=events[-1].id, events=cursor.events + len(events), updated_at=clock.now()
        )
        return len(events), events[-1].id


def ingest(events: list[Event]) -> None:
    """Apply each event's ingestor (in id order) and write the batch."""
    batch = Batch(events)
    for event in events:
        INGESTORS[event.name](event, batch)
    batch.flush()


def _next_events(after: int, size: int) -> list[Event]:
    rows = (
        OutboxEvent.objects.filter(id__gt=after, name__in=list(INGESTORS))
        .order_by("id")
        .values_list("id", "name", "payload", "occurred_at")[:size]
    )
    return [Event(*row) for row in rows]


def _settled(events: list[Event], settle_seconds: float | None) -> list[Event]:
    """The events up to (not including) the first one younger than the settle delay."""
    if settle_seconds is None:
        return events
    horizon = clock.now() - timedelta(seconds=settle_seconds)
    for position, event in enumerate(events):
        if event.occurred_at > horizon:
            return events[:position]
    return events


def prune(*, now=None) -> dict[str, int]:
    """Forget person facts older than ``INSIGHTS_PERSON_WEEKS`` (their counts stay in
    ``WeeklyDistinct``) and link visits older than the attribution window."""
    now = now or clock.now()
    oldest_week = week_start(now) - timedelta(weeks=settings.INSIGHTS_PERSON_WEEKS)
    people, _ = WeeklyPerson.objects.filter(week__lt=oldest_week).delete()
    visits, _ = LinkVisit.objects.filter(at__lt=now - attribution_window()).delete()
    return {"people": people, "visits": visits}


def rebuild() -> None:
    """Forget every rollup and move the cursor back to the start: the next roll-up reads the
    whole outbox again (after an ingestor changed)."""
    from shoploop.insights import models

    with transaction.atomic():
        for model in (
            models.Tally,
            models.WeeklyPerson,
            models.WeeklyDistinct,
            models.FirstPurchase,
            models.Member,
            models.KnownProduct,
            models.KnownLink,
            models.LinkVisit,
        ):
            model.objects.all().delete()
        Cursor.objects.update_or_create(name=CURSOR, defaults={"last_event_id": 0, "events": 0})
