"""Insights: events rolled up per second at 1 M and 10 M outbox events, one dashboard at both
sizes, and the rollup with one and with two workers.

    python -m bench.insights            # 1,000,000 events, then 10,000,000 (not run on the
                                        # shared test machine: see docs/benchmarks.md)
    python -m bench.insights --quick    # 1,500 events, then 15,000 (under 30 s)
    python -m bench.insights --budget 1800  # stop the 10× rollup after 30 minutes (partial)

On a throwaway PostgreSQL database (``bench.support.throwaway_database``) it writes outbox events
with one ``INSERT … SELECT generate_series`` per size: a realistic mix in every block of 20 (8
paid orders with a line each, 2 community joins, 2 comments, a share link, 2 visits through it,
the purchase it brought, a shop follow, a chat message, a sign-up, and a payment event insights
does not read), over a fixed population (users, shops, communities, products). Event times grow
with the id, as in a live outbox: each size is 8 weeks of events at the same rate, so the 10×
outbox is 80 weeks of history, and each page is measured with the clock at its newest event.

1. ``rate_1x``: ``insights.services.roll_up`` reads and rolls up the first size (one worker), in
   events per second of wall time; ``cpu_us_per_event`` the CPU it and its PostgreSQL backend
   spent per event (``bench.support.cpu_seconds``: steadier than wall time on a busy machine).
2. ``page_1x_ms``: one merchant dashboard (``insights.views.dashboard_context`` and its
   template), median of ``--rounds`` after one warm-up.
3. Two workers: the rollups are forgotten (``services.rebuild``) and the same events are rolled up
   by two threads at once (``roll_up`` each, on its own connection): ``two_workers_rate`` and
   their CPU per event. The cursor row lock serialises their batches, so two workers are no
   faster than one; the point is that they are safe (the totals are checked equal) and cost
   about the same CPU per event.
4. The outbox grows to ``--scale`` × (10×) and the new events are rolled up: ``rate_10x``;
   then ``page_10x_ms``; ``ratio`` = page_10x_ms / page_1x_ms (target ≤ 1.5). With
   ``--budget`` the rollup stops after that many seconds; if events are left, the line says
   ``rolled_up_10x`` and ``pending_10x`` instead of a page time (a page over half-rolled-up
   weeks would be too fast to mean anything).

The last line is ``insights: key=value … ratio=…``.
"""

import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from bench.support import arguments, cpu_seconds, summary, throwaway_database

CATEGORIES = ("food", "fashion", "beauty", "home", "digital", "books", "sports", "kids")

