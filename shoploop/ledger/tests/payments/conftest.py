"""Fixtures for payments, refunds and payouts (references are plain strings: no orders needed)."""

import itertools

import pytest

from shoploop.catalog import services as catalog_services
from shoploop.ledger.models import AccountKind
from shoploop.ledger.providers.sandbox import signed_callback
from shoploop.ledger.services import open_account, payments, transfer
from shoploop.ledger.verification import verify_ledger

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _english(english):
    """This app's tests read English messages (the root conftest's ``english``)."""


@pytest.fixture
def merchant(make_user):
    return make_user(display_name="店主老张")


@pytest.fixture
def shop(merchant, operator):
    shop = catalog_services.apply_for_shop(user=merchant, name="老张的店", contact="微信 zhang")
    return catalog_services.approve_shop(shop=shop, actor=operator)


@pytest.fixture
def make_payment(user):
    def make(*, amount=1000, payer=None, reference=None):
        n = next(_numbers)
        return payments.create_payment(
            payer=payer or user,
            amount=amount,
            reference=reference or f"test:{n}",
            description="测试订单",
            idempotency_key=f"key-{n}",
        )

    return make


@pytest.fixture
def deliver():
    """``deliver(payment, kind=…, amount=…, event_id=…)`` → the webhook handler's PaymentEvent."""

    def send(payment, *, kind="succeeded", amount=None, event_id=None, timestamp=None):
        body, headers = signed_callback(
            event_id=event_id or f"evt-{next(_numbers)}",
            payment_public_id=payment.public_id,
            kind=kind,
            amount=payment.amount if amount is None else amount,
            timestamp=timestamp,
        )
        return payments.handle_callback(provider="sandbox", body=body, headers=headers)

    return send


@pytest.fixture
def paid_payment(make_payment, deliver):
    payment = make_payment(amount=1000)
    deliver(payment)
    payment.refresh_from_db()
    return payment


@pytest.fixture
def fund_shop():
    """Put ``amount`` into a shop's available balance, as a completed order would."""

    def fund(shop, amount):
        n = next(_numbers)
        transfer(
            key=f"test-fund:{shop.public_id}:{n}",
            debit=open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="sandbox"),
            credit=open_account(
                kind=AccountKind.MERCHANT_AVAILABLE, owner_ref=f"shop:{shop.public_id}"
            ),
            amount=amount,
            reason="test_funding",
        )

    return fund


@pytest.fixture
def ledger_ok():
    def check():
        report = verify_ledger()
        assert report.ok, report.problems

    return check
