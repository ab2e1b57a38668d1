"""Test helpers shared by every app's race tests (PostgreSQL, real threads)."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


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
