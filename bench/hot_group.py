"""Seat joins per second on one hot group-buying campaign, on PostgreSQL, through the services,
against a raw-SQL baseline that writes the same rows.

    python -m bench.hot_group                   # 6 rounds of 12 groups of 5 a side, both modes
    python -m bench.hot_group --quick           # 3 rounds of 3 groups of 5 a side, under 30 s
    python -m bench.hot_group --mode threads    # only threads (or: processes)

It creates and drops its own PostgreSQL database (``<prefix>_hot_group_<pid>``, see
bench/support.py). Set-up (not timed), all through services: a merchant, one campaign whose stock
every join takes from (the hot row), groups of size N whose leaders opened and paid (the same for
both sides), and one fresh buyer per join.

1. services: each worker fills its groups one seat at a time: ``join_group`` (per-buyer limit
   row locked, seat reserved by a conditional UPDATE, a deal order with its checkout, line,
   event and ledger payment placed, a campaign unit taken last), then the sandbox reports the
   payment captured (``record_payment_event``: the event, the capture, the buyer's escrow account
   and the capture transfer), which runs ``on_payment_succeeded`` (checkout, group and seat
   locked, the hold transfer, the order paid, the group's paid count; the last seat completes the
   group and confirms every member's order).
2. baseline: the same workers fill as many other groups of the same campaign in raw SQL, writing
   every row the services write (each INSERT and UPDATE of a captured join+pay is mirrored, the
   per-buyer limit and all conditional UPDATEs kept, the same three transactions) but reading
   nothing it does not need: no ORM objects, the campaign's constant ids (SKU, shop, the clearing
   and the merchant's pending account) read once before the clock starts. It writes the
   transactional outbox's rows too (an event row with each change, a handled row per subscriber
   in the subscriber's own transaction after the commit, the delivered mark) and the
   notifications the subscribers write. The ledger is verified after both sides, so the
   baseline's rows must balance exactly like the services'; before the timing one group is
   filled on each side and the rows each adds to every written table must be equal.

Workers are threads in this process (``--mode threads``: one GIL, as one web process) or spawned
processes (``--mode processes``: as several web or worker processes; timed from the moment all
are set up). After a warm-up round of each side (not counted), the sides alternate round by
round, baseline first and last (B S B S … B); each services round is compared with the mean of
the baseline rounds either side of it and each ratio is the median of those, so load from
elsewhere on the machine that drifts during the run cancels out, and a burst hits one round, not
the figure.

Every worker also measures the CPU time it and its PostgreSQL backend spend in the counted
rounds (``/proc``: the server is local), and ``cpu_ratio_<mode>`` is the baseline's CPU per
join+pay ÷ the services'. On a machine whose cores are saturated by others, joins per second
measure how much CPU the neighbours leave from one second to the next; CPU per join does not,
so it repeats where the wall-clock ratio cannot (it leaves out time spent waiting on the hot
row's lock, which only the wall-clock ratio shows).

The last line: ``hot_group: statements=… baseline_statements=… joins_per_s_threads=…
baseline_per_s_threads=… ratio_threads=… cpu_ratio_threads=… joins_per_s_processes=…
baseline_per_s_processes=… ratio_processes=… cpu_ratio_processes=… ratio=… cpu_ratio=…``
(``ratio`` and ``cpu_ratio`` are the processes ones when both modes ran: production runs
several processes; ``statements`` are per join+pay, counted by CaptureQueriesContext, BEGIN,
COMMIT and SAVEPOINTs included). docs/benchmarks.md has the figures and which statements dominate.
"""

import contextlib
import gc
import multiprocessing
import statistics
import threading
import time
from collections import Counter
from datetime import timedelta

from bench.support import (
    BENCH_ADDRESS,
    address_for,
    arguments,
    cpu_seconds,
    summary,
    throwaway_database,
)

SERVICES, BASELINE = "services", "baseline"
QUICK_ROUNDS = 3


# Set-up -----------------------------------------------------------------------------------------


def _setup(*, groups: int, size: int):
    """The campaign, ``groups`` open groups whose leader paid, and ``joiners`` buyers (pks)."""
    from shoploop.accounts.models import User
    from shoploop.catalog import services as catalog
    from shoploop.core import clock
    from shoploop.deals.groups import services
    from shoploop.orders.models import Address

    now = clock.now()
    counter = iter(range(10_000_000))

    def user(**extra):
        return User.objects.create_user(
            f"+86139{next(counter):08d}", display_name="bench", phone_verified_at=now, **extra
        )

    def buyer():
        made = user()
        made.address_id = address_for(made)  # made here, outside what is measured
        return made

    operator = user(is_staff=True, is_superuser=True)
    merchant = user()
    shop = catalog.approve_shop(
        shop=catalog.apply_for_shop(user=merchant, name="拼团压测店", contact="wx bench"),
        actor=operator,
    )
    product = catalog.create_product(
        shop=shop, actor=merchant, title="压测茶饼", description="", category="food"
    )
    units = groups * size + 10
    sku = catalog.add_sku(
        product=product, actor=merchant, options={}, price_fen=12800, stock=units * 2
    )
    catalog.publish_product(product=product, actor=merchant)
    campaign = services.create_campaign(
        actor=merchant,
        sku=sku,
        group_price_fen=8800,
        group_size=size,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=3),
        stock=units,
    )
    opened = []
    for _ in range(groups):
        leader = buyer()
        seat = services.open_group(campaign=campaign, user=leader, address_id=leader.address_id)
        _capture(seat.order)
        opened.append(seat.group_id)
    # The joiners are plain verified buyers: one bulk INSERT (signing up is not what is measured).
    joiners = User.objects.bulk_create(
        User(phone=f"+86138{index:08d}", display_name="bench", phone_verified_at=now)
        for index in range(groups * (size - 1))
    )
    joiners = [row.pk for row in joiners]
    # Every deal ships somewhere: each joiner's default address, also one bulk INSERT.
    Address.objects.bulk_create(
        Address(user_id=pk, is_default=True, **BENCH_ADDRESS) for pk in joiners
    )
    return campaign, opened, joiners


