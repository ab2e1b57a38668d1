"""Test helpers shared by the apps' tests: races and held row locks (PostgreSQL, real threads),
refusals and the events written."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction

from shoploop.core.errors import DomainError


def race(work: Callable[[int], Any], count: int) -> list[Any]:
    """Run ``work(i)`` for i in range(count) in threads released together by a barrier.

    Returns one outcome per index: what ``work`` returned, or the exception it raised (so a test
    can count successes and refusals). Each thread closes its own database connection.
    """
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = work(index)
        except Exception as exc:  # an outcome to assert on, not an error of the harness
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@contextmanager
def holding_row_lock(model, pk) -> Iterator[None]:
    """Another worker (a thread with its own connection) holds row ``pk`` of ``model`` locked
    (``SELECT … FOR UPDATE``) for the duration of the block: PostgreSQL only."""
    locked, finished = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                model.objects.select_for_update().get(pk=pk)
                locked.set()
                finished.wait(timeout=120)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(timeout=60), "the other worker never took the lock"
    try:
        yield
    finally:
        finished.set()
        thread.join()


def refusal(call: Callable[[], Any]) -> DomainError:
    """The DomainError ``call()`` raises (the test fails if it raises none)."""
    import pytest

    with pytest.raises(DomainError) as caught:
        call()
    return caught.value


def said(call: Callable[[], Any]) -> tuple[str, str]:
    """(code, message) of the refusal ``call()`` raises."""
    error = refusal(call)
    return error.code, str(error.message)


def outbox_payloads(name: str) -> list[dict]:
    """The payloads of the outbox events called ``name``, in the order they were written."""
    from shoploop.core.models import OutboxEvent

    return [e.payload for e in OutboxEvent.objects.filter(name=name).order_by("pk")]
