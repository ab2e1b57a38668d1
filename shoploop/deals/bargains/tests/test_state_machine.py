"""Hypothesis drives random sequences of bargain actions (start, help, buy, pay, payment
failure, time passing with settle_due) and checks after every step that the price is exactly
the start minus the cuts, never below the floor, that the stock adds up and the ledger is clean."""

import itertools
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.test import TestCase
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from shoploop.accounts.models import User
from shoploop.catalog import services as catalog
from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.core.ids import new_public_id
from shoploop.deals.bargains import services
from shoploop.deals.bargains.models import Bargain, BargainCampaign
from shoploop.ledger.providers.base import SUCCEEDED, CallbackEvent
from shoploop.ledger.services import payments
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

_phones = itertools.count(13900000000)
PEOPLE = 6
STOCK = 3


class _Rollback(Exception):
    pass


def _user(name: str) -> User:
    return User.objects.create_user(
        f"+86{next(_phones)}", display_name=name, phone_verified_at=clock.now()
    )


class BargainMachine(RuleBasedStateMachine):
    starters = Bundle("starters")  # people who started a bargain at least once

    def __init__(self):
        super().__init__()
        # Each example runs in a transaction rolled back at teardown.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.now = clock.now()
        operator = _user("op")
        operator.is_staff = operator.is_superuser = True
        operator.save()
        merchant = _user("merchant")
        shop = catalog.apply_for_shop(user=merchant, name="店", contact="wx")
        shop = catalog.approve_shop(shop=shop, actor=operator)
        product = catalog.create_product(
            shop=shop, actor=merchant, title="杯子", description="", category="home"
        )
        sku = catalog.add_sku(product=product, actor=merchant, options={}, price_fen=5000, stock=10)
        catalog.publish_product(product=product, actor=merchant)
        self.campaign = services.create_campaign(
            actor=merchant,
            sku_public_id=sku.public_id,
            start_price_fen=4000,
            floor_price_fen=7,
            helpers_needed=3,
            stock=STOCK,
            buy_before_floor=True,
            helps_per_day=2,
            hours_per_bargain=6,
            ends_at=self.now + timedelta(days=30),
        )
        self.people = [_user(f"p{i}") for i in range(PEOPLE)]
        self.now = clock.now()  # the campaign has started

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _do(self, service, **kwargs):
        with clock.frozen_at(self.now), TestCase.captureOnCommitCallbacks(execute=True):
            try:
                return service(**kwargs)
            except DomainError:
                return None

    def _bargain_of(self, index):
        return (
            Bargain.objects.filter(campaign=self.campaign, initiator=self.people[index])
            .order_by("-pk")
            .first()
        )

    @rule(target=starters, who=st.integers(0, PEOPLE - 1))
    def start(self, who):
        started = self._do(services.start_bargain, campaign=self.campaign, user=self.people[who])
        return who if started is not None else multiple()

    @rule(whose=starters, helper=st.integers(0, PEOPLE - 1))
    def help(self, whose, helper):
        bargain = self._bargain_of(whose)
        if bargain is not None:
            self._do(services.help_bargain, bargain=bargain, helper=self.people[helper])

    @rule(whose=starters)
    def buy(self, whose):
        bargain = self._bargain_of(whose)
        if bargain is not None:
            who = self.people[whose]
            self._do(services.buy, bargain=bargain, user=who, address_id=address_id_for(who))

    @rule(whose=starters, succeed=st.booleans())
    def payment_answer(self, whose, succeed):
        bargain = self._bargain_of(whose)
        if bargain is None or bargain.order is None:
            return
        order = bargain.order
        if not succeed:
            self._do(services.on_payment_failed, order=order)
            return
        payment = payments.payment_by_public_id(public_id=order.checkout.payment_public_id)
        self._do(
            payments.record_payment_event,
            provider=payment.provider,
            event=CallbackEvent(
                event_id=f"evt_{new_public_id()}",
                payment_public_id=payment.public_id,
                kind=SUCCEEDED,
                amount=payment.amount,
            ),
        )

    @rule(minutes=st.sampled_from((1, 16, 16, 60, 400)))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)
        self._do(services.expire_due, now=self.now)

    @invariant()
    def the_price_is_the_start_minus_the_cuts(self):
        for bargain in Bargain.objects.filter(campaign=self.campaign):
            cut = bargain.helps.aggregate(total=Sum("cut_fen"))["total"] or 0
            assert bargain.current_price_fen == 4000 - cut
            assert bargain.helps.count() == bargain.helps_count <= 3
            assert 7 <= bargain.current_price_fen <= 4000
            assert (bargain.current_price_fen == 7) == (bargain.helps_count == 3)

    @invariant()
    def at_most_one_open_bargain_per_person(self):
        for person in self.people:
            open_count = Bargain.objects.filter(
                campaign=self.campaign, initiator=person, state__in=Bargain.OPEN_STATES
            ).count()
            assert open_count <= 1

    @invariant()
    def the_stock_adds_up(self):
        campaign = BargainCampaign.objects.get(pk=self.campaign.pk)
        holding = Bargain.objects.filter(
            campaign=campaign,
            state__in=(Bargain.State.BUYING, Bargain.State.BOUGHT),
            order__state__in=(Order.State.PENDING_PAYMENT, Order.State.PAID),
        ).count()
        assert campaign.stock_left + holding == STOCK
        assert (
            Bargain.objects.filter(campaign=campaign, state="bought")
            .exclude(order__state=Order.State.PAID)
            .count()
            == 0
        )

    @invariant()
    def the_ledger_is_clean(self):
        assert verify_ledger().ok


@pytest.mark.django_db
def test_bargain_state_machine():
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        BargainMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
