"""Hypothesis drives random sequences of back / pay / replay / cancel / expire / settle and checks
after every step: the project's counters are the sums of its counted pledges, a tier's claimed
places are its live pledges and never exceed the limit, every closed pledge's money went back
exactly once, every charged pledge's order went to the shop, and the ledger balances."""

import contextlib
import itertools
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.test import TestCase
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from shoploop.accounts.models import User
from shoploop.catalog import services as catalog
from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.deals.crowdfunding import services
from shoploop.deals.crowdfunding.models import Pledge, Project, RewardTier
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

COUNTED = (Pledge.State.ACTIVE, Pledge.State.CHARGED, Pledge.State.REFUNDED)
HOLDING_A_PLACE = (*COUNTED, Pledge.State.PENDING_PAYMENT)


_phones = itertools.count(13_900_000_000)


def _user(name, **extra):
    return User.objects.create_user(
        f"+86{next(_phones)}", display_name=name, phone_verified_at=clock.now(), **extra
    )


class CrowdfundingMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.start = clock.now()
        operator = _user("op", is_staff=True, is_superuser=True)
        merchant = _user("merchant")
        shop = catalog.apply_for_shop(user=merchant, name="小店", contact="x")
        catalog.approve_shop(shop=shop, actor=operator)
        delivery = (self.start + timedelta(days=30)).date()
        self.project = services.create_project(
            actor=merchant,
            title="壶",
            story="故事",
            target_kind="fen",
            target_value=4000,
            deadline=self.start + timedelta(days=7),
            tiers=[
                services.TierSpec("限量", 1000, 1, 2, delivery),
                services.TierSpec("不限", 1500, 2, None, delivery),
            ],
        )
        self.tiers = list(self.project.tiers.order_by("position"))
        self.backers = [_user(f"b{i}") for i in range(4)]
        self.settled = False

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _now(self):
        return self.start + timedelta(days=8) if self.settled else self.start

    def _latest(self, backer):
        return Pledge.objects.filter(backer=backer).select_related("order__checkout").first()

    @rule(who=st.integers(0, 3), tier=st.integers(0, 1))
    def back(self, who, tier):
        with clock.frozen_at(self._now()), contextlib.suppress(DomainError):
            services.back(
                tier=self.tiers[tier],
                user=self.backers[who],
                address_id=address_id_for(self.backers[who]),
            )

    @rule(who=st.integers(0, 3))
    def pay(self, who):
        pledge = self._latest(self.backers[who])
        if pledge is None or not pledge.order.checkout.payment_public_id:
            return
        payment = payments.payment_by_public_id(public_id=pledge.order.checkout.payment_public_id)
        if payment.state == "succeeded":
            # A replayed event: counted once.
            with clock.frozen_at(self._now()):
                services.on_payment_succeeded(pledge.order)
            return
        if payment.state not in ("requires_payment", "processing"):
            return
        with clock.frozen_at(self._now()), TestCase.captureOnCommitCallbacks(execute=True):
            report_payment(payment)

    @rule(who=st.integers(0, 3))
    def cancel(self, who):
        pledge = self._latest(self.backers[who])
        if pledge is None:
            return
        with clock.frozen_at(self._now()), contextlib.suppress(DomainError):
            services.cancel_pledge(pledge=pledge, actor=self.backers[who])

    @rule()
    def expire_unpaid(self):
        with clock.frozen_at(self._now() + timedelta(hours=1)):
            services.expire_unpaid_pledges(clock.now())

    # The deadline comes once, after someone paid (else most runs would end before any money).
    @precondition(lambda self: not self.settled and _some_active())
    @rule()
    def deadline_passes(self):
        self.settled = True
        with clock.frozen_at(self._now()):
            services.settle(clock.now())

    @invariant()
    def counters_are_the_sums_of_counted_pledges(self):
        project = Project.objects.get(pk=self.project.pk)
        counted = Pledge.objects.filter(project=project, state__in=COUNTED).aggregate(
            fen=Sum("amount_fen", default=0), units=Sum("units", default=0), n=Count("pk")
        )
        assert (project.pledged_fen, project.pledged_units, project.backers) == (
            counted["fen"],
            counted["units"],
            counted["n"],
        )

    @invariant()
    def tiers_hold_their_live_pledges_within_the_limit(self):
        for tier in RewardTier.objects.filter(project_id=self.project.pk).annotate(
            live=Count("pledges", filter=Q(pledges__state__in=HOLDING_A_PLACE))
        ):
            assert tier.claimed == tier.live
            assert tier.limit is None or tier.claimed <= tier.limit

    @invariant()
    def money_follows_the_pledges(self):
        for pledge in Pledge.objects.select_related("order"):
            order = pledge.order
            if pledge.state == Pledge.State.CHARGED:
                assert order.state == Order.State.PAID and order.refunded_fen == 0
            elif pledge.state == Pledge.State.ACTIVE:
                assert order.state == Order.State.AWAITING_DEAL
            elif pledge.state == Pledge.State.REFUNDED:
                assert order.state == Order.State.CANCELLED
                assert order.refunded_fen == order.total_fen
            elif pledge.state == Pledge.State.CANCELLED:
                assert order.state == Order.State.CANCELLED
                # Money that was captured went back in full, once; none captured, none refunded.
                expected = order.total_fen if _captured(order) else 0
                assert order.refunded_fen == expected
        assert verify_ledger().ok

    @invariant()
    def settled_means_nothing_open(self):
        project = Project.objects.get(pk=self.project.pk)
        if self.settled:
            assert project.state in Project.CLOSED_STATES
            assert not Pledge.objects.filter(state__in=Pledge.OPEN_STATES).exists()


def _captured(order):
    payment = payments.payment_by_public_id(public_id=order.checkout.payment_public_id)
    return payment.state == "succeeded"


@pytest.mark.django_db
def test_crowdfunding_state_machine():
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        CrowdfundingMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def _some_active() -> bool:
    return Pledge.objects.filter(state=Pledge.State.ACTIVE).exists()
