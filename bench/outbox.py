"""Outbox delivery: events per second delivered by one worker process and by two at once.

Each round bulk-inserts pending outbox events (as a crashed publisher leaves them: committed,
never delivered) and lets the delivery worker (``shoploop.core.outbox.deliver_pending``) deliver
them all, alternately in one worker process and in two at once (1, 2, 1, 2, …, 1). Every event
has two subscribers, each writing one row, so one event costs two subscriber transactions (the
subscriber's write and its handled row) plus its share of the batch claim and the bulk "done".
Each two-worker round is compared with the mean of the one-worker rounds either side of it, and
``ratio`` is the median of those comparisons (target ≥ 1.8). Checks that every subscriber ran
exactly once per event and nothing is left pending.

The ceiling: how much two processes can gain on this machine at all. Each outbox round is
followed by a "ceiling" round of as many events, delivered by the same two processes with the
outbox's own chunk code (handled rows, the subscribers, "done") but over fixed shares of the
events (``id % 2``): no claim, no lease, no ordering check, nothing shared but the tables and the
cores. ``ceiling_ratio`` is its two-over-one ratio, computed the same way, and ``of_ceiling`` =
``ratio`` ÷ ``ceiling_ratio``: the part of what the machine allows that the real workers reach.
Each worker also reports the CPU it and its PostgreSQL backend spent (``cpu_us_per_event_*``):
CPU per event that grows with two workers is the cost of their coordination or of the machine's
shared caches and memory, not of waiting.

    python -m bench.outbox            # 7 rounds of 10,000 events
    python -m bench.outbox --quick    # 7 rounds of 1,000 events, under 30 s

A first round, not counted, warms both workers up. The two worker processes are spawned once
(a fork of this connected parent can hang) and kept for every round.
"""

import multiprocessing
import statistics
import time
from datetime import timedelta

from bench.support import arguments, summary, throwaway_database

EVENT = "bench.outbox.happened"
SCOPES = ("bench-outbox:a", "bench-outbox:b")
# "outbox": the real workers (deliver_pending); "ceiling": fixed shares, no coordination.
MODES = ("outbox", "ceiling")


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

    from bench.support import cpu_seconds
    from shoploop.core.outbox import deliver_pending

    _register_subscribers()
    try:
        connection.ensure_connection()
        outbox.put("up")
        while (message := inbox.get()) is not None:
            now, share = message
            cpu = cpu_seconds(whole_process=True)
            delivered = deliver_pending(now=now) if share is None else _deliver_share(now, *share)
            outbox.put((delivered, cpu_seconds(whole_process=True) - cpu))
    except BaseException as error:  # reported in the parent, not swallowed
        outbox.put(error)
        raise
    finally:
        connections.close_all()


def _deliver_share(now, worker: int, workers: int) -> int:
    """The ceiling: the same deliveries (the outbox's own chunk code: handled rows, subscribers,
    "done") of a fixed share of the events (``id % workers == worker``), with no claiming, no
    lease and no ordering check. Two such workers share nothing but the tables and the machine,
    so their speed-up over one is what this machine allows the real workers."""
    from django.conf import settings
    from django.db import transaction
    from django.db.models import F

    from shoploop.core.models import OutboxEvent
    from shoploop.core.outbox import _deliver_chunk_at_once

    rows = list(
        OutboxEvent.objects.annotate(share=F("id") % workers)
        .filter(delivered_at__isnull=True, share=worker)
        .order_by("id")
        .only("id", "name", "payload", "occurred_at")
    )
    chunk = settings.OUTBOX_CHUNK_SIZE
    done = 0
    for start in range(0, len(rows), chunk):
        with transaction.atomic():
            done += _deliver_chunk_at_once(rows[start : start + chunk], set(), {}, now)
    return done


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

    def deliver(self, count: int, now, *, partitioned=False) -> tuple[list[int], float, float]:
        """Events each worker delivered, the wall time, and the CPU the workers and their
        PostgreSQL backends spent. ``partitioned``: the ceiling (``_deliver_share``)."""
        started = time.perf_counter()
        for worker, inbox in enumerate(self.inboxes[:count]):
            inbox.put((now, (worker, count) if partitioned else None))
        answers = self._collect(count, timeout=1800)
        seconds = time.perf_counter() - started
        return [n for n, _cpu in answers], seconds, sum(cpu for _n, cpu in answers)

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
        events=(int, None, "pending events per round (default 10,000; quick 1,000)"),
        pairs=(int, None, "two-worker rounds (default 3); one-worker rounds: one more"),
    )
    events = args.events or (1_000 if args.quick else 10_000)
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
        runs = {mode: {1: [], 2: []} for mode in MODES}  # (events/s, CPU s per event) per round
        shares = []
        try:
            for index, count in enumerate([warm_up, *plan]):
                for mode in MODES:
                    now = _build_round(events)
                    delivered, seconds, cpu = workers.deliver(
                        count, now, partitioned=mode == "ceiling"
                    )
                    assert sum(delivered) == events, (mode, delivered, events)
                    if index:
                        runs[mode][count].append((events / seconds, cpu / events))
                        if count == 2 and mode == "outbox":
                            shares.append(min(delivered) / events)
        finally:
            workers.close()
        _check(expected=(len(plan) + 1) * events * len(MODES))
    figures = {mode: _figures(runs[mode]) for mode in MODES}
    outbox, ceiling = figures["outbox"], figures["ceiling"]
    for mode, label in (("outbox", "outbox workers"), ("ceiling", "ceiling (fixed shares)")):
        one, two, ratios, cpu_one, cpu_two = figures[mode]
        print(
            f"  {label}: one worker events/s {_listed(one)}; two workers {_listed(two)}; ratios "
            + ", ".join(f"{ratio:.3f}" for ratio in ratios)
            + f"; CPU per event (workers + their PostgreSQL backends) {cpu_one:.0f} µs with one, "
            f"{cpu_two:.0f} µs with two"
        )
    print(
        "  smaller worker's share "
        + ", ".join(f"{share:.2f}" for share in shares)
        + "; each subscriber ran once per event"
    )
    ratio = statistics.median(outbox[2])
    ceiling_ratio = statistics.median(ceiling[2])
    summary(
        "outbox",
        events=events,
        one_worker_eps=statistics.median(outbox[0]),
        two_workers_eps=statistics.median(outbox[1]),
        cpu_us_per_event_one=outbox[3],
        cpu_us_per_event_two=outbox[4],
        ceiling_ratio=ceiling_ratio,
        of_ceiling=ratio / ceiling_ratio,
        ratio=ratio,
    )


def _figures(rounds: dict[int, list[tuple[float, float]]]):
    """Events/s of the one- and two-worker rounds, each two-worker round's ratio to the mean of
    the one-worker rounds either side of it, and the median CPU µs per event of each."""
    one = [rate for rate, _cpu in rounds[1]]
    two = [rate for rate, _cpu in rounds[2]]
    ratios = [rate / ((one[i] + one[i + 1]) / 2) for i, rate in enumerate(two)]
    cpu_one = statistics.median(cpu for _rate, cpu in rounds[1]) * 1e6
    cpu_two = statistics.median(cpu for _rate, cpu in rounds[2]) * 1e6
    return one, two, ratios, cpu_one, cpu_two


if __name__ == "__main__":
    main()
