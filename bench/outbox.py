"""Outbox delivery: events per second delivered by one worker process and by two at once.

Each round bulk-inserts pending outbox events (as a crashed publisher leaves them: committed,
never delivered) and lets the delivery worker (``shoploop.core.outbox.deliver_pending``) deliver
them all, alternately in one worker process and in two at once (1, 2, 1, 2, …, 1). Every event
has two subscribers, each writing one row, so one event costs two subscriber transactions (the
subscriber's write and its handled row) plus its share of the batch claim and the bulk "done".
Each two-worker round is compared with the mean of the one-worker rounds either side of it, and
``ratio`` is the median of those comparisons (target ≥ 1.8). Checks that every subscriber ran
exactly once per event and nothing is left pending.

    python -m bench.outbox            # 7 rounds of 10,000 events
    python -m bench.outbox --quick    # 7 rounds of 1,500 events, under 30 s

A first round, not counted, warms both workers up. The two worker processes are spawned once
(a fork of this connected parent can hang) and kept for every round.
"""

import multiprocessing
import os
import statistics
import time
from datetime import timedelta

from bench.support import arguments, throwaway_database

EVENT = "bench.outbox.happened"
SCOPES = ("bench-outbox:a", "bench-outbox:b")


def _register_subscribers() -> None:
    """Two subscribers, each writing one row per event (what a notification or a counter does)."""
    from shoploop.core.events import subscribe
    from shoploop.core.models import IdempotencyRecord

    def writer(scope: str):
        def write(event) -> None:
            IdempotencyRecord.objects.create(scope=scope, key=str(event.id), fingerprint="b")

        return write

    for scope in SCOPES:
        subscribe(EVENT, key=scope)(writer(scope))


def _deliver_in_worker(inbox, outbox) -> None:
    """A spawned process kept for every round: one ``deliver_pending(now)`` per message."""
    import django

    django.setup()
    from django.db import connection, connections

    from shoploop.core.outbox import deliver_pending

    _register_subscribers()
    try:
        connection.ensure_connection()
        outbox.put("up")
        while (now := inbox.get()) is not None:
            outbox.put(deliver_pending(now=now))
    except BaseException as error:  # reported in the parent, not swallowed
        outbox.put(error)
        raise
    finally:
        connections.close_all()


class _Workers:
    def __init__(self, count: int = 2):
        from django.db import connections

        connections.close_all()
        context = multiprocessing.get_context("spawn")
        self.outbox = context.Queue()
        self.inboxes = [context.Queue() for _ in range(count)]
        self.processes = [
            context.Process(target=_deliver_in_worker, args=(inbox, self.outbox))
            for inbox in self.inboxes
        ]
        for process in self.processes:
            process.start()
        self._collect(count, timeout=180)

    def _collect(self, count: int, timeout: float) -> list:
        answers = [self.outbox.get(timeout=timeout) for _ in range(count)]
        failures = [answer for answer in answers if isinstance(answer, BaseException)]
        if failures:
            raise RuntimeError(f"{len(failures)} worker(s) failed: {failures[0]!r}")
        return answers

    def deliver(self, count: int, now) -> tuple[list[int], float]:
        started = time.perf_counter()
        for inbox in self.inboxes[:count]:
            inbox.put(now)
        delivered = self._collect(count, timeout=1800)
        return delivered, time.perf_counter() - started

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for process in self.processes:
            process.join(timeout=30)


def _build_round(events: int):
    """``events`` pending events (not timed); returns a moment at which all are due."""
    from shoploop.core import clock
    from shoploop.core.models import OutboxEvent

    now = clock.now()
    OutboxEvent.objects.bulk_create(
        (
            OutboxEvent(
                name=EVENT,
                aggregate=f"bench.thing:{i % 997}",
                payload={"n": i},
                occurred_at=now,
                next_attempt_at=now,
            )
            for i in range(events)
        ),
        batch_size=5_000,
    )
    return now + timedelta(seconds=1)


def _check(expected: int) -> None:
    from django.db.models import Count

    from shoploop.core.models import IdempotencyRecord, OutboxEvent, OutboxHandled

    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists(), "events left"
    assert OutboxEvent.objects.count() == expected
    assert OutboxHandled.objects.count() == 2 * expected, "a subscriber missed or repeated one"
    for scope in SCOPES:
        rows = IdempotencyRecord.objects.filter(scope=scope)
        assert rows.count() == expected, (scope, rows.count(), expected)
        repeated = rows.values("key").annotate(n=Count("id")).filter(n__gt=1)
        assert not repeated.exists(), "a subscriber ran twice"


def _listed(values) -> str:
    return "[" + ", ".join(f"{value:,.0f}" for value in values) + "]"


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        events=(int, None, "pending events per round (default 10,000; quick 1,500)"),
        pairs=(int, None, "two-worker rounds (default 3); one-worker rounds: one more"),
    )
    events = args.events or (1_500 if args.quick else 10_000)
    pairs = args.pairs or 3
    plan = [1] + [2, 1] * pairs
    warm_up = 2
    with throwaway_database("outbox"):
        from django.conf import settings

        print(
            f"outbox: {len(plan)} rounds of {events:,} events, 2 subscribers each, "
            f"batches of {settings.OUTBOX_BATCH_SIZE}",
            flush=True,
        )
        workers = _Workers(2)
        rates = {1: [], 2: []}
        shares = []
        try:
            for index, count in enumerate([warm_up, *plan]):
                now = _build_round(events)
                delivered, seconds = workers.deliver(count, now)
                assert sum(delivered) == events, (delivered, events)
                if index:
                    rates[count].append(events / seconds)
                    if count == 2:
                        shares.append(min(delivered) / events)
        finally:
            workers.close()
        _check(expected=(len(plan) + 1) * events)
    one, two = rates[1], rates[2]
    ratios = [rate / ((one[i] + one[i + 1]) / 2) for i, rate in enumerate(two)]
    print(f"  one worker events/s {_listed(one)}; two workers events/s {_listed(two)}")
    print(
        "  ratios "
        + ", ".join(f"{ratio:.3f}" for ratio in ratios)
        + "; smaller worker's share "
        + ", ".join(f"{share:.2f}" for share in shares)
        + "; each subscriber ran once per event"
    )
    print(f"  load (1 min) {os.getloadavg()[0]:.2f}")
    # The last line, exactly as docs/benchmarks.md quotes it.
    print(
        f"outbox: events={events} one_worker_eps={statistics.median(one):.1f} "
        f"two_workers_eps={statistics.median(two):.1f} ratio={statistics.median(ratios):.3f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
