"""The hot path's statement count: one join and its payment on an open group (seat 2 of 3),
through the services, as ``bench.hot_group`` counts it (BEGIN, COMMIT and SAVEPOINTs included).

A regression guard, not a timing: each statement is a round trip to the database under the
campaign's hot row, so a change that adds one must say so by raising the bound here (and in
docs/benchmarks.md). Measured on 30 Nov 2026 (before: 68 on PostgreSQL)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shoploop.core.ids import new_public_id
from shoploop.deals.groups import services
from shoploop.deals.groups.models import Group, Seat
from shoploop.ledger.models import Payment
from shoploop.ledger.providers.base import SUCCEEDED, CallbackEvent
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Address, Order
from shoploop.orders.tests.conftest import address_id_for

# The bound per database: what the services take now (SQLite has no row locks to take, but
# Django still runs each SELECT … FOR UPDATE as a plain SELECT, so the counts are alike).
# 43 before the outbox and the group variants; now 71: the join takes its variant's unit (+2), and
# each event is a row written with the change, a handled row per subscriber and a delivered mark
# (the payment's and the join's), and the join notifies the group's other members. 76 since the
# feed: its subscriber fans the join out to the joiner's followers when the joiner shares their
# deals (its handled row and the reads that decide whether and to whom; 5 statements here).
# 71 since notifications are made for a whole audience at once (a preference read, an INSERT that
# skips repeats and a read of the new ids, not a preference read, two savepoints, an insert and
# two releases per person; the blockers read once) and the feed reads a deal only for a person
# who shares their activity.
MAX_STATEMENTS = {"postgresql": 64, "sqlite": 64}
# 64 on 1 Dec 2026 (67 before; the bound was 71): the joined notifier finds the joiner among
# the members it reads anyway, and the deals' payment subscriber takes no savepoint of its own
# (the delivery rolls back whole).

# The seat that completes the group (seat 3 of 3) also confirms every member's order and tells
# the shop and the members: 110 on 1 Dec 2026 for a group of 3 (126 before), once the members'
# orders were confirmed set-based (one lock read, one UPDATE, one INSERT of their history, one
# read of their lines and one INSERT of their events instead of four statements per order) and
# the referrals and notifications subscribers of each paid order stopped reading what they did
# not need (an attribution before any shared visit was found; the line count of a one-line
# order).
MAX_COMPLETING_STATEMENTS = {"postgresql": 110, "sqlite": 110}

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_join_and_its_payment_stay_within_the_statement_budget(campaign, buyer, buyers):
    group = _opened_and_paid(campaign, buyer)
    statements, listing, seat = _join_and_pay(group, buyers[0])
    assert statements <= MAX_STATEMENTS[connection.vendor], f"{statements} statements:\n{listing}"
    # The work was done, not skipped: the seat is paid, its money held, the ledger exact.
    seat = Seat.objects.select_related("order").get(pk=seat.pk)
    assert seat.state == Seat.State.PAID
    assert seat.order.state == Order.State.AWAITING_DEAL and seat.order.has_hold
    assert Group.objects.get(pk=group.pk).paid_count == 2
    assert verify_ledger().ok


def test_the_join_that_completes_the_group_stays_within_its_budget(campaign, buyer, buyers):
    group = _opened_and_paid(campaign, buyer)
    _join_and_pay(group, buyers[0])
    statements, listing, _seat = _join_and_pay(group, buyers[1])
    bound = MAX_COMPLETING_STATEMENTS[connection.vendor]
    assert statements <= bound, f"{statements} statements:\n{listing}"
    group.refresh_from_db()
    assert group.state == Group.State.SUCCEEDED
    orders = Order.objects.filter(checkout__deal_ref__startswith="group_seat:")
    assert sorted(orders.values_list("state", flat=True)) == [Order.State.PAID] * 3
    assert verify_ledger().ok


def _opened_and_paid(campaign, leader) -> Group:
    seat = services.open_group(campaign=campaign, user=leader, address_id=address_id_for(leader))
    _join_and_pay_leader(seat)
    return Group.objects.get(pk=seat.group_id)


def _join_and_pay(group: Group, joiner) -> tuple[int, str, Seat]:
    """One join and its payment, as the view and the provider's callback run them: how many
    statements they took, their listing, and the seat."""
    address_id = address_id_for(joiner)
    assert Address.objects.filter(public_id=address_id).exists()
    group = Group.objects.get(pk=group.pk)
    with CaptureQueriesContext(connection) as join:
        seat = services.join_group(group=group, user=joiner, address_id=address_id)
    payment = Payment.objects.get(public_id=seat.order.checkout.payment_public_id)
    event = CallbackEvent(
        event_id=f"evt_{new_public_id()}",
        payment_public_id=payment.public_id,
        kind=SUCCEEDED,
        amount=payment.amount,
    )
    with CaptureQueriesContext(connection) as pay:
        payments.record_payment_event(provider=payment.provider, event=event)
    captured = [*join.captured_queries, *pay.captured_queries]
    return len(captured), "\n".join(q["sql"][:120] for q in captured), seat


def _join_and_pay_leader(seat: Seat) -> None:
    payment = Payment.objects.get(public_id=seat.order.checkout.payment_public_id)
    report_payment(payment)