# One row per event: its name and payload from i (see the module docstring for the mix).
EVENTS_SQL = """
INSERT INTO core_outboxevent (name, aggregate, payload, occurred_at, next_attempt_at, delivered_at)
SELECT e.name, '', e.payload, t.at, t.at, t.at
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g(i)  -- bigint: i × 7919 passes 2³¹
CROSS JOIN LATERAL (
    SELECT g.i - g.i %% 20 AS base, g.i %% 20 AS slot,
           'U' || lpad((g.i * 7919 %% %(users)s)::text, 9, '0') AS person,
           'U' || lpad(((g.i - g.i %% 20) * 7919 %% %(users)s)::text, 9, '0') AS buyer0,
           'S' || lpad((g.i %% %(shops)s)::text, 6, '0') AS shop,
           'C' || lpad((g.i * 31 %% %(communities)s)::text, 6, '0') AS community,
           'P' || lpad(((g.i - g.i %% 20) %% %(products)s)::text, 7, '0') AS product
) AS v
CROSS JOIN LATERAL (
    SELECT %(base)s::timestamptz + interval '1 microsecond' * (g.i * %(step_us)s) AS at
) AS t
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN v.slot < 8 THEN 'orders.order.paid'
        WHEN v.slot < 10 THEN 'communities.community.member_joined'
        WHEN v.slot < 12 THEN 'content.comment.created'
        WHEN v.slot = 12 THEN 'referrals.link.created'
        WHEN v.slot < 15 THEN 'referrals.link.visited'
        WHEN v.slot = 15 THEN 'referrals.purchase.attributed'
        WHEN v.slot = 16 THEN 'catalog.shop.followed'
        WHEN v.slot = 17 THEN 'chat.message.sent'
        WHEN v.slot = 18 THEN 'accounts.user.signed_up'
        ELSE 'ledger.payment.succeeded'
    END AS name,
    CASE
        WHEN v.slot < 8 THEN jsonb_build_object(
            'order_public_id', 'O' || g.i, 'buyer_public_id',
            CASE WHEN v.slot = 0 THEN v.buyer0 ELSE v.person END,
            'shop_public_id', v.shop, 'total_fen', 1000 + g.i %% 30000,
            'lines', jsonb_build_array(jsonb_build_object(
                'product_public_id', v.product, 'category', (%(categories)s::text[])[1 + g.i %% 8],
                'quantity', 1, 'paid_fen', 1000 + g.i %% 30000)))
        WHEN v.slot < 10 THEN jsonb_build_object(
            'community_public_id', v.community, 'user_public_id', v.person, 'via', 'join')
        WHEN v.slot < 12 THEN jsonb_build_object(
            'comment_public_id', 'M' || g.i, 'post_public_id', 'Q' || v.base,
            'community_public_id', v.community, 'author_public_id', v.person)
        WHEN v.slot = 12 THEN jsonb_build_object(
            'link_public_id', 'L' || v.base, 'sharer_public_id', v.person, 'kind', 'product',
            'target_public_id', v.product, 'community_public_id', v.community)
        WHEN v.slot < 15 THEN jsonb_build_object(
            'link_public_id', 'L' || v.base, 'visitor_public_id',
            CASE WHEN v.slot = 13 THEN v.buyer0 ELSE v.person END, 'kind', 'product',
            'target_public_id', v.product)
        WHEN v.slot = 15 THEN jsonb_build_object(
            'order_public_id', 'O' || v.base, 'link_public_id', 'L' || v.base,
            'buyer_public_id', v.buyer0, 'total_fen', 1000)
        WHEN v.slot = 16 THEN jsonb_build_object(
            'user_public_id', v.person, 'shop_public_id', v.shop)
        WHEN v.slot = 17 THEN jsonb_build_object(
            'conversation_public_id', 'V' || v.base, 'sender_public_id', v.person)
        WHEN v.slot = 18 THEN jsonb_build_object('user_public_id', v.person)
        ELSE jsonb_build_object('payment_public_id', 'Y' || g.i, 'amount_fen', 100)
    END AS payload
) AS e
"""


