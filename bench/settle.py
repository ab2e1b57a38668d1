"""Settling expired groups: one worker against two.

Builds expired open groups on PostgreSQL — most of them empty (their unpaid seats were freed
earlier, the common case), some with a paid leader whose money must be voided and refunded —
then runs the ``deals_groups.settle_groups`` deadline handler in one worker process, builds the
same world again and runs it in two worker processes at once. Prints the rate of each and the
speed-up; checks that every group was settled exactly once and that the ledger is clean.

    python -m bench.settle            # 100,000 groups per round (400 of them with money)
    python -m bench.settle --quick    # 5,000 groups per round (20 with money)

``settle_groups`` closes the empty groups in batches (one conditional UPDATE per 1,000 groups,
rows taken with SKIP LOCKED, so two workers close different batches), then settles each group
with members in its own transaction. The empty groups are cheap (about 10,000 groups/s); a
group with money costs about 100 ms, mostly in orders and ledger (``cancel_deal_order`` about
36 statements, the refund task run in-process about 14), so the money groups dominate the quick
round. Workers are spawned processes (a fork of this threaded, connected parent can hang) and
are timed from the moment all of them are set up.
"""

import multiprocessing
import time
from datetime import timedelta

from bench.support import address_for, arguments, summary, throwaway_database

CAMPAIGNS = 20


def _world(*, label: str):
    """An approved shop with one SKU and ``CAMPAIGNS`` running group campaigns."""
    from shoploop.accounts.models import User
    from shoploop.catalog import services as catalog
    from shoploop.core import clock
    from shoploop.deals.groups import services as groups

    now = clock.now()
    operator = User.objects.create_user(f"+8613900{label}0001", is_staff=True)
    merchant = User.objects.create_user(f"+8613900{label}0002", phone_verified_at=now)
    shop = catalog.approve_shop(
        shop=catalog.apply_for_shop(user=merchant, name=f"bench {label}", contact="bench"),
        actor=operator,
    )
    product = catalog.create_product(
        shop=shop, actor=merchant, title="bench", description="", category="food"
    )
    sku = catalog.add_sku(
        product=product, actor=merchant, options={}, price_fen=5000, stock=900_000
    )
    catalog.publish_product(product=product, actor=merchant)
    return [
        groups.create_campaign(
            actor=merchant,
            sku=sku,
            group_price_fen=3900,
            group_size=5,
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(days=30),
            stock=40_000,
        )
        for _ in range(CAMPAIGNS)
    ]


def _paid_groups(campaigns, count: int, *, label: str) -> None:
    """Groups whose leader paid (through the services and a sandbox payment callback)."""
    from shoploop.accounts.models import User
    from shoploop.core import clock
    from shoploop.core.ids import new_public_id
    from shoploop.deals.groups import services as groups
    from shoploop.ledger.providers.base import SUCCEEDED, CallbackEvent
    from shoploop.ledger.services import payments

    for index in range(count):
        leader = User.objects.create_user(
            f"+861370{label}{index:05d}", phone_verified_at=clock.now()
        )
        seat = groups.open_group(
            campaign=campaigns[index % len(campaigns)],
            user=leader,
            address_id=address_for(leader),
        )
        payment = payments.payment_by_public_id(public_id=seat.order.checkout.payment_public_id)
        payments.record_payment_event(
            provider=payment.provider,
            event=CallbackEvent(
                event_id=f"evt_{new_public_id()}",
                payment_public_id=payment.public_id,
                kind=SUCCEEDED,
                amount=payment.amount,
            ),
        )


def _empty_groups(campaigns, count: int) -> None:
    """Open groups past their deadline with no seat left: bulk-inserted, they only need closing."""
    from shoploop.core import clock
    from shoploop.deals.groups.models import Group

    leader = campaigns[0].shop.owner  # a leader is required; it plays no part in settling
    now = clock.now()
    batch = [
        Group(
            campaign=campaigns[index % len(campaigns)],
            leader=leader,
            size=5,
            deadline=now - timedelta(minutes=1),
            seats_taken=0,
            created_at=now - timedelta(days=1),
        )
        for index in range(count)
    ]
    Group.objects.bulk_create(batch, batch_size=5_000)


