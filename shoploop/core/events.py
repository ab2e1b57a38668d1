"""Domain events: published inside a service, delivered to subscribers after the commit.

Subscribers register in their app's ``AppConfig.ready`` with ``subscribe``. A subscriber's failure
is logged and never undoes the committed change that published the event.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from shoploop.core import clock

logger = logging.getLogger(__name__)

Subscriber = Callable[["DomainEvent"], None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)
_recorders: list[list["DomainEvent"]] = []


@dataclass(frozen=True)
class DomainEvent:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    occurred_at: Any = None


def subscribe(name: str) -> Callable[[Subscriber], Subscriber]:
    def register(handler: Subscriber) -> Subscriber:
        if handler not in _subscribers[name]:
            _subscribers[name].append(handler)
        return handler

    return register


def publish(name: str, **payload: Any) -> DomainEvent:
    """Queue an event for delivery when the current transaction commits (now, if there is none)."""
    event = DomainEvent(name=name, payload=payload, occurred_at=clock.now())
    for recorder in _recorders:
        recorder.append(event)
    transaction.on_commit(lambda: deliver(event))
    return event


def deliver(event: DomainEvent) -> None:
    for handler in list(_subscribers.get(event.name, ())):
        try:
            handler(event)
        except Exception:
            logger.exception("subscriber %s failed on %s", handler.__qualname__, event.name)


@contextmanager
def recorded_events() -> Iterator[list[DomainEvent]]:
    """Collect every event published inside the block, committed or not (for tests)."""
    recorded: list[DomainEvent] = []
    _recorders.append(recorded)
    try:
        yield recorded
    finally:
        _recorders.remove(recorded)
