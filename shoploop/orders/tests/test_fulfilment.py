"""Order state machine and money: ship, receive (or auto), complete with the fee split, cancel."""

from datetime import timedelta

import pytest

from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.errors import DomainError, NotAuthenticated, PermissionDenied
from shoploop.ledger.models import Account, Payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import Order

pytestmark = pytest.mark.django_db


def _balance(code):
    account = Account.objects.filter(code=code).first()
    return account.credit_balance if account else 0


@pytest.fixture
def paid_order(buyer, sku, place, pay):
    checkout = place((sku, 2))
    pay(checkout)
    return Order.objects.get(checkout=checkout)


def _ship(order):
    return services.ship_order(
        order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )


def test_platform_fee_rounds_down_and_the_merchant_keeps_the_fraction():
    assert services.platform_fee(net_fen=999, fee_rate_bps=500) == 49
    assert 999 - services.platform_fee(net_fen=999, fee_rate_bps=500) == 950
    assert services.platform_fee(net_fen=1, fee_rate_bps=500) == 0
    assert services.platform_fee(net_fen=10_000, fee_rate_bps=10_000) == 10_000
    assert services.platform_fee(net_fen=12_345, fee_rate_bps=0) == 0


def test_full_journey_completes_and_splits_the_money(paid_order, sku, settings):
    settings.ORDER_AFTER_SALE_DAYS = 7
    shop = paid_order.shop
    order = _ship(paid_order)
    assert (order.state, order.carrier, order.tracking_number) == (
        "shipped",
        "sf",
        "SF123456789012",
    )
    order = services.confirm_receipt(order=order, actor=order.buyer)
    assert order.state == Order.State.RECEIVED
    assert not services.complete_order(order=order)  # window still open
    later = order.received_at + timedelta(days=7)
    settle_due(later)
    order.refresh_from_db()
    assert order.state == Order.State.COMPLETED and order.fee_fen == 11800 * 500 // 10000
    assert _balance(f"merchant_available:shop:{shop.public_id}") == 11800 - 590
    assert _balance("platform_fees") == 590
    assert _balance(f"merchant_pending:shop:{shop.public_id}") == 0
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds == ["placed", "paid", "shipped", "received", "completed"]
    assert verify_ledger().ok


def test_fee_rounding_in_a_real_order(buyer, make_sku, shop, place, pay):
    cheap = make_sku(shop=shop, price_fen=999, title="便宜货")
    checkout = place((cheap, 1))
    pay(checkout)
    order = Order.objects.get(checkout=checkout)
    _ship(order)
    services.confirm_receipt(order=order, actor=buyer)
    order.refresh_from_db()
    assert services.complete_order(order=order, now=order.received_at + timedelta(days=8))
    assert _balance(f"merchant_available:shop:{shop.public_id}") == 950
    assert _balance("platform_fees") == 49
    assert verify_ledger().ok


def test_auto_receive_after_the_configured_days(paid_order, settings):
    settings.ORDER_AUTO_RECEIVE_DAYS = 7
    order = _ship(paid_order)
    settle_due(order.shipped_at + timedelta(days=6))
    order.refresh_from_db()
    assert order.state == Order.State.SHIPPED
    settle_due(order.shipped_at + timedelta(days=7))
    order.refresh_from_db()
    assert order.state == Order.State.RECEIVED


def test_only_the_shop_ships_and_only_paid_orders(paid_order, buyer, other_merchant):
    with pytest.raises(PermissionDenied):
        services.ship_order(order=paid_order, actor=buyer, carrier="x", tracking_number="1")
    with pytest.raises(PermissionDenied):
        services.ship_order(
            order=paid_order, actor=other_merchant, carrier="x", tracking_number="1"
        )
    _ship(paid_order)
    with pytest.raises(DomainError) as caught:
        _ship(paid_order)
    assert caught.value.code == "cannot_ship"


