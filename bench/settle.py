"""Settling expired groups: one worker against two.

Builds expired open groups on PostgreSQL — most of them empty (their unpaid seats were freed
earlier, the common case), some with a paid leader whose money must be voided and refunded — in
several rounds, then runs the ``deals_groups.settle_groups`` deadline handler round by round,
alternately in one worker process and in two at once (1, 2, 1, 2, …, 1). Each two-worker round
is compared with the mean of the one-worker rounds either side of it, and ``ratio`` is the
median of those comparisons: on a shared machine the load changes from second to second, and a
single pair of short rounds gave 2.24 in one run and 0.88 in the next. Checks that every group
was settled exactly once and that the ledger is clean.

    python -m bench.settle            # 7 rounds of 20,000 groups (80 of them with money)
    python -m bench.settle --quick    # 11 rounds of 2,000 groups (16 with money), about 25 s

A first round, not counted, warms both workers up. Each round's groups are built (not timed)
just before it, while the workers wait, so every round starts from the same state. The two
worker processes are spawned once (a fork of this threaded, connected parent can hang) and kept.

``settle_groups`` closes the empty groups in batches (one conditional UPDATE per 1,000 groups,
rows taken with SKIP LOCKED, so two workers close different batches), then settles each group
with members in its own transaction. A batch's ``deals.group.failed`` events are written by one
INSERT and delivered in chunks (``publish_many``), so an empty group costs about 0.2 ms (7 ms
and 7 statements when each event had its own delivery); a group with money costs about 65 ms
and 116 statements (the settle 52, the refund task run in-process 16, three events delivered
about 50), so the 16 groups with money are three quarters of a quick round.
"""

import gc
import multiprocessing
import statistics
import time
from datetime import timedelta

from bench.support import address_for, arguments, summary, throwaway_database

CAMPAIGNS = 20
QUICK_WITH_MONEY = 16


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
    from shoploop.deals.groups import services as groups
    from shoploop.ledger.services import payments
    from shoploop.ledger.testing import report_payment

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
        report_payment(payment)


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


def _settle_in_worker(inbox, outbox) -> None:
    """A fresh process (spawned, not forked: the parent has threads and open sockets), kept for
    every round: Django set up on the benchmark's database (its URL is in the inherited
    environment), then one ``settle_groups(now)`` per message until None."""
    import django

    django.setup()
    from django.db import connection, connections

    from shoploop.deals.groups import services as groups

    try:
        connection.ensure_connection()
        outbox.put("up")
        while (now := inbox.get()) is not None:
            # No cyclic garbage collection inside a timed round (collected between rounds): a
            # pause lands in whichever round crosses the threshold.
            gc.enable()
            gc.collect()
            gc.disable()
            outbox.put(groups.settle_groups(now))
    except BaseException as error:  # reported in the parent, not swallowed
        outbox.put(error)
        raise
    finally:
        connections.close_all()


class _Workers:
    """Two spawned worker processes; a round gives its deadline to one or to both."""

    def __init__(self, count: int = 2):
        from django.db import connections

        connections.close_all()
        context = multiprocessing.get_context("spawn")
        self.outbox = context.Queue()
        self.inboxes = [context.Queue() for _ in range(count)]
        self.processes = [
            context.Process(target=_settle_in_worker, args=(inbox, self.outbox))
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

    def settle(self, count: int, now) -> tuple[int, float]:
        """``count`` workers settle everything due at ``now``: (groups settled, seconds)."""
        started = time.perf_counter()
        for inbox in self.inboxes[:count]:
            inbox.put(now)
        settled = sum(self._collect(count, timeout=1800))
        return settled, time.perf_counter() - started

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for process in self.processes:
            process.join(timeout=30)


def _build_round(campaigns, *, index: int, groups_total: int, with_money: int):
    """One round's expired groups (built while no worker runs, not timed), all with one deadline
    in the past; the earlier rounds' groups are settled by then, so every round starts from the
    same state: only its own groups open."""
    from shoploop.core import clock
    from shoploop.deals.groups.models import Group

    _paid_groups(campaigns, with_money, label=f"{index:02d}")
    _empty_groups(campaigns, groups_total - with_money)
    deadline = clock.now() - timedelta(seconds=1)
    Group.objects.filter(state=Group.State.OPEN).update(deadline=deadline)
    return clock.now()


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


def _listed(values) -> str:
    return "[" + ", ".join(f"{value:,.0f}" for value in values) + "]"


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        groups=(int, None, "expired groups per round (default 20,000; quick 2,000)"),
        with_money=(int, None, "of which with a paid leader (default groups ÷ 250)"),
        pairs=(int, None, "two-worker rounds (default 3, quick 5); one-worker rounds: one more"),
    )
    groups_total = args.groups or (2_000 if args.quick else 20_000)
    # Groups with money are settled one per transaction (about 100 ms each) and dominate a
    # round; two workers share them one at a time, so with few of them the split decides the
    # round (8 split 5 + 3 takes 25 % longer than 4 + 4). A quick run has 16 per round.
    default_money = QUICK_WITH_MONEY if args.quick and not args.groups else groups_total // 250
    with_money = args.with_money if args.with_money is not None else default_money
    # A quick round lasts 0.7–1.4 s, so one hiccup moves its ratio by a tenth: five pairs make
    # the median repeat (1.863, 1.856, 1.832 in three runs; three pairs gave 1.664 to 1.917).
    pairs = args.pairs or (5 if args.quick else 3)
    # 1, 2, 1, 2, …, 1: each two-worker round is compared with the one-worker rounds either side
    # of it, so load from elsewhere that drifts during the run cancels out.
    plan = [1] + [2, 1] * pairs
    # Round 0 warms both workers up (first queries, lazily imported code): not counted.
    warm_up = 2
    with throwaway_database("settle"):
        print(
            f"settle: {len(plan)} rounds of {groups_total:,} expired groups, {with_money} with "
            "money each",
            flush=True,
        )
        campaigns = _world(label="1")
        workers = _Workers(2)
        rates = {1: [], 2: []}
        try:
            for index, count in enumerate([warm_up, *plan]):
                now = _build_round(
                    campaigns, index=index, groups_total=groups_total, with_money=with_money
                )
                settled, seconds = workers.settle(count, now)
                assert settled == groups_total, (settled, groups_total)
                if index:
                    rates[count].append(groups_total / seconds)
        finally:
            workers.close()
        rounds = len(plan) + 1
        _check(expected=rounds * groups_total, refunds_expected=rounds * with_money)
    one, two = rates[1], rates[2]
    ratios = [rate / ((one[i] + one[i + 1]) / 2) for i, rate in enumerate(two)]
    print(f"  one worker groups/s {_listed(one)}; two workers groups/s {_listed(two)}")
    print("  ratios " + ", ".join(f"{ratio:.3f}" for ratio in ratios) + "; settled, ledger clean")
    summary(
        "settle",
        groups=groups_total,
        with_money=with_money,
        rounds=len(plan),
        one_worker_per_s=round(statistics.median(one), 1),
        two_workers_per_s=round(statistics.median(two), 1),
        ratio=round(statistics.median(ratios), 3),
    )


if __name__ == "__main__":
    main()
