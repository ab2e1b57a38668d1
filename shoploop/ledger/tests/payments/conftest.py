"""Fixtures for payments, refunds and payouts (references are plain strings: no orders needed)."""

import itertools

import pytest

from shoploop.catalog import services as catalog_services
from shoploop.ledger.providers.sandbox import signed_callback
from shoploop.ledger.services import payments
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
def sell(make_user, ship_to, django_capture_on_commit_callbacks):
    """``sell(shop, amount, quantity=1)`` → a paid order: a new buyer checks out ``quantity`` units
    worth ``amount`` in all and the sandbox reports the payment; the money is held for the shop."""
    from shoploop.core.ids import new_public_id
    from shoploop.ledger.providers.base import SUCCEEDED, CallbackEvent
    from shoploop.orders import services as orders

    def run(shop, amount, *, quantity=1):
        assert amount % quantity == 0
        n = next(_numbers)
        buyer = make_user(display_name=f"买家{n}")
        product = catalog_services.create_product(
            shop=shop, actor=shop.owner, title=f"商品{n}", description="", category="food"
        )
        sku = catalog_services.add_sku(
            product=product,
            actor=shop.owner,
            options={},
            price_fen=amount // quantity,
            stock=quantity,
        )
        catalog_services.publish_product(product=product, actor=shop.owner)
        orders.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=quantity)
        checkout = orders.checkout(buyer=buyer, address_public_id=ship_to(buyer))
        with django_capture_on_commit_callbacks(execute=True):
            payments.record_payment_event(
                provider="sandbox",
                event=CallbackEvent(
                    event_id=f"evt_{new_public_id()}",
                    payment_public_id=checkout.payment_public_id,
                    kind=SUCCEEDED,
                    amount=amount,
                ),
            )
        return checkout.orders.get()

    return run


@pytest.fixture
def fund_shop(sell):
    """Put ``amount`` into a shop's available balance through a real completed order (the shop's
    fee is set to 0 so it keeps all of it), so that ``verify_ledger`` can reconcile every fen
    with a payment and an order. Returns the completed order."""
    from datetime import timedelta

    from shoploop.orders import services as orders

    def fund(shop, amount):
        type(shop).objects.filter(pk=shop.pk).update(fee_rate_bps=0)
        order = sell(shop, amount)
        orders.ship_order(
            order=order, actor=shop.owner, carrier="other", tracking_number=f"TEST{order.public_id}"
        )
        order = orders.confirm_receipt(order=order, actor=order.buyer)
        assert orders.complete_order(order=order, now=order.received_at + timedelta(days=30))
        order.refresh_from_db()
        return order

    return fund


@pytest.fixture
def ledger_ok():
    def check():
        report = verify_ledger()
        assert report.ok, report.problems

    return check
