"""Flash-sale fixtures: a running sale factory, a buyer factory, payment helpers."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.deals.flash import services
from shoploop.ledger.testing import report_payment


@pytest.fixture
def make_sale(shop, merchant, make_sku):
    """``make_sale(stock=, limit=, starts_in=, lasts=, sku=)`` → a sale (running by default)."""

    def make(
        *, stock=5, limit=1, price_fen=1990, starts_in=None, lasts=timedelta(hours=1), sku=None
    ):
        sku = sku or make_sku(shop=shop, price_fen=5900, stock=50)
        starts_at = clock.now() + starts_in if starts_in is not None else None
        ends_at = (starts_at or clock.now()) + lasts
        return services.create_sale(
            shop=shop,
            actor=merchant,
            sku=sku,
            price_fen=price_fen,
            stock=stock,
            starts_at=starts_at,
            ends_at=ends_at,
            per_user_limit=limit,
        )

    return make


@pytest.fixture
def sale(make_sale):
    return make_sale()


@pytest.fixture
def lost_payment(django_capture_on_commit_callbacks):
    """``lost_payment(checkout)`` → the provider captured the money but its
    "ledger.payment.succeeded" event never reached the deal (a crashed subscriber)."""
    from shoploop.ledger.services import payments

    def run(checkout):
        payment = payments.payment_by_public_id(public_id=checkout.payment_public_id)
        with django_capture_on_commit_callbacks(execute=False):
            report_payment(payment)
        return payment

    return run


@pytest.fixture
def fail_payment(django_capture_on_commit_callbacks):
    """``fail_payment(checkout)`` → the provider reports a failed payment (event delivered)."""
    from shoploop.ledger.providers.base import FAILED
    from shoploop.ledger.services import payments

    def run(checkout):
        payment = payments.payment_by_public_id(public_id=checkout.payment_public_id)
        with django_capture_on_commit_callbacks(execute=True):
            report_payment(payment, kind=FAILED)
        return payment

    return run


@pytest.fixture
def sale_args(shop, merchant, make_sku):
    """``sale_args(**changes)`` → ``create_sale``'s arguments: 5 of 50 units at ¥19.90 (SKU ¥59),
    from 10 minutes from now for an hour, one per buyer; ``changes`` replace any of them."""
    sku = make_sku(shop=shop, price_fen=5900, stock=50)

    def args(**changes):
        now = clock.now()
        values = {
            "shop": shop,
            "actor": merchant,
            "sku": sku,
            "price_fen": 1990,
            "stock": 5,
            "starts_at": now + timedelta(minutes=10),
            "ends_at": now + timedelta(hours=1),
            "per_user_limit": 1,
        }
        values.update(changes)
        return values

    return args
