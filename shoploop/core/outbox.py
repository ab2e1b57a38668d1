"""Delivering outbox events to subscribers: at least once per event, once per subscriber.

- ``handle(event, subscription)`` runs one subscriber in its own transaction that first inserts
  the (subscriber, event) "handled" row (``ON CONFLICT DO NOTHING``): if the row was already there
  the subscriber is skipped, otherwise its changes and the row commit together, or neither does.
  A second deliverer of the same pair waits on the unique index and then skips.
- ``deliver_events`` is the on-commit fast path in the publishing process: the events one
  transaction published, in chunks as the worker delivers them. ``deliver_event`` delivers one
  event, each subscriber in its own transaction.
- ``deliver_pending`` is the worker: it claims a batch of due events with
  ``SELECT … FOR UPDATE SKIP LOCKED`` and a lease, delivers each to every subscriber that has not
  handled it (in id order; an event whose aggregate has an earlier event claimed by another worker
  waits for it), and marks them done in bulk. A chunk of events goes in one transaction: all its
  handled rows by one ``INSERT … ON CONFLICT DO NOTHING RETURNING``, then the subscribers whose
  rows were inserted, then the bulk "done". If a subscriber fails, the chunk is rolled back
  whole and delivered again with a savepoint per delivery, so only the failing one is rolled
  back and retried. Any number of workers run it at once.
- A failing subscriber gets a failure row, is retried with exponential backoff and never blocks
  the others; after ``OUTBOX_MAX_ATTEMPTS`` it is parked (visible to operators,
  ``manage.py outbox``) and the event no longer waits for it.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Min, OuterRef, Q

from shoploop.core import clock
from shoploop.core.events import DomainEvent, Subscription, subscribers_of
from shoploop.core.models import OutboxEvent, OutboxFailure, OutboxHandled

logger = logging.getLogger(__name__)

HANDLED = "handled"
SKIPPED = "skipped"  # someone had already handled it
FAILED = "failed"
PARKED = "parked"


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at an hour."""
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def _insert_handled(subscriber: str, event_id: int, now: datetime) -> bool:
    table = connection.ops.quote_name(OutboxHandled._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (subscriber, event_id, handled_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (subscriber, event_id) DO NOTHING",
            [subscriber, event_id, connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.rowcount == 1


def _record_failure(subscriber: str, event_id: int, error: BaseException, now: datetime):
    """Count a failure; returns (outcome, next attempt or None when parked)."""
    with transaction.atomic():
        row, _ = OutboxFailure.objects.select_for_update().get_or_create(
            subscriber=subscriber, event_id=event_id, defaults={"failed_at": now}
        )
        row.attempts += 1
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        row.failed_at = now
        if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            row.parked_at, row.next_attempt_at = now, None
        else:
            row.parked_at, row.next_attempt_at = None, now + backoff(row.attempts)
        row.save()
    if row.parked_at:
        logger.error(
            "subscriber %s parked on event #%s after %s attempts",
            subscriber,
            event_id,
            row.attempts,
        )
        return PARKED, None
    return FAILED, row.next_attempt_at


@dataclass
class Outcome:
    status: str
    next_attempt_at: datetime | None = None


def handle(
    event: DomainEvent, subscription: Subscription, *, now: datetime, had_failure: bool = False
) -> Outcome:
    """Run one subscriber on one event, at most once ever (see the module docstring)."""
    try:
        with transaction.atomic():
            if not _insert_handled(subscription.key, event.id, now):
                return Outcome(SKIPPED)
            subscription.handler(event)
            if had_failure:
                OutboxFailure.objects.filter(
                    subscriber=subscription.key, event_id=event.id
                ).delete()
    except Exception as error:
        logger.exception("subscriber %s failed on %s #%s", subscription.key, event.name, event.id)
        status, next_at = _record_failure(subscription.key, event.id, error, now)
        return Outcome(status, next_at)
    return Outcome(HANDLED)


def deliver_event(event: DomainEvent) -> None:
    """The fast path: deliver a just-committed event here and now."""
    now = clock.now()
    next_attempts = []
    for subscription in subscribers_of(event.name):
        outcome = handle(event, subscription, now=now)
        if outcome.status == FAILED:
            next_attempts.append(outcome.next_attempt_at)
    pending = OutboxEvent.objects.filter(pk=event.id, delivered_at__isnull=True)
    if next_attempts:
        pending.update(next_attempt_at=min(next_attempts))
    else:
        pending.update(delivered_at=now, claimed_until=None)


def _claim(now: datetime, limit: int) -> list[OutboxEvent]:
    lease_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    earlier_claimed_elsewhere = OutboxEvent.objects.filter(
        aggregate=OuterRef("aggregate"),
        delivered_at__isnull=True,
        id__lt=OuterRef("id"),
        claimed_until__gt=now,
    )
    due = OutboxEvent.objects.filter(delivered_at__isnull=True, next_attempt_at__lte=now)
    if not due.exists():
        # Nothing to do: no transaction at all (on SQLite, BEGIN IMMEDIATE takes the write lock).
        return []
    with transaction.atomic():
        rows = list(
            due.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .exclude(Q(~Q(aggregate="")) & Exists(earlier_claimed_elsewhere))
            .order_by("id")
            .only("id", "name", "payload", "occurred_at")
            .select_for_update(skip_locked=True)[:limit]
        )
        if rows:
            OutboxEvent.objects.filter(pk__in=[r.pk for r in rows]).update(
                claimed_until=lease_until
            )
    return rows


def deliver_batch(*, now: datetime | None = None, batch_size: int | None = None) -> tuple[int, int]:
    """Claim and deliver one batch; returns (events claimed, events completed)."""
    now = now or clock.now()
    rows = _claim(now, batch_size or settings.OUTBOX_BATCH_SIZE)
    if not rows:
        return 0, 0
    return len(rows), _deliver_rows(rows, now)


def deliver_events(events: Iterable[DomainEvent]) -> None:
    """The fast path: the events one transaction published, delivered after its commit in
    chunks, one handled-row INSERT and one transaction per chunk, as the worker does, instead of
    a transaction per event and subscriber. Only events whose rows exist (not rolled back) and
    are not delivered yet (a worker may have been quicker) go."""
    ids = {event.id for event in events}
    rows = list(
        OutboxEvent.objects.filter(pk__in=ids, delivered_at__isnull=True)
        .annotate(failed_before=Exists(OutboxFailure.objects.filter(event_id=OuterRef("pk"))))
        .order_by("id")
        .only("id", "name", "payload", "occurred_at")
    )
    if not rows:
        return
    if any(row.failed_before for row in rows):
        _deliver_rows(rows, clock.now())
    else:
        # Fresh events: the handled-row INSERT alone tells which deliveries are still to do (a
        # worker that took one meanwhile holds or has its row), so nothing else is read first.
        _deliver_rows(rows, clock.now(), handled=set(), failures={})


def _deliver_rows(
    rows: list[OutboxEvent],
    now: datetime,
    *,
    handled: set[tuple[str, int]] | None = None,
    failures: dict | None = None,
) -> int:
    """Deliver ``rows`` to every subscriber that has not handled them (``handled`` and
    ``failures`` are read unless given); returns how many events completed."""
    ids = [r.pk for r in rows]
    if handled is None:
        handled = set(
            OutboxHandled.objects.filter(event_id__in=ids).values_list("subscriber", "event_id")
        )
    if failures is None:
        failures = {
            (f.subscriber, f.event_id): f for f in OutboxFailure.objects.filter(event_id__in=ids)
        }
    done = 0
    chunk_size = settings.OUTBOX_CHUNK_SIZE
    for start in range(0, len(rows), chunk_size):
        # One transaction per chunk: a commit (a disk flush) per chunk instead of per delivery.
        # The chunk's handled rows commit with the subscribers' changes and its "done" marks.
        chunk = rows[start : start + chunk_size]
        try:
            with transaction.atomic():
                done += _deliver_chunk_at_once(chunk, handled, failures, now)
            continue
        except _SlowPath as slow:
            # Rolled back whole (nothing of it stays): again, one savepoint per delivery; the
            # delivery that failed is recorded as failed, not run a second time.
            failed = slow.failed
        with transaction.atomic():
            done += _deliver_chunk(chunk, handled, failures, now, failed=failed)
    return done


class _SlowPath(Exception):
    """A chunk cannot go at once (a subscriber failed, or one had failed before)."""

    def __init__(self, failed: tuple[str, int, BaseException] | None = None):
        super().__init__()
        self.failed = failed


def _insert_handled_many(pairs: list[tuple[str, int]], now: datetime) -> set[tuple[str, int]]:
    """Insert the handled rows of ``pairs`` in one statement; returns those this call inserted
    (the others were handled already, or are being handled by a transaction it waited for)."""
    if not pairs:
        return set()
    table = connection.ops.quote_name(OutboxHandled._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    values = ", ".join(["(%s, %s, %s)"] * len(pairs))
    params = [value for key, event_id in pairs for value in (key, event_id, at)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (subscriber, event_id, handled_at) VALUES {values} "
            "ON CONFLICT (subscriber, event_id) DO NOTHING RETURNING subscriber, event_id",
            params,
        )
        return {(key, event_id) for key, event_id in cursor.fetchall()}


def _deliver_chunk_at_once(rows, handled, failures, now: datetime) -> int:
    """The common case in one go: every handled row of the chunk by one INSERT, then the
    subscribers, no savepoints. Any failure raises ``_SlowPath``, which rolls the chunk back."""
    if any(event_id in {r.pk for r in rows} for _key, event_id in failures):
        raise _SlowPath
    deliveries = [
        (row, subscription)
        for row in rows
        for subscription in subscribers_of(row.name)
        if (subscription.key, row.pk) not in handled
    ]
    ours = _insert_handled_many([(sub.key, row.pk) for row, sub in deliveries], now)
    for row, subscription in deliveries:
        if (subscription.key, row.pk) in ours:
            try:
                subscription.handler(DomainEvent(row.name, row.payload, row.occurred_at, row.pk))
            except Exception as error:
                logger.exception(
                    "subscriber %s failed on %s #%s", subscription.key, row.name, row.pk
                )
                raise _SlowPath((subscription.key, row.pk, error)) from error
    OutboxEvent.objects.filter(pk__in=[r.pk for r in rows]).update(
        delivered_at=now, claimed_until=None
    )
    return len(rows)


def _deliver_chunk(rows, handled, failures, now: datetime, *, failed=None) -> int:
    done: list[int] = []
    retry: dict[datetime, list[int]] = {}
    for row in rows:
        event = DomainEvent(row.name, row.payload, row.occurred_at, row.pk)
        next_at: datetime | None = None
        for subscription in subscribers_of(row.name):
            failure = failures.get((subscription.key, row.pk))
            if (subscription.key, row.pk) in handled or (failure and failure.parked_at):
                continue
            if failure and failure.next_attempt_at and failure.next_attempt_at > now:
                outcome = Outcome(FAILED, failure.next_attempt_at)
            elif failed and failed[:2] == (subscription.key, row.pk):
                outcome = Outcome(*_record_failure(subscription.key, row.pk, failed[2], now))
            else:
                outcome = handle(event, subscription, now=now, had_failure=failure is not None)
            if outcome.status == FAILED:
                next_at = min(filter(None, (next_at, outcome.next_attempt_at)))
        if next_at is None:
            done.append(row.pk)
        else:
            retry.setdefault(next_at, []).append(row.pk)
    if done:
        OutboxEvent.objects.filter(pk__in=done).update(delivered_at=now, claimed_until=None)
    for at, event_ids in retry.items():
        OutboxEvent.objects.filter(pk__in=event_ids).update(next_attempt_at=at, claimed_until=None)
    return len(done)


def deliver_pending(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> int:
    """The worker: deliver due events batch by batch until none is left; returns how many
    events it completed. Safe to run in any number of processes at once."""
    completed = batches = 0
    while max_batches is None or batches < max_batches:
        claimed, done = deliver_batch(now=now, batch_size=batch_size)
        batches += 1
        completed += done
        if claimed == 0:
            break
    return completed


def retry_parked(*, subscriber: str | None = None, event_ids: Iterable[int] | None = None) -> int:
    """Give parked subscribers another round of attempts (an operator fixed the cause)."""
    now = clock.now()
    parked = OutboxFailure.objects.filter(parked_at__isnull=False)
    if subscriber:
        parked = parked.filter(subscriber=subscriber)
    if event_ids is not None:
        parked = parked.filter(event_id__in=list(event_ids))
    with transaction.atomic():
        ids = list(parked.select_for_update().values_list("event_id", flat=True))
        count = parked.filter(event_id__in=ids).update(
            attempts=0, parked_at=None, next_attempt_at=now
        )
        OutboxEvent.objects.filter(pk__in=ids).update(
            delivered_at=None, next_attempt_at=now, claimed_until=None
        )
    return count


@dataclass
class Status:
    pending: int
    due: int
    oldest_pending_at: datetime | None
    lag_seconds: float
    last_id: int
    last_delivered_id: int
    retrying: list[dict]
    parked: list[dict]


def status(now: datetime | None = None) -> Status:
    """Backlog and lag for operators: pending events, the oldest one's age, failing subscribers."""
    now = now or clock.now()
    pending = OutboxEvent.objects.filter(delivered_at__isnull=True)
    oldest = pending.aggregate(at=Min("occurred_at"))["at"]
    last = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    last_delivered = (
        OutboxEvent.objects.filter(delivered_at__isnull=False)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or 0
    )

    def by_subscriber(rows) -> list[dict]:
        return list(
            rows.values("subscriber")
            .annotate(events=Count("id"), oldest_event=Min("event_id"))
            .order_by("subscriber")
        )

    failures = OutboxFailure.objects.all()
    return Status(
        pending=pending.count(),
        due=pending.filter(next_attempt_at__lte=now).count(),
        oldest_pending_at=oldest,
        lag_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        last_id=last,
        last_delivered_id=last_delivered,
        retrying=by_subscriber(failures.filter(parked_at__isnull=True)),
        parked=by_subscriber(failures.filter(parked_at__isnull=False)),
    )


__all__ = [
    "FAILED",
    "HANDLED",
    "PARKED",
    "SKIPPED",
    "Status",
    "deliver_batch",
    "deliver_event",
    "deliver_pending",
    "handle",
    "retry_parked",
    "status",
]
