"""Hypothesis drives random sequences of flash-sale operations (buy, pay, fail, pay too late,
expire, pause, resume, end) and checks after every step that no unit or fen is created or lost
and nobody holds more than the limit."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from shoploop.accounts.models import User
from shoploop.catalog import services as catalog
from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.deals.flash import services
from shoploop.deals.flash.models import FlashPurchase, FlashQuota, FlashSale
from shoploop.ledger.providers.base import FAILED, SUCCEEDED
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

SKU_STOCK = 12
SALE_STOCK = 8
LIMIT = 2


def _user(n: int, **extra) -> User:
    return User.objects.create_user(
        f"+8613900{n:06d}", display_name=f"u{n}", phone_verified_at=clock.now(), **extra
    )


class FlashMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example runs in a transaction rolled back at teardown.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        operator = _user(1, is_staff=True, is_superuser=True)
        self.merchant = _user(2)
        shop = catalog.approve_shop(
            shop=catalog.apply_for_shop(user=self.merchant, name="秒杀小店", contact="wx"),
            actor=operator,
        )
        product = catalog.create_product(
            shop=shop, actor=self.merchant, title="面包", description="", category="food"
        )
        self.sku = catalog.add_sku(
            product=product, actor=self.merchant, options={}, price_fen=1000, stock=SKU_STOCK
        )
        catalog.publish_product(product=product, actor=self.merchant)
        self.sale = services.create_sale(
            shop=shop,
            actor=self.merchant,
            sku=self.sku,
            price_fen=500,
            stock=SALE_STOCK,
            ends_at=clock.now() + timedelta(hours=1),
            per_user_limit=LIMIT,
        )
        self.buyers = [_user(10 + i) for i in range(4)]

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _fresh(self) -> FlashSale:
        return FlashSale.objects.select_related("shop", "sku__product").get(pk=self.sale.pk)

    def _purchase(self, state: str, index: int) -> FlashPurchase | None:
        rows = list(FlashPurchase.objects.filter(state=state).order_by("pk"))
        return rows[index % len(rows)] if rows else None

    def _callback(self, purchase: FlashPurchase, kind: str) -> None:
        payment = payments.payment_by_public_id(public_id=purchase.order.checkout.payment_public_id)
        try:
            report_payment(payment, kind=kind)
        except DomainError:
            return
        # The event as delivered after commit.
        if kind == SUCCEEDED:
            services.on_payment_succeeded(purchase.order)
        else:
            services.on_payment_failed(purchase.order)

    @rule(who=st.integers(0, 3), quantity=st.integers(1, 3))
    def buy(self, who, quantity):
        try:
            services.buy(
                sale=self._fresh(),
                user=self.buyers[who],
                quantity=quantity,
                address_id=address_id_for(self.buyers[who]),
            )
        except DomainError as error:
            assert error.code in {"limit_reached", "sold_out", "paused", "ended"}

    @rule(index=st.integers(0, 20))
    def pay(self, index):
        purchase = self._purchase(FlashPurchase.State.RESERVED, index)
        if purchase is not None:
            self._callback(purchase, SUCCEEDED)

    @rule(index=st.integers(0, 20))
    def fail(self, index):
        purchase = self._purchase(FlashPurchase.State.RESERVED, index)
        if purchase is not None:
            self._callback(purchase, FAILED)

    @rule(index=st.integers(0, 20))
    def pay_too_late(self, index):
        purchase = self._purchase(FlashPurchase.State.RELEASED, index)
        if purchase is not None:
            self._callback(purchase, SUCCEEDED)

    @rule()
    def window_closes(self):
        services.release_unpaid(clock.now() + services.payment_window())

    @rule(action=st.sampled_from(["pause", "resume", "end"]))
    def merchant_acts(self, action):
        service = {
            "pause": services.pause_sale,
            "resume": services.resume_sale,
            "end": services.end_sale,
        }[action]
        try:
            service(sale=self._fresh(), actor=self.merchant)
        except DomainError as error:
            assert error.code in {"not_pausable", "not_paused"}

    def _units(self, state: str, **filters) -> int:
        rows = FlashPurchase.objects.filter(sale=self.sale, state=state, **filters)
        return rows.aggregate(n=Sum("quantity"))["n"] or 0

    @invariant()
    def units_are_conserved(self):
        sale = self._fresh()
        reserved = self._units(FlashPurchase.State.RESERVED)
        paid = self._units(FlashPurchase.State.PAID)
        assert sale.available + reserved + paid + sale.returned == SALE_STOCK
        assert SKU.objects.get(pk=self.sku.pk).stock == SKU_STOCK - SALE_STOCK + sale.returned
        if sale.state == FlashSale.State.ENDED:
            assert sale.available == 0

    @invariant()
    def nobody_above_the_limit(self):
        for buyer in self.buyers:
            held = self._units(FlashPurchase.State.RESERVED, buyer=buyer) + self._units(
                FlashPurchase.State.PAID, buyer=buyer
            )
            quota = FlashQuota.objects.filter(sale=self.sale, buyer=buyer).first()
            assert held == (quota.bought if quota else 0) <= LIMIT

    @invariant()
    def orders_follow_purchases_and_money_adds_up(self):
        for purchase in FlashPurchase.objects.select_related("order"):
            expected = {
                FlashPurchase.State.RESERVED: Order.State.PENDING_PAYMENT,
                FlashPurchase.State.PAID: Order.State.PAID,
                FlashPurchase.State.RELEASED: Order.State.CANCELLED,
            }[purchase.state]
            assert purchase.order.state == expected
        assert verify_ledger().ok


@pytest.mark.django_db
def test_flash_state_machine():
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        FlashMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
