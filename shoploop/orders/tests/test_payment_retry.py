"""A declined or abandoned payment: the order stays unpaid and payable again (a new attempt)
until its reservation ends; then it is cancelled and its items go back to the cart."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.errors import Conflict, PermissionDenied
from shoploop.ledger.models import Payment
from shoploop.ledger.providers.base import FAILED, SUCCEEDED
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import selectors, services
from shoploop.orders.models import CartLine, Checkout, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def answer(django_capture_on_commit_callbacks):
    """``answer(payment_public_id, kind)``: the sandbox reports the outcome; events delivered."""

    def run(payment_public_id, kind):
        payment = payments.payment_by_public_id(public_id=payment_public_id)
        with django_capture_on_commit_callbacks(execute=True):
            report_payment(payment, kind=kind)

    return run


def _stock(sku):
    sku.refresh_from_db()
    return sku.stock


def test_declined_then_paid_with_a_new_attempt(buyer, sku, place, answer):
    checkout = place((sku, 2))
    first_payment = checkout.payment_public_id
    answer(first_payment, FAILED)
    order = checkout.orders.get()
    assert Order.objects.get(pk=order.pk).state == Order.State.PENDING_PAYMENT
    retried = services.retry_payment(order=order, actor=buyer)
    assert retried.payment_public_id != first_payment and retried.payment_attempts == 2
    new_payment = Payment.objects.get(public_id=retried.payment_public_id)
    assert new_payment.amount == checkout.total_fen
    assert new_payment.reference == checkout.reference
    answer(new_payment.public_id, SUCCEEDED)
    order.refresh_from_db()
    assert order.state == Order.State.PAID
    assert Payment.objects.get(public_id=first_payment).state == Payment.State.FAILED
    assert _stock(sku) == 8
    assert verify_ledger().ok


def test_an_open_attempt_is_reused(buyer, sku, place):
    checkout = place((sku, 1))
    again = services.retry_payment(order=checkout.orders.get(), actor=buyer)
    assert again.payment_public_id == checkout.payment_public_id
    assert Payment.objects.count() == 1


def test_a_processing_attempt_is_left_to_finish(buyer, sku, place):
    checkout = place((sku, 1))
    payment = payments.payment_by_public_id(public_id=checkout.payment_public_id)
    payments.respond_in_sandbox(payment=payment, actor=buyer, approve=True)
    with pytest.raises(Conflict) as caught:
        services.retry_payment(order=checkout.orders.get(), actor=buyer)
    assert caught.value.code == "payment_processing"
    assert Payment.objects.count() == 1


def test_a_failure_of_an_earlier_attempt_changes_nothing(buyer, sku, place, answer):
    checkout = place((sku, 1))
    first = checkout.payment_public_id
    answer(first, FAILED)
    retried = services.retry_payment(order=checkout.orders.get(), actor=buyer)
    # A late, replayed failure of the first attempt: the second attempt is untouched.
    assert (
        services.record_payment_failure(reference=checkout.reference, payment_public_id=first) == 0
    )
    assert selectors.payment_is_open(checkout=retried)


def test_a_late_capture_of_a_failed_attempt_is_refunded_and_the_order_still_payable(
    buyer, sku, place, answer
):
    checkout = place((sku, 1))
    first = checkout.payment_public_id
    answer(first, FAILED)
    retried = services.retry_payment(order=checkout.orders.get(), actor=buyer)
    answer(first, SUCCEEDED)  # the provider took the money after all
    old = Payment.objects.get(public_id=first)
    assert old.captured_fen == old.amount
    assert old.refunds.get().amount == old.amount
    assert checkout.orders.get().state == Order.State.PENDING_PAYMENT
    answer(retried.payment_public_id, SUCCEEDED)
    assert checkout.orders.get().state == Order.State.PAID
    assert verify_ledger().ok


def test_only_the_buyer_pays_and_only_while_the_reservation_lasts(
    buyer, other_user, sku, place, answer
):
    start = clock.now()
    with clock.frozen_at(start):
        checkout = place((sku, 1))
    order = checkout.orders.get()
    answer(checkout.payment_public_id, FAILED)
    with pytest.raises(PermissionDenied):
        services.retry_payment(order=order, actor=other_user)
    with clock.frozen_at(start + timedelta(minutes=16)), pytest.raises(Conflict) as caught:
        services.retry_payment(order=order, actor=buyer)
    assert caught.value.code == "reservation_expired"
    settle_due(start + timedelta(minutes=16))
    order.refresh_from_db()
    assert order.state == Order.State.CANCELLED and order.cancel_reason == "expired"
    with pytest.raises(Conflict) as caught:
        services.retry_payment(order=order, actor=buyer)
    assert caught.value.code == "nothing_to_pay"
    assert Payment.objects.count() == 1
    assert _stock(sku) == 10


def test_a_declined_payment_leaves_the_cart_alone_and_expiry_puts_the_items_back(
    buyer, sku, other_sku, place, answer
):
    start = clock.now()
    with clock.frozen_at(start):
        checkout = place((sku, 2))
    services.add_to_cart(user=buyer, sku_public_id=other_sku.public_id, quantity=1)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    answer(checkout.payment_public_id, FAILED)
    assert dict(CartLine.objects.values_list("sku_id", "quantity")) == {
        other_sku.pk: 1,
        sku.pk: 1,
    }
    settle_due(start + timedelta(minutes=16))
    assert dict(CartLine.objects.values_list("sku_id", "quantity")) == {
        other_sku.pk: 1,
        sku.pk: 3,
    }
    assert _stock(sku) == 10


def test_a_buyer_cancelling_does_not_refill_the_cart(buyer, sku, place):
    checkout = place((sku, 2))
    services.cancel_order(order=checkout.orders.get(), actor=buyer)
    assert not CartLine.objects.exists()


def test_api_pay_again(api, buyer, sku, place, answer):
    checkout = place((sku, 1))
    order = checkout.orders.get()
    answer(checkout.payment_public_id, FAILED)
    response = api.post(f"/orders/{order.public_id}/pay", user=buyer)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["payment_id"] != checkout.payment_public_id and body["pay_url"]
    assert (
        api.post(f"/orders/{order.public_id}/pay", user=buyer).json()["payment_id"]
        == (body["payment_id"])
    )
    assert Checkout.objects.get().payment_public_id == body["payment_id"]


def test_page_pay_button_makes_a_new_attempt(client, buyer, sku, place, answer, english):
    checkout = place((sku, 1))
    order = checkout.orders.get()
    answer(checkout.payment_public_id, FAILED)
    client.force_login(buyer)
    detail = client.get(f"/orders/{order.public_id}/").content.decode()
    assert "Pay now" in detail and "Payment not completed" in detail
    # Following the old (declined) attempt leads back to the order, not to a dead cashier.
    assert client.get(f"/orders/{order.public_id}/pay/").url == f"/orders/{order.public_id}/"
    response = client.post(f"/orders/{order.public_id}/pay/")
    checkout.refresh_from_db()
    assert checkout.payment_public_id in response.url
    assert selectors.payment_is_open(checkout=checkout)
