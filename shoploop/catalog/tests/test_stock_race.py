"""Stock under contention, on PostgreSQL with real threads and connections."""

import pytest

from shoploop.catalog import services
from shoploop.catalog.models import SKU
from shoploop.core.errors import Conflict
from shoploop.core.testing import race

THREADS = 50


def _race(target, count: int) -> None:
    for outcome in race(target, count):
        if isinstance(outcome, Exception):
            raise outcome


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_buyers_for_the_last_five_units(sku, merchant):
    services.adjust_stock(sku=sku, delta=-5, actor=merchant)  # 10 → the last 5

    def buy(_index: int) -> str:
        try:
            services.reserve_stock(sku_id=sku.pk, quantity=1)
        except Conflict as error:
            return error.code
        return "ok"

    outcomes = race(buy, THREADS)
    assert outcomes.count("ok") == 5
    assert outcomes.count("out_of_stock") == THREADS - 5
    assert SKU.objects.get(pk=sku.pk).stock == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_merchant_adjustments_and_orders_never_lose_updates(sku, merchant):
    """25 merchant restocks of +1 racing 25 reservations of 1 from 10: exactly the sum remains."""
    failures: list[str] = []

    def act(index: int) -> None:
        try:
            if index % 2:
                services.adjust_stock(sku=sku, delta=1, actor=merchant)
            else:
                services.reserve_stock(sku_id=sku.pk, quantity=1)
        except Conflict as error:
            failures.append(error.code)

    _race(act, THREADS)
    stock = SKU.objects.get(pk=sku.pk).stock
    assert stock >= 0
    assert stock == 10 + 25 - (25 - len(failures))
