"""The money subscribers of ``ledger.payment.succeeded`` act exactly once per event, whether the
event comes by the on-commit fast path, by the outbox worker after a crash, or both."""

from datetime import timedelta

import pytest

from shoploop.core import clock, outbox
from shoploop.core.models import OutboxEvent, OutboxHandled
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order

pytestmark = pytest.mark.django_db

LATER = timedelta(minutes=1)


def _payment_event() -> OutboxEvent:
    return OutboxEvent.objects.get(name="ledger.payment.succeeded")


def test_payment_succeeded_delivered_again_by_the_worker_changes_nothing(buyer, sku, place, pay):
    checkout = place((sku, 1))
    pay(checkout)  # the fast path delivers on commit
    order = Order.objects.get(checkout=checkout)
    assert order.state == Order.State.PAID
    event = _payment_event()
    handled = set(OutboxHandled.objects.filter(event=event).values_list("subscriber", flat=True))
    assert handled == {
        "shoploop.orders.handlers.on_payment_succeeded",
        "shoploop.deals.handlers.on_payment_succeeded",
    }
    # Events the fixtures published (a product going on sale) wait for the worker too, since the
    # test's transaction never commits; they are not what this test is about.
    OutboxEvent.objects.exclude(pk=event.pk).update(delivered_at=clock.now())
    # A worker that delivers it again (it claimed it, or someone replays it) runs nobody twice.
    OutboxEvent.objects.filter(pk=event.pk).update(delivered_at=None)
    assert outbox.deliver_pending(now=clock.now() + LATER) == 1
    assert OutboxHandled.objects.filter(event=event).count() == 2
    order.refresh_from_db()
    assert order.state == Order.State.PAID
    assert verify_ledger().ok


def test_a_payment_event_whose_delivery_was_lost_is_delivered_by_the_worker(
    buyer, sku, place, django_capture_on_commit_callbacks
):
    from shoploop.ledger.services import payments

    checkout = place((sku, 1))
    payment = payments.payment_by_public_id(public_id=checkout.payment_public_id)
    # The process dies after the commit, before its on-commit delivery: the callbacks never run.
    with django_capture_on_commit_callbacks(execute=False):
        report_payment(payment)
    order = Order.objects.get(checkout=checkout)
    assert order.state != Order.State.PAID
    assert _payment_event().delivered_at is None
    # The payment event, and whatever its subscribers published that has subscribers of its own
    # (orders.order.paid notifies the shop), all in the same worker run.
    assert outbox.deliver_pending(now=clock.now() + LATER) >= 1
    assert _payment_event().delivered_at is not None
    assert outbox.deliver_pending(now=clock.now() + LATER) == 0
    order.refresh_from_db()
    assert order.state == Order.State.PAID
    assert OutboxHandled.objects.filter(event=_payment_event()).count() == 2
    assert verify_ledger().ok