def _capture(order) -> None:
    """The sandbox provider reports the payment captured (the signed callback, verified); with
    no transaction open, the "ledger.payment.succeeded" event is delivered at once."""
    from shoploop.ledger.services import payments
    from shoploop.ledger.testing import report_payment

    payment = payments.payment_by_public_id(public_id=order.checkout.payment_public_id)
    report_payment(payment)


def _constants(campaign) -> dict:
    """What the baseline reads once: the campaign's constant ids and texts."""
    from shoploop.ledger.models import Account

    sku = campaign.sku
    shop = campaign.shop
    return {
        "campaign": campaign.pk,
        "campaign_public_id": campaign.public_id,
        "variant": campaign.variants.get().pk,
        "price": campaign.group_price_fen,
        "sku": sku.pk,
        "shop": shop.pk,
        "shop_public_id": shop.public_id,
        "merchant": shop.owner_id,
        "product_public_id": sku.product.public_id,
        "title": sku.product.title,
        "clearing": Account.objects.get(code="provider_clearing:sandbox").pk,
        "merchant_pending": Account.objects.get(code__startswith="merchant_pending:").pk,
    }


# The services' side -----------------------------------------------------------------------------


def _services_join(group_pk: int, user, address_id: str) -> None:
    from shoploop.deals.groups import services
    from shoploop.deals.groups.models import Group

    seat = services.join_group(
        group=Group.objects.get(pk=group_pk), user=user, address_id=address_id
    )
    _capture(seat.order)


# The baseline: the same rows in raw SQL ---------------------------------------------------------

