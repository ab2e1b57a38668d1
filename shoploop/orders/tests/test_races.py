"""Races on PostgreSQL with real threads released together; then the invariants and the ledger."""

import pytest

from shoploop.catalog.models import SKU
from shoploop.core.errors import DomainError
from shoploop.core.testing import race
from shoploop.ledger.models import Payment
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import address_services, services
from shoploop.orders.models import AfterSale, Order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _succeed(checkout_or_payment_id: str) -> None:
    payment = payments.payment_by_public_id(public_id=checkout_or_payment_id)
    report_payment(payment)


def test_fifty_buyers_for_the_last_five_units(make_user, make_sku, shop, ship_to):
    sku = make_sku(shop=shop, stock=5)
    buyers = [make_user() for _ in range(50)]
    addresses = [ship_to(buyer) for buyer in buyers]
    for buyer in buyers:
        services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)

    def buy(index):
        checkout = services.checkout(buyer=buyers[index], address_public_id=addresses[index])
        _succeed(checkout.payment_public_id)
        return checkout.public_id

    outcomes = race(buy, 50)
    sold = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(sold) == 5, outcomes
    assert len(refused) == 45 and {o.code for o in refused} == {"out_of_stock"}
    assert Order.objects.filter(state=Order.State.PAID).count() == 5
    assert Order.objects.count() == 5
    assert SKU.objects.get(pk=sku.pk).stock == 0
    assert verify_ledger().ok


