"""The one clock. Services take ``now`` from here so tests can move time without patching Django."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

_frozen: list[datetime] = []


def now() -> datetime:
    return _frozen[-1] if _frozen else timezone.now()


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Make ``now()`` return ``moment`` inside the block (tests and the simulator)."""
    if timezone.is_naive(moment):
        raise ValueError("frozen_at needs an aware datetime")
    _frozen.append(moment)
    try:
        yield
    finally:
        _frozen.pop()