JOIN_SQL = {
    # The per-buyer limit: the buyer's row created or locked in one statement (the services'
    # upsert), then their live seats counted.
    "buyer": "INSERT INTO deals_groups_groupbuyer (campaign_id, user_id) VALUES (%s, %s)"
    " ON CONFLICT (campaign_id, user_id) DO UPDATE SET campaign_id = EXCLUDED.campaign_id",
    "live_seats": "SELECT count(*) FROM deals_groups_seat s JOIN deals_groups_group g"
    " ON s.group_id = g.id WHERE g.campaign_id = %s AND s.state IN ('reserved', 'paid')"
    " AND s.user_id = %s",
    "group": "UPDATE deals_groups_group SET seats_taken = seats_taken + 1 WHERE id = %s"
    " AND state = 'open' AND deadline > now() AND paid_count >= 1 AND seats_taken < size",
    "checkout": "INSERT INTO orders_checkout (public_id, buyer_id, total_fen, deal_ref,"
    " payment_public_id, payment_attempts, expires_at, created_at) VALUES (%s, %s, %s, %s, %s, 1,"
    " now() + interval '5 minutes', now()) RETURNING id",
    "order": "INSERT INTO orders_order (public_id, checkout_id, buyer_id, shop_id, state,"
    " subtotal_fen, discount_fen, total_fen, refunded_fen, coupon_claim_public_id, hold_version,"
    " has_hold, delivery_method, ship_recipient, ship_phone, ship_province, ship_city,"
    " ship_district, ship_district_code, ship_street, ship_postcode, carrier, tracking_number,"
    " cancel_reason, reservation_expires_at, fee_fen, leader_commission_fen, pickup_code,"
    " created_at) VALUES (%s, %s, %s, %s, 'pending_payment', %s, 0, %s, 0, '', 0, false,"
    " 'delivery', '', '', '', '', '', '', '', '', '', '', '', now() + interval '5 minutes', 0, 0,"
    " '', now()) RETURNING id",
    "line": "INSERT INTO orders_orderline (public_id, order_id, sku_id, product_public_id, title,"
    " options, unit_price_fen, quantity, paid_fen, refunded_quantity, refunded_fen) VALUES"
    " (%s, %s, %s, %s, %s, '{}'::jsonb, %s, 1, %s, 0, 0)",
    "placed": "INSERT INTO orders_orderevent (order_id, kind, actor_id, note, created_at)"
    " VALUES (%s, 'placed', %s, '', now())",
    "payment": "INSERT INTO ledger_payment (public_id, payer_id, amount, reference, description,"
    " idempotency_key, provider, state, provider_trade_no, captured_fen, refunded_fen,"
    " created_at, next_query_at, query_attempts, sandbox_outcome) VALUES (%s, %s, %s, %s, %s,"
    " %s, 'sandbox', 'requires_payment', '', 0, 0, now(), now() + interval '5 minutes', 0, '')",
    "seat": "INSERT INTO deals_groups_seat (public_id, group_id, user_id, order_id, variant_id,"
    " price_fen, is_leader, state, reserved_until, created_at) VALUES (%s, %s, %s, %s, %s, %s,"
    " false, 'reserved', now() + interval '5 minutes', now()) RETURNING id",
    "campaign": "UPDATE deals_groups_groupcampaign SET stock = stock - 1 WHERE id = %s"
    " AND state = 'active' AND stock >= 1",
    # The chosen variant's unit, after the campaign's (the services' lock order).
    "variant": "UPDATE deals_groups_groupcampaignsku SET stock = stock - 1 WHERE id = %s"
    " AND stock >= 1",
}
# The transactional outbox (shoploop/core/events.py, core/outbox.py): every event is a row written
# with the change; an event nobody subscribes to is written delivered. After the commit each
# subscriber runs in its own transaction that starts with its "handled" row, and the event is then
# marked delivered. The notifications are the subscribers' rows (notifications/handlers.py);
# the baseline writes them without the services' preference and block reads.
OUTBOX_SQL = {
    "event": "INSERT INTO core_outboxevent (name, aggregate, payload, occurred_at,"
    " next_attempt_at, claimed_until, delivered_at) VALUES (%s, %s, %s::jsonb, now(),"
    " now() + interval '5 seconds', NULL, CASE WHEN %s THEN now() END) RETURNING id",
    "handled": "INSERT INTO core_outboxhandled (subscriber, event_id, handled_at)"
    " VALUES (%s, %s, now()) ON CONFLICT (subscriber, event_id) DO NOTHING",
    "delivered": "UPDATE core_outboxevent SET delivered_at = now(), claimed_until = NULL"
    " WHERE delivered_at IS NULL AND id = ANY(%s::bigint[])",
    # deals.group.joined: every other live member of the group hears of the new one.
    "joined_notes": "INSERT INTO notifications_notification (public_id, recipient_id, kind, params,"
    " key, in_app, created_at, read_at, sms) SELECT substr(md5(random()::text || s.id), 1, 12),"
    " s.user_id, 'group_joined', jsonb_build_object('group', %s::text, 'product', %s::text,"
    " 'member_name', 'bench'), %s, true, now(), NULL, '' FROM deals_groups_seat s"
    " WHERE s.group_id = %s AND s.state IN ('reserved', 'paid') AND s.user_id <> %s"
    " ON CONFLICT DO NOTHING",
    # The last seat: orders.order.paid for every member's order, and deals.group.completed.
    "paid_events": "INSERT INTO core_outboxevent (name, aggregate, payload, occurred_at,"
    " next_attempt_at, claimed_until, delivered_at) SELECT 'orders.order.paid', 'orders.order:'"
    " || o.public_id, jsonb_build_object('order_public_id', o.public_id, 'buyer_public_id',"
    " u.public_id, 'shop_public_id', %s::text, 'total_fen', o.total_fen), now(), now() +"
    " interval '5 seconds', NULL, NULL FROM orders_order o JOIN accounts_user u"
    " ON u.id = o.buyer_id WHERE o.id = ANY(%s::bigint[]) RETURNING id",
    "handled_many": "INSERT INTO core_outboxhandled (subscriber, event_id, handled_at)"
    " SELECT %s, unnest(%s::bigint[]), now() ON CONFLICT (subscriber, event_id) DO NOTHING",
    # orders.order.paid tells the merchant, once per order.
    "paid_notes": "INSERT INTO notifications_notification (public_id, recipient_id, kind, params,"
    " key, in_app, created_at, read_at, sms) SELECT substr(md5(random()::text || o.id), 1, 12),"
    " %s, 'order_paid', jsonb_build_object('order', o.public_id, 'title', %s::text,"
    " 'total_fen', o.total_fen), 'orders.order.paid:' || o.public_id, true, now(), NULL, ''"
    " FROM orders_order o WHERE o.id = ANY(%s::bigint[]) ON CONFLICT DO NOTHING",
    # deals.group.completed tells every paid member.
    "completed_notes": "INSERT INTO notifications_notification (public_id, recipient_id, kind,"
    " params, key, in_app, created_at, read_at, sms) SELECT substr(md5(random()::text || s.id),"
    " 1, 12), s.user_id, 'group_completed', jsonb_build_object('group', %s::text, 'product',"
    " %s::text), %s, true, now(), NULL, '' FROM deals_groups_seat s WHERE s.group_id = %s"
    " AND s.state = 'paid' ON CONFLICT DO NOTHING",
}
# The subscribers' keys, as the services record them in core_outboxhandled.
HANDLERS = {
    "joined": "shoploop.notifications.handlers.group_joined",
    "payment_orders": "shoploop.orders.handlers.on_payment_succeeded",
    "payment_deals": "shoploop.deals.handlers.on_payment_succeeded",
    "order_paid": "shoploop.notifications.handlers.order_paid",
    "completed": "shoploop.notifications.handlers.group_completed",
    # Subscribers that write only their handled row in this world: nobody follows the joiners
    # (the feed's fan-outs), no share link brought the orders (referrals), no 团长 picks them up
    # (the pickup commission). The baseline skips the reads that tell them so.
    "feed_joined": "feed.group_joined",
    "feed_paid": "feed.order_paid",
    "referrals_paid": "shoploop.referrals.handlers.on_order_paid",
    "leader_commission": "orders.leader_commission.accrue",
}
CAPTURE_SQL = {
    "event": "INSERT INTO ledger_paymentevent (provider, event_id, payment_id, kind, amount,"
    " outcome, payload, created_at) SELECT 'sandbox', %s, id, 'succeeded', amount, 'captured',"
    " '{}'::jsonb, now() FROM ledger_payment WHERE public_id = %s RETURNING payment_id",
    "payment": "UPDATE ledger_payment SET captured_fen = amount, captured_at = now(),"
    " state = 'succeeded' WHERE id = %s AND captured_fen = 0",
    "escrow": 'INSERT INTO ledger_account (public_id, kind, code, owner_ref, "limit",'
    " debits_pending, debits_posted, credits_pending, credits_posted, created_at) VALUES"
    " (%s, 'buyer_escrow', %s, %s, 'debits_le_credits', 0, 0, 0, 0, now()) RETURNING id",
    "transfer": "INSERT INTO ledger_transfer (public_id, idempotency_key, kind, debit_account_id,"
    " credit_account_id, amount, reason, cause, created_at) VALUES (%s, %s, 'single', %s, %s,"
    " %s, 'payment_captured', %s, now())",
    "debit": "UPDATE ledger_account SET debits_posted = debits_posted + %s WHERE id = %s",
    "credit": "UPDATE ledger_account SET credits_posted = credits_posted + %s WHERE id = %s",
}
SETTLE_SQL = {
    "group_lock": "SELECT paid_count, size FROM deals_groups_group WHERE id = %s FOR UPDATE",
    "seat": "UPDATE deals_groups_seat SET state = 'paid', paid_at = now() WHERE id = %s"
    " AND state = 'reserved'",
    "hold": "INSERT INTO ledger_transfer (public_id, idempotency_key, kind, debit_account_id,"
    " credit_account_id, amount, reason, cause, created_at) VALUES (%s, %s, 'pending', %s, %s,"
    " %s, 'order_hold', %s, now())",
    "credit_pending": "UPDATE ledger_account SET credits_pending = credits_pending + %s"
    " WHERE id = %s",
    "debit_pending": "UPDATE ledger_account SET debits_pending = debits_pending + %s WHERE id = %s"
    " AND credits_posted >= debits_posted + debits_pending + %s",
    "order": "UPDATE orders_order SET state = 'awaiting_deal', paid_at = now(), has_hold = true"
    " WHERE id = %s AND state = 'pending_payment'",
    "paid": "INSERT INTO orders_orderevent (order_id, kind, note, created_at)"
    " VALUES (%s, 'paid', '', now())",
    "paid_count": "UPDATE deals_groups_group SET paid_count = paid_count + 1 WHERE id = %s"
    " AND state = 'open' AND paid_count < size RETURNING paid_count, size",
    "succeeded": "UPDATE deals_groups_group SET state = 'succeeded', closed_at = now()"
    " WHERE id = %s",
    # Every member's order confirmed, set-based (the services do two statements per member).
    "confirm": "UPDATE orders_order SET state = 'paid' WHERE state = 'awaiting_deal' AND id IN"
    " (SELECT order_id FROM deals_groups_seat WHERE group_id = %s AND state = 'paid')"
    " RETURNING id",
    "confirmed": "INSERT INTO orders_orderevent (order_id, kind, note, created_at)"
    " SELECT unnest(%s::bigint[]), 'deal_succeeded', '', now()",
}


