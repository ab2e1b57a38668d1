import itertools
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from shoploop.core.models import OutboxEvent

# A Wednesday noon (Asia/Shanghai): the week starts on Monday 2026-06-01.
WEEK_1 = timezone.make_aware(datetime(2026, 6, 3, 12, 0))
WEEK_2 = WEEK_1 + timedelta(weeks=1)
_ids = itertools.count(1)


def pid(prefix: str) -> str:
    """A made-up public id."""
    return f"{prefix}{next(_ids):06d}"


@pytest.fixture
def emit(db):
    """``emit(name, at, **payload)`` writes an outbox event as a service would have (delivered:
    the rollup reads the outbox, not deliveries)."""

    def write(name: str, at: datetime, **payload) -> OutboxEvent:
        return OutboxEvent.objects.create(
            name=name, payload=payload, occurred_at=at, next_attempt_at=at, delivered_at=at
        )

    return write


@pytest.fixture
def paid(emit):
    """``paid(buyer, shop, at, product=…, category=…, fen=…)``: an ``orders.order.paid``."""

    def write(buyer, shop, at, *, product="P1", category="food", fen=3_000, order=None):
        order = order or pid("O")
        emit(
            "orders.order.paid",
            at,
            order_public_id=order,
            buyer_public_id=buyer,
            shop_public_id=shop,
            total_fen=fen,
            lines=[
                {"product_public_id": product, "category": category, "quantity": 1, "paid_fen": fen}
            ],
        )
        return order

    return write