def _expire_everything(at) -> None:
    from shoploop.deals.groups.models import Group

    Group.objects.filter(state=Group.State.OPEN).update(deadline=at)


def _settle_in_worker(now, ready, start, results) -> None:
    """A fresh process (spawned, not forked: the parent has threads and open sockets): set Django
    up on the benchmark's database (its URL is in the inherited environment), say ready, wait
    for the start, settle."""
    import django

    django.setup()
    from django.db import connection, connections

    from shoploop.deals.groups import services as groups

    try:
        connection.ensure_connection()
        ready.put(True)
        start.wait()
        results.put(groups.settle_groups(now))
    except BaseException as error:  # reported in the parent, not swallowed
        results.put(error)
        raise
    finally:
        connections.close_all()


def _run_workers(count: int, now) -> tuple[int, float]:
    """Start ``count`` worker processes; time from the moment all are set up until all are done."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("spawn")
    ready, results, start = context.Queue(), context.Queue(), context.Event()
    workers = [
        context.Process(target=_settle_in_worker, args=(now, ready, start, results))
        for _ in range(count)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    started = time.perf_counter()
    start.set()
    outcomes = [results.get(timeout=1800) for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures:
        raise RuntimeError(f"{len(failures)} worker(s) failed: {failures[0]!r}")
    settled = sum(outcomes)
    print(f"  {count} worker(s): settled {settled:,} groups in {elapsed:.2f} s", flush=True)
    return settled, elapsed


def _round(*, label: str, groups_total: int, with_money: int, workers: int) -> tuple[int, float]:
    from shoploop.core import clock

    started = time.perf_counter()
    campaigns = _world(label=label)
    _paid_groups(campaigns, with_money, label=label)
    _empty_groups(campaigns, groups_total - with_money)
    deadline = clock.now() - timedelta(seconds=1)
    _expire_everything(deadline)
    print(
        f"  built {groups_total:,} expired groups in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return _run_workers(workers, clock.now())


def _check(expected: int, refunds_expected: int) -> None:
    from shoploop.deals.groups.models import Group
    from shoploop.ledger.models import Refund
    from shoploop.ledger.verification import verify_ledger

    assert not Group.objects.filter(state=Group.State.OPEN).exists(), "open groups left"
    failed = Group.objects.filter(state=Group.State.FAILED).count()
    assert failed == expected, (failed, expected)
    refunds = Refund.objects.count()
    assert refunds == refunds_expected, (refunds, refunds_expected)
    assert verify_ledger().ok, "ledger not clean"


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        groups=(int, None, "expired groups per round"),
        with_money=(int, None, "of which with a paid leader"),
    )
    groups_total = args.groups or (5_000 if args.quick else 100_000)
    with_money = args.with_money if args.with_money is not None else groups_total // 250
    with throwaway_database("bench_settle"):
        print(
            f"settle: {groups_total:,} expired groups per round, {with_money} with money",
            flush=True,
        )
        one_settled, one_time = _round(
            label="1", groups_total=groups_total, with_money=with_money, workers=1
        )
        two_settled, two_time = _round(
            label="2", groups_total=groups_total, with_money=with_money, workers=2
        )
        _check(expected=2 * groups_total, refunds_expected=2 * with_money)
        assert one_settled == two_settled == groups_total, (one_settled, two_settled)
    one_rate, two_rate = groups_total / one_time, groups_total / two_time
    print(f"  one worker {one_rate:,.0f} groups/s, two workers {two_rate:,.0f} groups/s")
    summary(
        "settle",
        groups=groups_total,
        with_money=with_money,
        one_worker_per_s=round(one_rate, 1),
        two_workers_per_s=round(two_rate, 1),
        ratio=round(two_rate / one_rate, 3),
    )


if __name__ == "__main__":
    main()