def _event(cursor, name: str, aggregate: str, payload: dict, *, delivered: bool = False) -> int:
    """One outbox row (``delivered``: nobody subscribes to ``name``); returns its id."""
    import json

    _execute(cursor, OUTBOX_SQL["event"], [name, aggregate, json.dumps(payload), delivered])
    return cursor.fetchone()[0]


def _deliver(subscriber: str, event_ids: list[int], *writes) -> None:
    """After the commit: one subscriber's transaction (its handled rows, then its writes, each a
    (sql, params) pair); the events are then marked delivered by the caller."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if len(event_ids) == 1:
            _execute(cursor, OUTBOX_SQL["handled"], [subscriber, event_ids[0]])
        else:
            _execute(cursor, OUTBOX_SQL["handled_many"], [subscriber, event_ids])
        for sql, params in writes:
            _execute(cursor, sql, params)


def _delivered(event_ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        _execute(cursor, OUTBOX_SQL["delivered"], [event_ids])


def _execute(cursor, sql: str, params, *, expect_one: bool = False):
    cursor.execute(sql, params)
    if expect_one and cursor.rowcount != 1:
        raise RuntimeError(f"baseline: no row changed by {sql[:60]}…")


def _baseline_join(k: dict, group_pk: int, user_pk: int, names: dict) -> None:
    """One join and its payment in raw SQL: the services' rows, in the services' transactions.
    ``names``: the public ids of the group and the joiner (read before the clock starts)."""
    from django.db import connection, transaction

    from shoploop.core.ids import new_public_id

    checkout_id, order_id, seat_id, payment_id = (new_public_id() for _ in range(4))
    group_id, member_id = names["group"], names["user"]
    price = k["price"]
    with transaction.atomic(), connection.cursor() as cursor:
        _execute(cursor, JOIN_SQL["buyer"], [k["campaign"], user_pk])
        _execute(cursor, JOIN_SQL["live_seats"], [k["campaign"], user_pk])
        if cursor.fetchone()[0] >= 1:
            raise RuntimeError("baseline: per-buyer limit")
        _execute(cursor, JOIN_SQL["group"], [group_pk], expect_one=True)
        _execute(
            cursor,
            JOIN_SQL["checkout"],
            [checkout_id, user_pk, price, f"group_seat:{seat_id}", payment_id],
        )
        checkout_pk = cursor.fetchone()[0]
        order = [order_id, checkout_pk, user_pk, k["shop"], price, price]
        _execute(cursor, JOIN_SQL["order"], order)
        order_pk = cursor.fetchone()[0]
        product = [k["sku"], k["product_public_id"], k["title"]]
        line = [new_public_id(), order_pk, *product, price, price]
        _execute(cursor, JOIN_SQL["line"], line)
        _execute(cursor, JOIN_SQL["placed"], [order_pk, user_pk])
        reference = f"checkout:{checkout_id}"
        description = f"Shoploop 订单 {order_id}"
        payment = [payment_id, user_pk, price, reference, description, reference]
        _execute(cursor, JOIN_SQL["payment"], payment)
        order_fields = _order_payload(k, order_id, member_id, price)
        placed = {
            **order_fields,
            "checkout_public_id": checkout_id,
            "deal_ref": f"group_seat:{seat_id}",
        }
        _event(cursor, "orders.order.placed", f"orders.order:{order_id}", placed, delivered=True)
        seat = [seat_id, group_pk, user_pk, order_pk, k["variant"], price]
        _execute(cursor, JOIN_SQL["seat"], seat)
        seat_pk = cursor.fetchone()[0]
        joined = {
            "group_public_id": group_id,
            "campaign_public_id": k["campaign_public_id"],
            "member_public_id": member_id,
            "seat_public_id": seat_id,
        }
        joined_event = _event(cursor, "deals.group.joined", f"deals.group:{group_id}", joined)
        _execute(cursor, JOIN_SQL["campaign"], [k["campaign"]], expect_one=True)
        _execute(cursor, JOIN_SQL["variant"], [k["variant"]], expect_one=True)
    key = f"deals.group.joined:{group_id}:{member_id}"
    notes = [group_id, k["title"], key, group_pk, user_pk]
    _deliver(HANDLERS["joined"], [joined_event], (OUTBOX_SQL["joined_notes"], notes))
    _deliver(HANDLERS["feed_joined"], [joined_event])
    _delivered([joined_event])
    escrow_pk, payment_event = _baseline_capture(k, payment_id, reference, price)
    _deliver(HANDLERS["payment_orders"], [payment_event])
    order = {"pk": order_pk, "payload": order_fields}
    completed = _baseline_settle(k, group_pk, group_id, seat_pk, order, escrow_pk, payment_event)
    if completed:
        _deliver_completion(k, group_pk, group_id, *completed)
    _delivered([payment_event])


def _order_payload(k: dict, order_id: str, buyer_id: str, total: int) -> dict:
    return {
        "order_public_id": order_id,
        "buyer_public_id": buyer_id,
        "shop_public_id": k["shop_public_id"],
        "total_fen": total,
    }


def _baseline_capture(k: dict, payment_id: str, reference: str, amount: int) -> tuple[int, int]:
    """The provider's callback: event, capture, the buyer's escrow account, the money into it,
    and the ``ledger.payment.succeeded`` outbox row. Returns (escrow account, event) ids."""
    from django.db import connection, transaction

    from shoploop.core.ids import new_public_id

    with transaction.atomic(), connection.cursor() as cursor:
        _execute(cursor, CAPTURE_SQL["event"], [f"evt_{new_public_id()}", payment_id])
        payment_pk = cursor.fetchone()[0]
        succeeded = {"payment_public_id": payment_id, "reference": reference, "amount_fen": amount}
        event = _event(
            cursor, "ledger.payment.succeeded", f"ledger.payment:{payment_id}", succeeded
        )
        _execute(cursor, CAPTURE_SQL["payment"], [payment_pk], expect_one=True)
        owner = f"payment:{payment_id}"
        _execute(cursor, CAPTURE_SQL["escrow"], [new_public_id(), f"buyer_escrow:{owner}", owner])
        escrow_pk = cursor.fetchone()[0]
        transfer = [new_public_id(), f"{owner}:capture", k["clearing"], escrow_pk, amount, owner]
        _execute(cursor, CAPTURE_SQL["transfer"], transfer)
        _execute(cursor, CAPTURE_SQL["debit"], [amount, k["clearing"]], expect_one=True)
        _execute(cursor, CAPTURE_SQL["credit"], [amount, escrow_pk], expect_one=True)
    return escrow_pk, event


def _baseline_settle(k, group_pk, group_id, seat_pk, order, escrow_pk, payment_event):
    """The deals subscriber of ``ledger.payment.succeeded``, in its own transaction with its
    handled row: money held for the merchant, the order paid (``orders.order.awaiting_deal``), the
    group counted. The last seat completes it, confirms every member's order and writes their
    ``orders.order.paid`` rows and ``deals.group.completed``: returns (confirmed order ids, their
    event ids, the completion's event id) then, else None."""
    from django.db import connection, transaction

    from shoploop.core.ids import new_public_id

    merchant = k["merchant_pending"]
    amount = order["payload"]["total_fen"]
    order_id = order["payload"]["order_public_id"]
    with transaction.atomic(), connection.cursor() as cursor:
        _execute(cursor, OUTBOX_SQL["handled"], [HANDLERS["payment_deals"], payment_event])
        _execute(cursor, SETTLE_SQL["group_lock"], [group_pk])
        _execute(cursor, SETTLE_SQL["seat"], [seat_pk], expect_one=True)
        _execute(cursor, SETTLE_SQL["order"], [order["pk"]], expect_one=True)
        _execute(cursor, SETTLE_SQL["paid"], [order["pk"]])
        # The hold after the order, as the services do (the shared merchant row locked later).
        cause = f"order:{order_id}"
        hold = [new_public_id(), f"{cause}:hold", escrow_pk, merchant, amount, cause]
        _execute(cursor, SETTLE_SQL["hold"], hold)
        _execute(cursor, SETTLE_SQL["credit_pending"], [amount, merchant], expect_one=True)
        _execute(cursor, SETTLE_SQL["debit_pending"], [amount, escrow_pk, amount], expect_one=True)
        aggregate = f"orders.order:{order_id}"
        _event(cursor, "orders.order.awaiting_deal", aggregate, order["payload"], delivered=True)
        _execute(cursor, SETTLE_SQL["paid_count"], [group_pk], expect_one=True)
        paid_count, size = cursor.fetchone()
        if paid_count < size:
            return None
        _execute(cursor, SETTLE_SQL["succeeded"], [group_pk])
        _execute(cursor, SETTLE_SQL["confirm"], [group_pk])
        confirmed = [row[0] for row in cursor.fetchall()]
        _execute(cursor, SETTLE_SQL["confirmed"], [confirmed])
        _execute(cursor, OUTBOX_SQL["paid_events"], [k["shop_public_id"], confirmed])
        paid_events = [row[0] for row in cursor.fetchall()]
        completion = {"group_public_id": group_id, "campaign_public_id": k["campaign_public_id"]}
        done = _event(cursor, "deals.group.completed", f"deals.group:{group_id}", completion)
    return confirmed, paid_events, done


def _deliver_completion(k, group_pk, group_id, confirmed, paid_events, completed_event) -> None:
    """The last seat's events delivered: the merchant told of each paid order, every member of
    the completed group. Set-based (the services deliver each event in its own transaction)."""
    paid_notes = (OUTBOX_SQL["paid_notes"], [k["merchant"], k["title"], confirmed])
    _deliver(HANDLERS["order_paid"], paid_events, paid_notes)
    for subscriber in ("leader_commission", "referrals_paid", "feed_paid"):
        _deliver(HANDLERS[subscriber], paid_events)
    key = f"deals.group.completed:{group_id}"
    notes = (OUTBOX_SQL["completed_notes"], [group_id, k["title"], key, group_pk])
    _deliver(HANDLERS["completed"], [completed_event], notes)
    _delivered([*paid_events, completed_event])


# Workers: threads or spawned processes ----------------------------------------------------------


@contextlib.contextmanager
def _no_gc():
    """No cyclic garbage collection inside a timed round (collected before it instead): a
    collection's pause lands in whichever round happens to cross the threshold, a few tens of
    milliseconds in rounds that last a second or less."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _prepare(kind: str, constants: dict, work: list[tuple[int, list[int]]]):
    """The callables of one worker's share (users loaded before the clock starts)."""
    from django.db import connection

    from shoploop.accounts.models import User

    connection.ensure_connection()  # a new thread's connection is opened before the clock runs
    seats = [(group, pk) for group, pks in work for pk in pks]
    if kind == SERVICES:
        users = User.objects.in_bulk([pk for _, pk in seats])
        addresses = _addresses_of([pk for _, pk in seats])
        return [
            lambda g=group, u=users[pk], a=addresses[pk]: _services_join(g, u, a)
            for group, pk in seats
        ]
    names = _names_of(seats)
    return [
        lambda g=group, u=pk, n=names[group, pk]: _baseline_join(constants, g, u, n)
        for group, pk in seats
    ]


def _names_of(seats: list[tuple[int, int]]) -> dict[tuple[int, int], dict]:
    """The baseline's public ids of each (group, joiner), read before the clock starts (the
    services' side loads its users then too)."""
    from shoploop.accounts.models import User
    from shoploop.deals.groups.models import Group

    users = dict(User.objects.filter(pk__in={u for _, u in seats}).values_list("pk", "public_id"))
    groups = dict(Group.objects.filter(pk__in={g for g, _ in seats}).values_list("pk", "public_id"))
    return {(g, u): {"group": groups[g], "user": users[u]} for g, u in seats}


def _addresses_of(user_pks: list[int]) -> dict[int, str]:
    from shoploop.orders.models import Address

    return dict(
        Address.objects.filter(user_id__in=user_pks, is_default=True).values_list(
            "user_id", "public_id"
        )
    )


def _split(groups: list[int], joiners: list[int], size: int, workers: int) -> list[list]:
    """Whole groups per worker (a worker fills a group seat by seat; workers share the campaign)."""
    per_group = size - 1
    work = [(group, joiners[i * per_group : (i + 1) * per_group]) for i, group in enumerate(groups)]
    return [work[index::workers] for index in range(workers)]


def _thread_round(kind: str, constants: dict, shares: list[list]) -> tuple[float, float]:
    """One round on threads of this process; returns the seconds taken and the CPU seconds
    the workers and their database backends spent."""
    from django.db import connection

    errors: list[BaseException] = []
    spent: list[float] = []
    barrier = threading.Barrier(len(shares) + 1)

    def worker(share):
        try:
            jobs = _prepare(kind, constants, share)
            barrier.wait()
            cpu = cpu_seconds()
            for job in jobs:
                job()
            spent.append(cpu_seconds() - cpu)
        except BaseException as error:  # reported below, not swallowed
            errors.append(error)
            barrier.abort()
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for thread in pool:
        thread.start()
    with _no_gc():  # one process: off for every thread at once
        with contextlib.suppress(threading.BrokenBarrierError):  # a worker failed: see below
            barrier.wait()
        started = time.perf_counter()
        for thread in pool:
            thread.join()
        elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} thread(s) failed: {errors[0]!r}") from errors[0]
    return elapsed, sum(spent)