def test_cancel_racing_payment_success_ends_cancelled_with_money_back(
    buyer, make_sku, shop, ship_to
):
    sku = make_sku(shop=shop, stock=50)
    checkouts = []
    for _ in range(8):
        services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
        checkouts.append(services.checkout(buyer=buyer, address_public_id=ship_to(buyer)))

    def act(index):
        checkout = checkouts[index // 2]
        if index % 2:
            _succeed(checkout.payment_public_id)
            return "paid"
        services.cancel_order(order=checkout.orders.get(), actor=buyer)
        return "cancelled"

    outcomes = race(act, 16)
    assert all(isinstance(o, str) for o in outcomes), outcomes
    for checkout in checkouts:
        order = checkout.orders.get()
        payment = Payment.objects.get(public_id=checkout.payment_public_id)
        assert order.state == Order.State.CANCELLED
        assert payment.captured_fen == payment.refunded_fen == 5900, (order, payment.state)
    assert SKU.objects.get(pk=sku.pk).stock == 50
    assert verify_ledger().ok


def _received_order(buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=3)
    address = address_services.add_address(
        user=buyer,
        recipient_name="收件人",
        phone="13912345678",
        province_code="44",
        city_code="4403",
        district_code="440305",
        street="人民路 1 号",
    )
    checkout = services.checkout(buyer=buyer, address_public_id=address.public_id)
    _succeed(checkout.payment_public_id)
    order = checkout.orders.get()
    services.ship_order(
        order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    return services.confirm_receipt(order=order, actor=buyer)


def test_concurrent_accepts_refund_once(buyer, make_sku, shop):
    order = _received_order(buyer, make_sku(shop=shop))
    line = order.lines.get()
    after_sale = services.request_after_sale(
        order=order,
        actor=buyer,
        kind="refund_only",
        reason="坏了",
        lines=[{"line_id": line.public_id, "quantity": 3}],
    )

    def accept(_index):
        return services.accept_after_sale(after_sale=after_sale, actor=order.shop.owner).state

    outcomes = race(accept, 10)
    assert outcomes.count("refunded") == 1, outcomes
    payment = Payment.objects.get(public_id=order.checkout.payment_public_id)
    assert payment.refunded_fen == 17700 == payment.captured_fen
    order.refresh_from_db()
    assert order.refunded_fen == order.total_fen
    assert verify_ledger().ok


def test_concurrent_requests_and_refunds_never_exceed_what_was_paid(buyer, make_sku, shop):
    order = _received_order(buyer, make_sku(shop=shop))
    line = order.lines.get()

    def request_and_accept(_index):
        after_sale = services.request_after_sale(
            order=order,
            actor=buyer,
            kind="refund_only",
            reason="坏了",
            lines=[{"line_id": line.public_id, "quantity": 2}],
        )
        return services.accept_after_sale(after_sale=after_sale, actor=order.shop.owner).amount_fen

    outcomes = race(request_and_accept, 10)
    refunded = [o for o in outcomes if isinstance(o, int)]
    assert refunded == [11800], outcomes  # 2 of 3 units; a second request for 2 cannot fit
    order.refresh_from_db()
    payment = Payment.objects.get(public_id=order.checkout.payment_public_id)
    assert order.refunded_fen == payment.refunded_fen == 11800 <= order.total_fen
    assert AfterSale.objects.filter(state="refunded").count() == 1
    assert verify_ledger().ok


def test_double_submitted_checkout_makes_one(buyer, make_sku, shop, ship_to):
    sku = make_sku(shop=shop, stock=10)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    address = ship_to(buyer)

    def submit(_index):
        return services.checkout_idempotently(
            buyer=buyer, key="double-click", address_public_id=address
        )[0].public_id

    outcomes = race(submit, 8)
    assert len(set(outcomes)) == 1 and isinstance(outcomes[0], str), outcomes
    assert Order.objects.count() == 1
    assert SKU.objects.get(pk=sku.pk).stock == 8


def test_one_cart_checked_out_by_five_requests_at_once_is_one_order(buyer, make_sku, shop, ship_to):
    sku = make_sku(shop=shop, stock=10)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    address = ship_to(buyer)

    def check_out(index):
        checkout, _replayed = services.checkout_idempotently(
            buyer=buyer, key=f"key-{index}", address_public_id=address
        )
        return checkout.public_id

    outcomes = race(check_out, 5)
    made = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(made) == 1, outcomes
    assert len(refused) == 4
    assert {o.code for o in refused} <= {"cart_empty", "checkout_in_progress"}
    assert Order.objects.count() == 1
    assert Payment.objects.count() == 1
    assert SKU.objects.get(pk=sku.pk).stock == 8
    _succeed(Order.objects.get().checkout.payment_public_id)
    assert Order.objects.get().state == Order.State.PAID
    assert verify_ledger().ok


def test_cart_changes_racing_its_checkout_never_order_what_is_not_in_the_cart(
    buyer, make_sku, shop, ship_to
):
    sku = make_sku(shop=shop, stock=50)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    address = ship_to(buyer)

    def act(index):
        if index == 0:
            return services.checkout(buyer=buyer, address_public_id=address).public_id
        services.set_cart_quantity(user=buyer, sku_public_id=sku.public_id, quantity=3)
        return "changed"

    outcomes = race(act, 4)
    assert all(isinstance(o, str) or getattr(o, "code", "") == "not_in_cart" for o in outcomes), (
        outcomes
    )
    ordered = sum(line.quantity for order in Order.objects.all() for line in order.lines.all())
    left = sum(line.quantity for line in services.CartLine.objects.filter(cart__user=buyer))
    # What was ordered was taken from stock exactly once; what is left in the cart is not.
    assert SKU.objects.get(pk=sku.pk).stock == 50 - ordered
    assert ordered in (1, 3) and left == 0


def _fail(payment_public_id: str) -> None:
    from shoploop.ledger.providers.base import FAILED

    payment = payments.payment_by_public_id(public_id=payment_public_id)
    report_payment(payment, kind=FAILED)


def test_pay_again_pressed_many_times_at_once_makes_one_new_attempt(buyer, make_sku, shop, ship_to):
    sku = make_sku(shop=shop, stock=10)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    checkout = services.checkout(buyer=buyer, address_public_id=ship_to(buyer))
    _fail(checkout.payment_public_id)
    order = checkout.orders.get()

    def press(_index):
        return services.retry_payment(order=order, actor=buyer).payment_public_id

    outcomes = race(press, 6)
    assert all(isinstance(o, str) for o in outcomes), outcomes
    assert len(set(outcomes)) == 1
    assert Payment.objects.count() == 2
    _succeed(outcomes[0])
    assert Order.objects.get(pk=order.pk).state == Order.State.PAID
    assert verify_ledger().ok


def test_making_different_addresses_default_at_once_leaves_exactly_one(buyer):
    addresses = [
        address_services.add_address(
            user=buyer,
            recipient_name=f"收件人{index}",
            phone="13912345678",
            province_code="44",
            city_code="4403",
            district_code="440305",
            street=f"人民路 {index} 号",
        )
        for index in range(6)
    ]

    def make_default(index):
        return address_services.set_default_address(
            user=buyer, address_public_id=addresses[index].public_id
        ).public_id

    outcomes = race(make_default, 6)
    assert all(isinstance(o, str) for o in outcomes), outcomes
    assert address_services.Address.objects.filter(user=buyer, is_default=True).count() == 1
