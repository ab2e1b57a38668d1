"""Domain events: written to the outbox with the change that caused them, delivered to subscribers.

``publish`` inside a service writes an ``OutboxEvent`` row in the current transaction (outside a
transaction, in its own), so the event exists exactly when the change does. After the commit the
same process delivers it at once (the fast path); if that process dies first, or a subscriber
fails, the delivery worker (``shoploop.core.outbox``) delivers it later. Each subscriber records
what it handled in the same transaction as its own changes, so it acts once per event however
often delivery repeats. See docs/events.md for the catalogue and the guarantees.

Names are ``<app>.<thing>.<happened>``; payloads are JSON and carry public ids.
Subscribers register in their app's ``AppConfig.ready`` (or a module it imports) with
``@subscribe("<name>")``.
"""

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from shoploop.core import clock

logger = logging.getLogger(__name__)

Subscriber = Callable[["DomainEvent"], None]


@dataclass(frozen=True)
class DomainEvent:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    id: int | None = None  # the outbox event id (monotonic)


@dataclass(frozen=True)
class Subscription:
    """A handler and the stable key its "handled" rows are recorded under."""

    key: str
    handler: Subscriber


_subscribers: dict[str, list[Subscription]] = defaultdict(list)
_recorders: list[list[DomainEvent]] = []


def subscriber_key(handler: Subscriber) -> str:
    module = getattr(handler, "__module__", None)
    qualname = getattr(handler, "__qualname__", None)
    if not module or not qualname:
        raise ValueError(f"{handler!r} has no module and name: pass subscribe(..., key=...)")
    return f"{module}.{qualname}"


def subscribe(name: str, *, key: str | None = None) -> Callable[[Subscriber], Subscriber]:
    """Register ``handler`` for events called ``name``.

    ``key`` (default: the handler's dotted path) identifies the subscriber in the outbox's handled
    and failure rows, so it must stay the same across deployments; re-registering a key replaces
    the handler."""

    def register(handler: Subscriber) -> Subscriber:
        subscription = Subscription(key=key or subscriber_key(handler), handler=handler)
        registered = _subscribers[name]
        for i, existing in enumerate(registered):
            if existing.key == subscription.key:
                registered[i] = subscription
                break
        else:
            registered.append(subscription)
        return handler

    return register


def unsubscribe(name: str, handler: Subscriber) -> None:
    """Remove ``handler`` from ``name`` (tests)."""
    _subscribers[name] = [s for s in _subscribers.get(name, ()) if s.handler is not handler]


def subscribers_of(name: str) -> list[Subscription]:
    return list(_subscribers.get(name, ()))


def subscribed_names() -> list[str]:
    return sorted(name for name, subs in _subscribers.items() if subs)


def default_aggregate(name: str, payload: dict[str, Any]) -> str:
    """``deals.group.joined`` with ``group_public_id=X`` belongs to aggregate ``deals.group:X``."""
    parts = name.split(".")
    if len(parts) >= 3:
        public_id = payload.get(f"{parts[1]}_public_id")
        if isinstance(public_id, str) and public_id:
            return f"{parts[0]}.{parts[1]}:{public_id}"
    return ""


def publish(name: str, *, aggregate: str | None = None, **payload: Any) -> DomainEvent:
    """Write the event to the outbox in the current transaction and deliver it after the commit.

    The payload must be JSON (it is stored, and a worker may deliver it in another process);
    subscribers get the stored form in both paths."""
    payload = json.loads(json.dumps(payload))
    now = clock.now()
    row = _outbox_row(name, payload, now, aggregate=aggregate)
    row.save(force_insert=True)
    event = DomainEvent(name=name, payload=payload, occurred_at=now, id=row.pk)
    for recorder in _recorders:
        recorder.append(event)
    if row.delivered_at is None:
        _deliver_after_commit([event])
    return event


def _outbox_row(name: str, payload: dict[str, Any], now: datetime, *, aggregate: str | None = None):
    from shoploop.core.models import OutboxEvent

    return OutboxEvent(
        name=name,
        aggregate=default_aggregate(name, payload) if aggregate is None else aggregate,
        payload=payload,
        occurred_at=now,
        # The fast path delivers on commit; the worker only steps in after a grace period.
        next_attempt_at=now + timedelta(seconds=settings.OUTBOX_GRACE_SECONDS),
        # Nobody listens: nothing to deliver (the row stays for replay "since id N").
        delivered_at=None if _subscribers.get(name) else now,
    )


def publish_many(name: str, payloads: list[dict[str, Any]]) -> list[DomainEvent]:
    """``publish`` for many events of one kind at once (a batch of groups closed by one UPDATE):
    one INSERT for their outbox rows, and after the commit one delivery in chunks."""
    from shoploop.core.models import OutboxEvent

    payloads = json.loads(json.dumps(payloads))
    now = clock.now()
    rows = OutboxEvent.objects.bulk_create(_outbox_row(name, payload, now) for payload in payloads)
    events = [DomainEvent(name, row.payload, now, row.pk) for row in rows]
    for recorder in _recorders:
        recorder.extend(events)
    if events and rows[0].delivered_at is None:
        _deliver_after_commit(events)
    return events


def _deliver_after_commit(events: list[DomainEvent]) -> None:
    """The events of one commit are delivered together, in chunks, instead of in a transaction
    per event and subscriber.

    They join a list kept on the connection, and each publish registers an on-commit callback
    that remembers where its events start in it. Callbacks run in the order they were
    registered, so the first one that runs takes its events and every later one of the list;
    the callbacks of those find nothing left. An event whose callback Django discarded (published
    in a savepoint or transaction that was rolled back) is earlier in the list than any surviving
    callback's start, or has no outbox row (the delivery reads the rows), so it is never
    delivered."""
    from django.db import connection

    batch = getattr(connection, "shoploop_outbox_batch", None)
    if batch is None or not connection.run_on_commit:
        # No callback waits for the old list (its transaction was rolled back, or nothing
        # pending): start afresh so a rolled-back transaction's events are not kept.
        batch = connection.shoploop_outbox_batch = []
    start = len(batch)
    batch.extend(events)
    transaction.on_commit(lambda: _deliver_from(batch, start))


def _deliver_from(batch: list[DomainEvent], start: int) -> None:
    from django.db import connection

    from shoploop.core import outbox

    events = batch[start:]
    del batch[start:]
    if not connection.in_atomic_block and connection.shoploop_outbox_batch is batch:
        # Committed: whatever else is in the list was rolled back. Events the subscribers
        # publish belong to their own transactions' lists.
        connection.shoploop_outbox_batch = None
    if not events:
        return
    try:
        outbox.deliver_events(events)
    except Exception:
        # The events are in the outbox: the worker delivers them.
        logger.exception("on-commit delivery of %s events failed", len(events))


def deliver(event: DomainEvent) -> None:
    """Deliver one committed event to its subscribers in this process, each in its own
    transaction (``publish`` delivers a commit's events together instead).

    A failing subscriber is logged, recorded for a retry by the worker, and never stops the
    others."""
    from shoploop.core import outbox

    try:
        outbox.deliver_event(event)
    except Exception:
        # The event is in the outbox: the worker delivers it.
        logger.exception("on-commit delivery of %s #%s failed", event.name, event.id)


@contextmanager
def recorded_events() -> Iterator[list[DomainEvent]]:
    """Collect every event published inside the block, committed or not (for tests)."""
    recorded: list[DomainEvent] = []
    _recorders.append(recorded)
    try:
        yield recorded
    finally:
        _recorders.remove(recorded)