def _process_main(inbox, outbox) -> None:
    """A spawned worker (a fork of this threaded, connected parent can hang): Django set up on
    the benchmark's database (its URL is in the inherited environment); then, per round, load
    the share, say ready, wait for "go", run, say done."""
    import django

    django.setup()
    from django.db import connection, connections

    try:
        connection.ensure_connection()
        outbox.put("up")
        while (message := inbox.get()) is not None:
            kind, constants, share = message
            jobs = _prepare(kind, constants, share)
            with _no_gc():
                outbox.put("ready")
                inbox.get()  # go
                cpu = cpu_seconds()
                for job in jobs:
                    job()
                cpu = cpu_seconds() - cpu
            outbox.put(("done", cpu))
    except BaseException as error:  # reported in the parent, not swallowed
        outbox.put(error)
        raise
    finally:
        connections.close_all()


class _Processes:
    """Spawned worker processes kept for every round (their start-up is not timed)."""

    def __init__(self, count: int):
        from django.db import connections

        connections.close_all()
        context = multiprocessing.get_context("spawn")
        self.outbox = context.Queue()
        self.inboxes = [context.Queue() for _ in range(count)]
        self.workers = [
            context.Process(target=_process_main, args=(inbox, self.outbox))
            for inbox in self.inboxes
        ]
        for worker in self.workers:
            worker.start()
        self._collect("up", timeout=180)

    def _collect(self, expected: str, timeout: float) -> list:
        answers = []
        for _ in self.workers:
            answer = self.outbox.get(timeout=timeout)
            label = answer[0] if isinstance(answer, tuple) else answer
            if label != expected:
                raise RuntimeError(f"a worker process failed: {answer!r}")
            answers.append(answer)
        return answers

    def round(self, kind: str, constants: dict, shares: list[list]) -> tuple[float, float]:
        for inbox, share in zip(self.inboxes, shares, strict=True):
            inbox.put((kind, constants, share))
        self._collect("ready", timeout=180)
        started = time.perf_counter()
        for inbox in self.inboxes:
            inbox.put("go")
        done = self._collect("done", timeout=1800)
        return time.perf_counter() - started, sum(cpu for _, cpu in done)

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for worker in self.workers:
            worker.join(timeout=30)


