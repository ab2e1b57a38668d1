"""Flash-sale races on PostgreSQL: real threads released together, then the invariants."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from shoploop.catalog.models import SKU
from shoploop.core.errors import DomainError
from shoploop.core.testing import holding_row_lock, race
from shoploop.deals.flash import selectors, services
from shoploop.deals.flash.models import FlashPurchase, FlashQuota, FlashSale
from shoploop.ledger.models import Payment
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for, as_buyer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Other suites share the PostgreSQL server: keep each wave's connections modest.
WAVE = 40


def _succeed(payment_public_id: str) -> None:
    """The provider's success callback, delivered on commit to the deal like in production."""
    payment = payments.payment_by_public_id(public_id=payment_public_id)
    report_payment(payment)


def _buy_fresh(sale_public_id: str, user, quantity: int = 1):
    # Like a request: read the sale, then buy. (The buyer's address is made before each race,
    # so here it is only read.)
    sale = selectors.sale_by_public_id(public_id=sale_public_id)
    return services.buy(
        sale=sale, user=user, quantity=quantity, address_id=address_id_for(user)
    ).public_id


def _codes(outcomes) -> list[str]:
    return [o.code for o in outcomes if isinstance(o, DomainError)]


def _units(state: str, sale) -> int:
    return (
        FlashPurchase.objects.filter(sale=sale, state=state).aggregate(n=Sum("quantity"))["n"] or 0
    )


def test_five_hundred_buyers_for_twenty_units(make_sale, make_user):
    sale = make_sale(stock=20, limit=1)
    buyers = [make_user() for _ in range(500)]
    for buyer in buyers:
        address_id_for(buyer)  # made before the race
    outcomes = []
    for start in range(0, len(buyers), WAVE):
        wave = buyers[start : start + WAVE]
        outcomes += race(lambda i, wave=wave: _buy_fresh(sale.public_id, wave[i]), len(wave))

    bought = [o for o in outcomes if isinstance(o, str)]
    assert len(bought) == 20, [o for o in outcomes if not isinstance(o, str | DomainError)]
    assert _codes(outcomes).count("sold_out") == 480
    assert FlashSale.objects.get(pk=sale.pk).available == 0
    assert Order.objects.count() == 20
    assert not FlashQuota.objects.filter(bought__gt=1).exists()
    assert FlashQuota.objects.filter(bought=1).count() == 20

    purchases = list(FlashPurchase.objects.select_related("order__checkout"))
    race(lambda i: _succeed(purchases[i].order.checkout.payment_public_id), len(purchases))
    assert Order.objects.filter(state=Order.State.PAID).count() == 20
    assert _units(FlashPurchase.State.PAID, sale) == 20
    assert verify_ledger().ok


def test_one_buyer_hammering_never_exceeds_the_limit(make_sale, buyer):
    sale = make_sale(stock=50, limit=3)
    address_id_for(buyer)
    outcomes = race(lambda i: _buy_fresh(sale.public_id, buyer), 20)
    assert len([o for o in outcomes if isinstance(o, str)]) == 3
    assert _codes(outcomes).count("limit_reached") == 17
    assert FlashQuota.objects.get(sale=sale, buyer=buyer).bought == 3
    assert FlashSale.objects.get(pk=sale.pk).available == 47


def test_sweepers_racing_late_payments_settle_each_reservation_once(make_sale, make_user):
    sale = make_sale(stock=10, limit=1)
    purchases = [services.buy(sale=sale, **as_buyer(make_user())) for _ in range(10)]
    window_end = max(p.reserved_until for p in purchases)
    payers = purchases[:5]  # these pay at the very moment the window closes

    def work(i):
        if i < len(payers):
            _succeed(payers[i].order.checkout.payment_public_id)
            return "paid"
        return services.release_unpaid(window_end)

    race(work, len(payers) + 4)
    services.release_unpaid(window_end)  # whatever a sweeper skipped (locked) is done now

    fresh = FlashSale.objects.get(pk=sale.pk)
    paid = _units(FlashPurchase.State.PAID, sale)
    released = _units(FlashPurchase.State.RELEASED, sale)
    assert _units(FlashPurchase.State.RESERVED, sale) == 0
    assert paid + released == 10
    assert fresh.available == released
    for purchase in FlashPurchase.objects.select_related("order__checkout"):
        payment = Payment.objects.get(public_id=purchase.order.checkout.payment_public_id)
        if purchase.state == FlashPurchase.State.PAID:
            assert purchase.order.state == Order.State.PAID
        else:
            assert purchase.order.state == Order.State.CANCELLED
            # A captured payment for a released reservation comes back whole, once.
            assert payment.refunded_fen == payment.captured_fen
    assert verify_ledger().ok