def write_events(first: int, last: int, population: dict, timeline: dict) -> float:
    """Events ``first``..``last`` (inclusive); seconds it took."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            EVENTS_SQL,
            {
                "first": first,
                "last": last,
                "categories": list(CATEGORIES),
                **population,
                **timeline,
            },
        )
        cursor.execute("ANALYZE core_outboxevent")
    return time.perf_counter() - started


def roll_up_all(budget: float | None = None) -> tuple[int, float, float]:
    """(events, wall seconds, CPU seconds) of one worker rolling up everything pending, or as
    many batches as start within ``budget`` seconds."""
    from shoploop.insights import services

    cpu, started = cpu_seconds(), time.perf_counter()
    if budget is None:
        events = services.roll_up(wait_to_settle=False).events
    else:
        events = 0
        while time.perf_counter() - started < budget:
            done = services.roll_up(wait_to_settle=False, max_batches=1).events
            if not done:
                break
            events += done
    return events, time.perf_counter() - started, cpu_seconds() - cpu


def roll_up_with_two_workers() -> tuple[int, float, float]:
    """Two threads, each with its own connection, roll up at once."""
    from django.db import connection

    from shoploop.insights import services

    results: list[tuple[int, float]] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        try:
            barrier.wait()
            cpu = cpu_seconds()
            events = services.roll_up(wait_to_settle=False).events
            results.append((events, cpu_seconds() - cpu))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return sum(e for e, _ in results), wall, sum(c for _, c in results)


def page_ms(scope, rounds: int, at) -> float:
    """The median dashboard render with the clock at ``at`` (the newest event written), after
    ``ANALYZE`` of the rollup tables (what autovacuum does on a live database)."""
    from django.db import connection
    from django.template.loader import render_to_string
    from django.utils import translation

    from shoploop.core import clock
    from shoploop.insights.views import dashboard_context

    with connection.cursor() as cursor:
        for table in ("insights_tally", "insights_weeklydistinct", "insights_knownproduct"):
            cursor.execute(f"ANALYZE {table}")
    timings = []
    with translation.override("en"), clock.frozen_at(at):
        for _ in range(rounds + 1):
            started = time.perf_counter()
            render_to_string("insights/dashboard.html", dashboard_context(scope))
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[1:])


def platform_orders() -> int:
    from django.db.models import Sum

    from shoploop.insights.models import Tally

    rows = Tally.objects.filter(grain="d", scope="platform", metric="orders")
    return rows.aggregate(n=Sum("value"))["n"] or 0


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        events=(int, None, "events at 1× (default 1,000,000; quick 1,500)"),
        users=(int, None, "people (default 200,000; quick 5,000)"),
        rounds=(int, 5, "dashboard renders measured per size"),
        scale=(int, 10, "the second size, in multiples of the first"),
        budget=(float, None, "seconds the second size's rollup may take (then it stops: partial)"),
    )
    size = args.events or (1_500 if args.quick else 1_000_000)
    users = args.users or (5_000 if args.quick else 200_000)
    population = {
        "users": users,
        "shops": max(10, users // 100),
        "communities": max(10, users // 50),
        "products": max(50, users // 10),
    }
    with throwaway_database("insights"):
        from shoploop.insights import services
        from shoploop.insights.selectors import Scope

        scope = Scope("shop", "S000001", "bench")
        # Event i happens at base + i × step: each size spans 8 weeks, the 10× history 80.
        base = datetime.now(UTC) - timedelta(weeks=80, hours=1)
        step = timedelta(weeks=8) / size
        timeline = {"base": base, "step_us": step / timedelta(microseconds=1)}
        written = write_events(1, size, population, timeline)
        print(f"wrote {size} events in {written:.1f} s", flush=True)
        events_1, wall_1, cpu_1 = roll_up_all()
        orders_1 = platform_orders()
        page_1 = page_ms(scope, args.rounds, base + step * size)
        print(
            f"1x: {events_1} events rolled up in {wall_1:.1f} s; page {page_1:.1f} ms", flush=True
        )

        services.rebuild()
        events_2w, wall_2w, cpu_2w = roll_up_with_two_workers()
        assert events_2w == events_1, (events_2w, events_1)
        assert platform_orders() == orders_1, "two workers counted differently"
        print(f"two workers: {events_2w} events in {wall_2w:.1f} s, same totals", flush=True)

        large = args.scale * size
        written = write_events(size + 1, large, population, timeline)
        print(f"wrote {large - size} more events in {written:.1f} s", flush=True)
        pending = _pending_events()
        events_10, wall_10, cpu_10 = roll_up_all(args.budget)
        x = f"{args.scale}x"
        large_figures = {
            f"events_{x}": large,
            f"rate_{x}": events_10 / wall_10,
            f"cpu_us_per_event_{x}": 1e6 * cpu_10 / events_10,
        }
        if events_10 < pending:
            # The newest weeks are not rolled up yet: a page now would read less than a real one.
            print(f"{x}: stopped after {wall_10:.0f} s, {events_10} of {pending} events")
            large_figures.update({f"rolled_up_{x}": events_10, f"pending_{x}": pending})
        else:
            page_10 = page_ms(scope, args.rounds, base + step * large)
            print(f"{x}: {events_10} events rolled up in {wall_10:.1f} s; page {page_10:.1f} ms")
            large_figures.update({f"page_{x}_ms": page_10, "ratio": page_10 / page_1})

    summary(
        "insights",
        events_1x=size,
        rate_1x=events_1 / wall_1,
        cpu_us_per_event_1x=1e6 * cpu_1 / events_1,
        two_workers_rate=events_2w / wall_2w,
        two_workers_cpu_us_per_event=1e6 * cpu_2w / events_2w,
        page_1x_ms=page_1,
        **large_figures,
    )


def _pending_events() -> int:
    """Events after the cursor that the rollup reads."""
    from shoploop.core.models import OutboxEvent
    from shoploop.insights.ingest import INGESTORS
    from shoploop.insights.models import Cursor

    after = Cursor.objects.get(name="events").last_event_id
    return OutboxEvent.objects.filter(id__gt=after, name__in=list(INGESTORS)).count()


if __name__ == "__main__":
    main()