# Measuring --------------------------------------------------------------------------------------


def _captured(work) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        work()
    return [query["sql"] for query in queries.captured_queries]


def _by_app(statements: list[str]) -> Counter:
    """Statements grouped by the app whose table they name first (BEGIN, COMMIT, SAVEPOINTs as
    "transaction")."""
    apps = ("deals_groups", "orders", "ledger", "core", "notifications", "accounts", "catalog")
    counts = Counter()
    for sql in statements:
        words = sql.replace('"', " ").split()
        if words[0] in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK"):
            counts["transaction"] += 1
            continue
        tables = [w for w in words if any(w.startswith(f"{app}_") for app in apps)]
        app = next((a for a in apps if tables and tables[0].startswith(f"{a}_")), "other")
        counts[f"{app} {words[0].lower()}"] += 1
    return counts


def _probe(constants, groups, joiners, size) -> tuple[int, int]:
    """Fill one group of each side (warming up) while counting every join+pay's statements."""
    service_group, baseline_group = groups
    service_users, baseline_users = joiners
    from shoploop.accounts.models import User

    service_counts, baseline_counts = [], []
    before = _row_counts()
    for index, pk in enumerate(service_users):
        address = _addresses_of([pk])[pk]
        statements = _captured(
            lambda pk=pk, address=address: _services_join(
                service_group, User.objects.get(pk=pk), address
            )
        )
        # The User read is the benchmark's, not the join's.
        service_counts.append(len(statements) - 1)
        if index == 0:
            _print_breakdown("services", statements[1:])
    between = _row_counts()
    names = _names_of([(baseline_group, pk) for pk in baseline_users])
    for index, pk in enumerate(baseline_users):
        name = names[baseline_group, pk]
        statements = _captured(
            lambda pk=pk, n=name: _baseline_join(constants, baseline_group, pk, n)
        )
        baseline_counts.append(len(statements))
        if index == 0:
            _print_breakdown("baseline", statements)
    _same_rows(before, between, _row_counts())
    print(
        f"  statements per join+pay (seats 2..{size}): services {service_counts}, "
        f"baseline {baseline_counts}",
        flush=True,
    )
    return service_counts[0], baseline_counts[0]