@pytest.mark.parametrize(
    ("carrier", "tracking"),
    [("", "SF1"), ("顺丰", ""), ("x" * 41, "SF1"), ("顺丰", "1" * 61), (None, "SF1"), (5, "SF1")],
)
def test_bad_shipping_input_changes_nothing(paid_order, carrier, tracking):
    with pytest.raises(DomainError):
        services.ship_order(
            order=paid_order, actor=paid_order.shop.owner, carrier=carrier, tracking_number=tracking
        )
    paid_order.refresh_from_db()
    assert paid_order.state == Order.State.PAID


def test_only_the_buyer_confirms_receipt_of_a_shipped_order(paid_order, other_user):
    with pytest.raises(DomainError) as caught:
        services.confirm_receipt(order=paid_order, actor=paid_order.buyer)
    assert caught.value.code == "cannot_receive"
    order = _ship(paid_order)
    with pytest.raises(PermissionDenied):
        services.confirm_receipt(order=order, actor=order.shop.owner)
    with pytest.raises(PermissionDenied):
        services.confirm_receipt(order=order, actor=other_user)


def test_buyer_cancels_an_unpaid_order_stock_back(buyer, sku, place):
    checkout = place((sku, 3))
    order = services.cancel_order(order=checkout.orders.get(), actor=buyer)
    assert order.state == Order.State.CANCELLED and order.cancel_reason == "buyer"
    assert SKU.objects.get(pk=sku.pk).stock == 10
    assert Payment.objects.get(public_id=checkout.payment_public_id).state == "canceled"
    with pytest.raises(DomainError) as caught:
        services.cancel_order(order=order, actor=buyer)
    assert caught.value.code == "cannot_cancel"


def test_cancelling_one_of_two_orders_keeps_the_payment_open(buyer, sku, other_sku, place):
    checkout = place((sku, 1), (other_sku, 1))
    services.cancel_order(order=checkout.orders.order_by("pk").first(), actor=buyer)
    assert Payment.objects.get(public_id=checkout.payment_public_id).state == "requires_payment"


def test_merchant_cancels_a_paid_order_and_the_buyer_is_refunded(paid_order, sku, committed):
    with committed():
        order = services.cancel_order(order=paid_order, actor=paid_order.shop.owner)
    assert order.state == Order.State.CANCELLED and order.cancel_reason == "merchant"
    assert order.refunded_fen == order.total_fen == 11800
    payment = Payment.objects.get(public_id=order.checkout.payment_public_id)
    assert payment.refunded_fen == 11800
    assert payment.refunds.get().state == "succeeded"
    assert SKU.objects.get(pk=sku.pk).stock == 10
    assert _balance(f"merchant_pending:shop:{order.shop.public_id}") == 0
    assert verify_ledger().ok


def test_shipped_orders_cannot_be_cancelled(paid_order):
    order = _ship(paid_order)
    with pytest.raises(DomainError) as caught:
        services.cancel_order(order=order, actor=order.buyer)
    assert caught.value.code == "cannot_cancel"
    assert verify_ledger().ok


def test_strangers_cannot_cancel(paid_order, other_user, other_merchant):
    from django.contrib.auth.models import AnonymousUser

    for stranger in (other_user, other_merchant):
        with pytest.raises(PermissionDenied):
            services.cancel_order(order=paid_order, actor=stranger)
    with pytest.raises(NotAuthenticated):
        services.cancel_order(order=paid_order, actor=AnonymousUser())
    paid_order.refresh_from_db()
    assert paid_order.state == Order.State.PAID


def test_paying_a_cancelled_checkout_is_refunded_by_payments(buyer, sku, place, pay, committed):
    checkout = place((sku, 1))
    services.cancel_order(order=checkout.orders.get(), actor=buyer)
    with committed():
        payment = pay(checkout)
    assert payment.captured_fen == payment.refunded_fen == 5900
    assert verify_ledger().ok


def test_completion_waits_for_time_not_wall_clock(paid_order):
    order = _ship(paid_order)
    order = services.confirm_receipt(order=order, actor=order.buyer)
    with clock.frozen_at(order.received_at + timedelta(days=6, hours=23)):
        assert not services.complete_order(order=order)
    with clock.frozen_at(order.received_at + timedelta(days=7)):
        assert services.complete_order(order=order)
    assert verify_ledger().ok
