"""Hypothesis drives random sequences of opens, joins, payments (on time, late, failed), seat
expiry and deadlines, and checks after every step: a group never has more paid members than its
size, the money held for a group equals its paid members' prices, nobody is refunded twice,
campaign stock + units held by seats + units sold stays constant, and the ledger balances."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count, Q
from django.test import TestCase
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from shoploop.catalog import services as catalog
from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.deals.groups import services
from shoploop.deals.groups.models import Group, GroupCampaign, Seat
from shoploop.ledger.models import Payment, Refund
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.tests.conftest import address_id_for

USERS = 6
STOCK = 12


class GroupMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example runs in a transaction rolled back at teardown.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        from shoploop.accounts.models import User

        self.now = clock.now()
        self._make = lambda phone, name: User.objects.create_user(
            phone, display_name=name, phone_verified_at=self.now
        )
        merchant = self._make("+8613900000001", "店主")
        operator = self._make("+8613900000002", "运营")
        operator.is_staff = True
        operator.save()
        shop = catalog.apply_for_shop(user=merchant, name="小店", contact="微信")
        shop = catalog.approve_shop(shop=shop, actor=operator)
        product = catalog.create_product(
            shop=shop, actor=merchant, title="茶", description="", category="food"
        )
        sku = catalog.add_sku(
            product=product, actor=merchant, options={}, price_fen=5000, stock=STOCK
        )
        catalog.publish_product(product=product, actor=merchant)
        self.users = [self._make(f"+861390000010{i}", f"u{i}") for i in range(USERS)]
        with clock.frozen_at(self.now):
            self.campaign = services.create_campaign(
                actor=merchant,
                sku=sku,
                group_price_fen=3000,
                leader_price_fen=2000,
                group_size=2,
                group_minutes=30,
                starts_at=self.now - timedelta(minutes=1),
                ends_at=self.now + timedelta(days=30),
                stock=STOCK,
                per_user_limit=3,
                min_paid_to_complete=None,
            )

    def teardown(self):
        # Checked by hand while writing this: examples reach open, succeeded and failed groups.
        for state in Group.objects.values_list("state", flat=True).distinct():
            event(f"a group {state}")
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _run(self, work):
        """One step as its own commit would: events and refund tasks run at its end."""
        with clock.frozen_at(self.now), TestCase.captureOnCommitCallbacks(execute=True):
            try:
                with transaction.atomic():
                    work()
            except DomainError:
                pass

    def _seats(self):
        return list(Seat.objects.select_related("order__checkout").order_by("pk"))

    @rule(user=st.integers(0, USERS - 1))
    def open_group(self, user):
        self._run(
            lambda: services.open_group(
                campaign=self.campaign,
                user=self.users[user],
                address_id=address_id_for(self.users[user]),
            )
        )

    @rule(user=st.integers(0, USERS - 1), pick=st.integers(0, 30))
    def join(self, user, pick):
        # Mostly a newcomer to a group that can take a member; sometimes anyone anywhere (a
        # full or closed group, the leader, a member twice: all refused, nothing changes).
        groups = list(Group.objects.order_by("pk"))
        joinable = [g for g in groups if g.state == "open" and g.paid_count]
        if joinable and pick % 4:
            group = joinable[pick % len(joinable)]
            inside = set(group.seats.exclude(state="freed").values_list("user_id", flat=True))
            newcomers = [u for u in self.users if u.pk not in inside] or self.users
            who = newcomers[user % len(newcomers)]
        elif groups:
            group, who = groups[pick % len(groups)], self.users[user]
        else:
            return
        self._run(
            lambda: services.join_group(group=group, user=who, address_id=address_id_for(who))
        )

    @rule(pick=st.integers(0, 60))
    def pay(self, pick):
        """Pay any seat's order, also one already freed or refunded (a late payment)."""
        seats = self._seats()
        if not seats:
            return
        seat = seats[pick % len(seats)]
        payment = payments.payment_by_public_id(public_id=seat.order.checkout.payment_public_id)
        if payment.captured_fen:
            return

        def work():
            report_payment(payment)

        self._run(work)

    @rule(pick=st.integers(0, 60))
    def pay_a_reserved_seat(self, pick):
        seats = [s for s in self._seats() if s.state == Seat.State.RESERVED]
        if seats:
            self.pay(pick=self._seats().index(seats[pick % len(seats)]))

    @rule(pick=st.integers(0, 60))
    def payment_fails(self, pick):
        seats = [s for s in self._seats() if s.state == Seat.State.RESERVED]
        if seats:
            seat = seats[pick % len(seats)]
            self._run(lambda: services.on_payment_failed(seat.order))

    @rule(minutes=st.sampled_from([1, 1, 1, 6, 31]))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)
        self._run(lambda: services.free_unpaid_seats(self.now))
        self._run(lambda: services.settle_groups(self.now))

    @invariant()
    def never_over_full_and_counters_true(self):
        for group in Group.objects.annotate(
            paid=Count("seats", filter=Q(seats__state=Seat.State.PAID)),
            live=Count("seats", filter=Q(seats__state__in=(Seat.State.PAID, Seat.State.RESERVED))),
        ):
            assert group.paid_count <= group.size and group.seats_taken <= group.size
            # Paid members counted are paid members held: a failed group refunded all of them.
            assert group.paid == group.paid_count
            # Seats taken are live seats, in every state (a closed group frees what was unpaid).
            assert group.live == group.seats_taken
            if group.state == Group.State.FAILED:
                assert group.paid == 0

    @invariant()
    def money_held_equals_paid_members_times_price(self):
        for seat in self._seats():
            if not seat.order_id:
                continue
            payment = Payment.objects.get(public_id=seat.order.checkout.payment_public_id)
            kept = payment.captured_fen - payment.refunded_fen
            assert kept == (seat.price_fen if seat.state == Seat.State.PAID else 0), seat

    @invariant()
    def refunded_at_most_once(self):
        assert not Refund.objects.values("payment").annotate(n=Count("pk")).filter(n__gt=1)

    @invariant()
    def stock_is_conserved(self):
        campaign = GroupCampaign.objects.get(pk=self.campaign.pk)
        held = Seat.objects.filter(Q(state=Seat.State.RESERVED) | Q(state=Seat.State.PAID)).count()
        assert campaign.stock + held == STOCK

    @invariant()
    def ledger_balances(self):
        assert verify_ledger().ok


@pytest.mark.django_db
def test_group_state_machine():
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        GroupMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