def test_end_racing_expiry_returns_every_unit_exactly_once(make_sku, shop, make_sale, make_user):
    sku = make_sku(shop=shop, price_fen=5900, stock=40)
    sale = make_sale(sku=sku, stock=30, limit=1)
    purchases = [services.buy(sale=sale, **as_buyer(make_user())) for _ in range(12)]
    _succeed(purchases[0].order.checkout.payment_public_id)
    moment = sale.ends_at + timedelta(minutes=10)  # both the end and every window are due

    def work(i):
        if i % 2:
            return services.end_due_sales(moment)
        return services.release_unpaid(moment)

    race(work, 8)
    services.end_due_sales(moment)
    services.release_unpaid(moment)

    fresh = FlashSale.objects.get(pk=sale.pk)
    assert fresh.state == FlashSale.State.ENDED and fresh.available == 0
    assert fresh.returned == 29
    assert SKU.objects.get(pk=sku.pk).stock == 40 - 1  # only the paid unit is gone
    assert verify_ledger().ok


@contextmanager
def _no_waiting_for_locks():
    """Any wait for a row lock fails (instead of blocking) inside the block."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '3s'")
        yield


def test_sweepers_skip_the_rows_another_worker_holds(make_sku, shop, make_sale, make_user):
    sale = make_sale(stock=5, limit=1)
    purchases = [services.buy(sale=sale, **as_buyer(make_user())) for _ in range(3)]
    moment = max(p.reserved_until for p in purchases)
    # Without SKIP LOCKED the second worker would wait for the held row, then fail.
    with holding_row_lock(FlashPurchase, purchases[0].pk), _no_waiting_for_locks():
        assert services.release_unpaid(moment) == 2
    assert FlashPurchase.objects.get(pk=purchases[0].pk).state == FlashPurchase.State.RESERVED
    assert services.release_unpaid(moment) == 1  # the first worker let go: done now, once
    assert services.release_unpaid(moment) == 0
    assert FlashSale.objects.get(pk=sale.pk).available == 5

    other = make_sale(stock=2, sku=make_sku(shop=shop, price_fen=5900, stock=10))
    end = max(sale.ends_at, other.ends_at)
    with holding_row_lock(FlashSale, sale.pk), _no_waiting_for_locks():
        assert services.end_due_sales(end) == 1  # the other sale; the held one is skipped
    assert FlashSale.objects.get(pk=sale.pk).state == FlashSale.State.SCHEDULED
    assert services.end_due_sales(end) == 1
    assert verify_ledger().ok


def test_one_buyer_racing_against_a_limit_of_one_gets_one_unit(make_sale, buyer):
    sale = make_sale(stock=20, limit=1)
    address_id_for(buyer)

    outcomes = race(lambda i: _buy_fresh(sale.public_id, buyer), 12)

    assert len([o for o in outcomes if isinstance(o, str)]) == 1, outcomes
    assert _codes(outcomes) == ["limit_reached"] * 11
    assert FlashQuota.objects.get(sale=sale, buyer=buyer).bought == 1
    assert FlashSale.objects.get(pk=sale.pk).available == 19
    assert Order.objects.filter(buyer=buyer).count() == 1
    assert verify_ledger().ok


def test_a_released_reservation_gives_the_buyer_the_limit_back_once(make_sale, buyer):
    sale = make_sale(stock=20, limit=1)
    first = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    assert services.release_unpaid(first.reserved_until) == 1
    assert services.release_unpaid(first.reserved_until) == 0  # released once, quota back once
    assert FlashQuota.objects.get(sale=sale, buyer=buyer).bought == 0

    outcomes = race(lambda i: _buy_fresh(sale.public_id, buyer), 10)

    assert len([o for o in outcomes if isinstance(o, str)]) == 1, outcomes
    assert _codes(outcomes) == ["limit_reached"] * 9
    assert FlashQuota.objects.get(sale=sale, buyer=buyer).bought == 1
    assert FlashSale.objects.get(pk=sale.pk).available == 19
    assert verify_ledger().ok
