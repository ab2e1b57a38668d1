"""Deal checkouts: placed by a deal, paid like any order, settled by the deal, never by the cart."""

from datetime import timedelta

import pytest

from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.errors import DomainError
from shoploop.ledger.models import Payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import selectors, services
from shoploop.orders.models import Address, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def place_deal(buyer, sku, ship_to):
    def run(*, price=3900, quantity=1, ref="test:abc", user=None):
        who = user or buyer
        return services.place_deal_order(
            buyer=who,
            address=Address.objects.get(public_id=ship_to(who)),
            shop=sku.product.shop,
            title=sku.product.title,
            unit_price_fen=price,
            quantity=quantity,
            deal_ref=ref,
            expires_at=clock.now() + timedelta(minutes=5),
            sku=sku,
        )

    return run


def _payment(order):
    return Payment.objects.get(public_id=order.checkout.payment_public_id)


def test_a_deal_order_has_its_own_price_and_payment_and_takes_no_sku_stock(place_deal, sku):
    order = place_deal(price=3900, quantity=2)
    assert order.state == Order.State.PENDING_PAYMENT
    assert order.total_fen == 7800
    assert _payment(order).amount == 7800
    assert order.checkout.deal_ref == "test:abc"
    assert SKU.objects.get(pk=sku.pk).stock == sku.stock
    line = order.lines.get()
    assert (line.unit_price_fen, line.quantity, line.sku_id) == (3900, 2, sku.pk)


def test_accepted_and_awaiting_holds_the_money_until_confirmed(place_deal, pay):
    order = place_deal()
    pay(order.checkout)
    order.refresh_from_db()
    # No deal kind is registered for "test:": the cart's payment handler leaves it alone too.
    assert order.state == Order.State.PENDING_PAYMENT
    assert services.settle_deal_payment(order=order, accept=True, await_deal=True) == "awaiting"
    assert services.settle_deal_payment(order=order, accept=True, await_deal=True) == "unchanged"
    order.refresh_from_db()
    assert order.state == Order.State.AWAITING_DEAL and order.has_hold
    assert services.confirm_deal_order(order=order)
    assert not services.confirm_deal_order(order=order)
    order.refresh_from_db()
    assert order.state == Order.State.PAID
    assert verify_ledger().ok


def test_refused_payment_cancels_and_refunds_in_full_once(place_deal, pay, committed):
    order = place_deal()
    pay(order.checkout)
    with committed():
        assert services.settle_deal_payment(order=order, accept=False) == "refunded"
        assert services.settle_deal_payment(order=order, accept=False) == "unchanged"
    order.refresh_from_db()
    payment = _payment(order)
    assert order.state == Order.State.CANCELLED
    assert payment.refunded_fen == payment.captured_fen == 3900
    assert verify_ledger().ok


def test_settling_before_capture_changes_nothing(place_deal):
    order = place_deal()
    assert services.settle_deal_payment(order=order, accept=True) == "not_captured"
    order.refresh_from_db()
    assert order.state == Order.State.PENDING_PAYMENT


def test_cancelling_a_held_deal_order_voids_and_refunds_once(place_deal, pay, committed):
    order = place_deal()
    pay(order.checkout)
    services.settle_deal_payment(order=order, accept=True, await_deal=True)
    with committed():
        assert services.cancel_deal_order(order=order)
        assert not services.cancel_deal_order(order=order)
    order.refresh_from_db()
    assert order.state == Order.State.CANCELLED
    assert order.cancel_reason == Order.CancelReason.DEAL_FAILED
    assert _payment(order).refunded_fen == 3900
    assert verify_ledger().ok


def test_cancelling_unpaid_cancels_the_payment_and_a_late_success_is_refunded_once(
    place_deal, pay, committed
):
    order = place_deal()
    assert services.cancel_deal_order(order=order, reason=Order.CancelReason.EXPIRED)
    assert _payment(order).state == Payment.State.CANCELED
    with committed():
        pay(order.checkout)  # the buyer's money still arrives: the ledger returns it whole
    with committed():
        assert services.settle_deal_payment(order=order, accept=True) == "not_captured"
    payment = _payment(order)
    assert payment.refunded_fen == payment.captured_fen == 3900
    assert verify_ledger().ok


def test_success_captured_just_before_the_cancel_is_refunded_by_the_deal(
    place_deal, pay, committed
):
    order = place_deal()
    pay(order.checkout)  # captured; the deal has not answered yet
    assert services.cancel_deal_order(order=order, reason=Order.CancelReason.EXPIRED)
    with committed():
        assert services.settle_deal_payment(order=order, accept=True) == "refunded"
        assert services.settle_deal_payment(order=order, accept=True) == "unchanged"
    payment = _payment(order)
    assert payment.refunded_fen == payment.captured_fen == 3900
    assert verify_ledger().ok


def test_free_deal_order_is_paid_at_once_without_a_payment(place_deal):
    order = place_deal(price=0)
    assert order.state == Order.State.PAID
    assert order.checkout.payment_public_id == ""
    assert services.cancel_deal_order(order=order)
    order.refresh_from_db()
    assert order.state == Order.State.CANCELLED


def test_cart_paths_leave_deal_orders_to_the_deal(place_deal, buyer):
    order = place_deal()
    with pytest.raises(DomainError) as refused:
        services.cancel_order(order=order, actor=buyer)
    assert refused.value.code == "deal_order"
    # The cart's unpaid-checkout sweep does not touch it; the deal's own deadline does.
    settle_due(clock.now() + timedelta(hours=1))
    order.refresh_from_db()
    assert order.state == Order.State.PENDING_PAYMENT


def test_buyer_cannot_buy_from_own_shop_and_price_must_be_whole(place_deal, merchant):
    with pytest.raises(DomainError) as own:
        place_deal(user=merchant)
    assert own.value.code == "own_shop"
    with pytest.raises(DomainError):
        place_deal(price=-1)


def test_deal_order_for_payment_finds_only_deal_checkouts(place_deal, place, sku):
    order = place_deal()
    assert selectors.deal_order_for_payment(reference=order.checkout.reference) == order
    cart_checkout = place((sku, 1))
    assert selectors.deal_order_for_payment(reference=cart_checkout.reference) is None
    assert selectors.deal_order_for_payment(reference="nonsense") is None


def test_pay_now_on_a_deal_order_goes_to_its_open_payment_but_never_makes_a_new_one(
    place_deal, buyer, client
):
    from shoploop.core.errors import Conflict

    order = place_deal()
    assert services.retry_payment(order=order, actor=buyer).payment_public_id == (
        order.checkout.payment_public_id
    )
    client.force_login(buyer)
    response = client.post(f"/orders/{order.public_id}/pay/")
    assert order.checkout.payment_public_id in response.url
    services_payment = _payment(order)
    Payment.objects.filter(pk=services_payment.pk).update(state=Payment.State.FAILED)
    with pytest.raises(Conflict) as caught:
        services.retry_payment(order=order, actor=buyer)
    assert caught.value.code == "deal_order"
    assert Payment.objects.count() == 1