# Every table a join+pay writes to: both sides must add as many rows to each for one group.
WRITTEN_TABLES = (
    "deals_groups_groupbuyer",
    "deals_groups_seat",
    "orders_checkout",
    "orders_order",
    "orders_orderline",
    "orders_orderevent",
    "ledger_payment",
    "ledger_paymentevent",
    "ledger_account",
    "ledger_transfer",
    "core_outboxevent",
    "core_outboxhandled",
    "notifications_notification",
)


def _row_counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in WRITTEN_TABLES)
        )
        return dict(cursor.fetchall())


def _same_rows(before: dict, between: dict, after: dict) -> None:
    """The baseline is fair only if it writes what the services write: for one group filled by
    each side, the rows added to each table (outbox events, handled marks, notifications
    included) must be equal."""
    services = {t: between[t] - before[t] for t in WRITTEN_TABLES}
    baseline = {t: after[t] - between[t] for t in WRITTEN_TABLES}
    text = ", ".join(f"{t} {n}" for t, n in services.items())
    print(f"  rows written for one group, each side: {text}", flush=True)
    if services != baseline:
        differ = {
            t: (services[t], baseline[t]) for t in WRITTEN_TABLES if services[t] != baseline[t]
        }
        raise RuntimeError(
            f"baseline writes other rows than the services (services, baseline): {differ}"
        )


def _print_breakdown(label: str, statements: list[str]) -> None:
    counts = _by_app(statements)
    text = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
    print(f"  {label}: {len(statements)} statements for one join+pay: {text}", flush=True)


