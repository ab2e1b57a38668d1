"""Subscribers for the outbox tests, importable by a child process too (same keys there and here).

Each run writes a NEW row (a fresh key), so a subscriber that ran twice for an event shows up as
two rows instead of hiding behind a unique constraint."""

import uuid

from shoploop.core.events import DomainEvent, subscribe
from shoploop.core.models import IdempotencyRecord

EVENT = "test.outbox.happened"
SCOPES = ("outbox-test:first", "outbox-test:second")


def _write(scope: str, event: DomainEvent) -> None:
    IdempotencyRecord.objects.create(
        scope=scope, key=f"{event.id}:{uuid.uuid4().hex}", fingerprint=str(event.payload["n"])
    )


@subscribe(EVENT)
def first(event: DomainEvent) -> None:
    _write(SCOPES[0], event)


@subscribe(EVENT)
def second(event: DomainEvent) -> None:
    _write(SCOPES[1], event)


def runs_per_event(scope: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    for key in IdempotencyRecord.objects.filter(scope=scope).values_list("key", flat=True):
        event_id = int(key.split(":")[0])
        counts[event_id] = counts.get(event_id, 0) + 1
    return counts
