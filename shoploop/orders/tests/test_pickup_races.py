"""PostgreSQL: two collections of one pickup order at once collect it once."""

import pytest

from shoploop.core.errors import Conflict
from shoploop.core.testing import race
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import Order, OrderEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_collections_at_once_collect_once(shipped_pickup_order, point, leader, operator):
    order = shipped_pickup_order
    actors = [leader, operator, leader, operator]

    def collect(index):
        return services.collect_pickup(point=point, actor=actors[index], code=order.pickup_code)

    outcomes = race(collect, len(actors))
    collected = [outcome for outcome in outcomes if isinstance(outcome, Order)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    assert len(collected) == 1, outcomes
    assert len(refused) == len(actors) - 1
    assert {error.code for error in refused} == {"already_collected"}
    order.refresh_from_db()
    assert order.state == Order.State.RECEIVED
    assert OrderEvent.objects.filter(order=order, kind="received").count() == 1
    assert verify_ledger().ok