def _measure(mode, args, constants, groups, joiners) -> tuple[float, float, float]:
    """Baseline and services rounds alternate, baseline first and last (B S B S … B); each
    services round is compared with the mean of the baseline rounds either side of it, so load
    that drifts during the run cancels out. Returns (services joins/s, baseline joins/s, ratio),
    each the median over the rounds."""
    runner = _Processes(args.workers) if mode == "processes" else None
    per_round = _groups_per_round(args)
    rates = {SERVICES: [], BASELINE: []}
    cpu_spent = {SERVICES: 0.0, BASELINE: 0.0}
    cpu_joins = {SERVICES: 0, BASELINE: 0}
    # A warm-up round of each side first (fresh workers: first queries, lazily imported code),
    # not counted.
    order = [SERVICES, BASELINE, BASELINE] + [SERVICES, BASELINE] * args.rounds
    used = {SERVICES: 0, BASELINE: 0}
    try:
        for position, kind in enumerate(order):
            index = used[kind]
            used[kind] += 1
            count = per_round[kind]
            joins = count * (args.size - 1)
            mine = groups[kind][index * count : (index + 1) * count]
            users = joiners[kind][index * joins : (index + 1) * joins]
            shares = _split(mine, users, args.size, args.workers)
            if runner:
                seconds, cpu = runner.round(kind, constants, shares)
            else:
                seconds, cpu = _thread_round(kind, constants, shares)
            if position >= 2:
                rates[kind].append(joins / seconds)
                cpu_spent[kind] += cpu
                cpu_joins[kind] += joins
    finally:
        if runner:
            runner.close()
    base = rates[BASELINE]
    ratios = [service / ((base[i] + base[i + 1]) / 2) for i, service in enumerate(rates[SERVICES])]
    cpu_ms = {kind: 1000 * cpu_spent[kind] / cpu_joins[kind] for kind in cpu_spent}
    print(
        f"  {mode}: services joins/s {_listed(rates[SERVICES])}; baseline joins/s "
        f"{_listed(base)}; ratios {_listed(ratios, 3)}; CPU ms per join+pay (client + "
        f"server): services {cpu_ms[SERVICES]:.1f}, baseline {cpu_ms[BASELINE]:.1f}",
        flush=True,
    )
    return {
        f"joins_per_s_{mode}": statistics.median(rates[SERVICES]),
        f"baseline_per_s_{mode}": statistics.median(base),
        f"ratio_{mode}": statistics.median(ratios),
        f"cpu_ratio_{mode}": cpu_ms[BASELINE] / cpu_ms[SERVICES],
    }


def _groups_per_round(args) -> dict[str, int]:
    """The baseline fills ``baseline_scale`` times as many groups per round as the services, so
    its rounds last about as long (a round of a few tenths of a second measures the scheduler
    more than the code); the rates (joins/s) stay comparable."""
    return {SERVICES: args.groups, BASELINE: args.groups * args.baseline_scale}


def _listed(values, digits=1) -> str:
    return "[" + ", ".join(f"{value:.{digits}f}" for value in values) + "]"


def _check(groups: list[int], size: int) -> None:
    from shoploop.deals.groups.models import Group, Seat
    from shoploop.ledger.verification import verify_ledger

    completed = Group.objects.filter(pk__in=groups, state="succeeded").count()
    paid = Seat.objects.filter(group_id__in=groups, state="paid").count()
    assert completed == len(groups), (completed, len(groups))
    assert paid == len(groups) * size, paid
    assert verify_ledger().ok, "ledger not clean"


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        groups=(int, None, "groups per side per round (default 12, quick 3)"),
        rounds=(int, None, "services rounds per mode (default 6, quick 3); median ratio"),
        size=(int, 5, "group size N"),
        workers=(int, 4, "concurrent joiners (threads or processes)"),
        mode=(str, "both", "threads, processes or both"),
        baseline_scale=(int, 2, "baseline groups per round ÷ services groups per round"),
    )
    args.groups = args.groups or (3 if args.quick else 12)
    args.rounds = args.rounds or (QUICK_ROUNDS if args.quick else 6)
    modes = ["threads", "processes"] if args.mode == "both" else [args.mode]
    if not set(modes) <= {"threads", "processes"}:
        raise SystemExit("--mode: threads, processes or both")
    # Per mode: ``rounds`` services rounds and ``rounds + 1`` baseline rounds; one group of each
    # side more for counting statements.
    rounds = {SERVICES: args.rounds + 1, BASELINE: args.rounds + 2}  # with the warm-up rounds
    per_round = _groups_per_round(args)
    wanted = {kind: count * per_round[kind] * len(modes) + 1 for kind, count in rounds.items()}
    per_group = args.size - 1
    with throwaway_database("hot_group"):
        print(
            f"hot_group: setting up {sum(wanted.values())} groups of {args.size} "
            f"({args.rounds} rounds of {args.groups} groups per mode, {args.workers} workers)…",
            flush=True,
        )
        started = time.perf_counter()
        campaign, groups, joiners = _setup(groups=sum(wanted.values()), size=args.size)
        constants = _constants(campaign)
        cut = wanted[SERVICES]
        side_groups = {SERVICES: groups[:cut], BASELINE: groups[cut:]}
        side_joiners = {SERVICES: joiners[: cut * per_group], BASELINE: joiners[cut * per_group :]}
        print(f"  set up in {time.perf_counter() - started:.1f} s", flush=True)
        statements, baseline_statements = _probe(
            constants,
            (side_groups[SERVICES].pop(), side_groups[BASELINE].pop()),
            (side_joiners[SERVICES][-per_group:], side_joiners[BASELINE][-per_group:]),
            args.size,
        )
        figures = {}
        for mode in modes:
            figures.update(_measure(mode, args, constants, side_groups, side_joiners))
            # The next mode takes the groups after the ones this mode filled.
            for kind, count in rounds.items():
                side_groups[kind] = side_groups[kind][count * per_round[kind] :]
                side_joiners[kind] = side_joiners[kind][count * per_round[kind] * per_group :]
        _check(groups, args.size)
        left = type(campaign).objects.get(pk=campaign.pk).stock
        print(f"  every group completed; campaign stock left {left}; ledger verified")
    summary(
        "hot_group",
        statements=statements,
        baseline_statements=baseline_statements,
        **figures,
        ratio=figures[f"ratio_{modes[-1]}"],
        cpu_ratio=figures[f"cpu_ratio_{modes[-1]}"],
    )


if __name__ == "__main__":
    main()
