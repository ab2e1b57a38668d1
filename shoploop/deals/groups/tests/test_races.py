"""Races on PostgreSQL with real threads released together; then the invariants and the ledger."""

from datetime import timedelta

import pytest
from django.db.models import Sum

from shoploop.core.errors import DomainError
from shoploop.core.testing import race
from shoploop.deals.groups import services
from shoploop.deals.groups.models import Group, GroupCampaign, Seat
from shoploop.ledger.models import Payment, Refund
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for, as_buyer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _succeed(order: Order) -> None:
    """The provider reports the payment captured; the deal hears it at once (no outer
    transaction here, so the event is delivered on the spot)."""
    payment = payments.payment_by_public_id(public_id=order.checkout.payment_public_id)
    report_payment(payment)


def _payment(order: Order) -> Payment:
    return Payment.objects.get(public_id=order.checkout.payment_public_id)


def _paid_leader_group(make_campaign, sku, leader, size=5):
    campaign = make_campaign(sku=sku, group_size=size, stock=10)
    seat = services.open_group(campaign=campaign, user=leader, address_id=address_id_for(leader))
    _succeed(seat.order)
    group = Group.objects.get(pk=seat.group_id)
    assert group.paid_count == 1
    return campaign, group


def test_fifty_buyers_join_and_pay_one_five_seat_group_at_once(
    make_campaign, make_sku, shop, make_user
):
    sku = make_sku(shop=shop, stock=20)
    users = [make_user() for _ in range(50)]
    campaign, group = _paid_leader_group(make_campaign, sku, users[0])
    ships = [address_id_for(user) for user in users]  # made before the race

    def join_and_pay(index):
        seat = services.join_group(
            group=Group.objects.get(pk=group.pk), user=users[index + 1], address_id=ships[index + 1]
        )
        _succeed(seat.order)
        return seat.public_id

    outcomes = race(join_and_pay, 49)
    joined = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(joined) == 4, outcomes
    assert len(refused) == 45
    assert {o.code for o in refused} <= {"group_full", "group_closed"}
    group.refresh_from_db()
    assert (group.state, group.paid_count, group.seats_taken) == ("succeeded", 5, 5)
    assert Seat.objects.filter(group=group, state=Seat.State.PAID).count() == 5
    assert Order.objects.filter(state=Order.State.PAID).count() == 5
    assert GroupCampaign.objects.get(pk=campaign.pk).stock == 5
    assert verify_ledger().ok


def test_fifty_payments_arrive_at_once_for_one_five_seat_group(
    make_campaign, make_sku, shop, make_user
):
    """49 buyers each got a seat order at some point; 45 of those seats were freed unpaid
    (the 5-minute sweep) before all 50 payments land together: exactly 5 paid members, every
    other payment refunded once."""
    sku = make_sku(shop=shop, stock=20)
    users = [make_user() for _ in range(50)]
    leader = services.open_group(
        campaign=make_campaign(sku=sku, group_size=5, stock=10),
        user=users[0],
        address_id=address_id_for(users[0]),
    )
    group = leader.group
    _succeed(leader.order)
    seats = [leader]
    # Users 1..45 join in waves of at most 4 free seats and expire unpaid; 46..49 hold seats.
    starts = [1, 2, *range(6, 46, 4), 46]
    for start, end in zip(starts, [*starts[1:], 50], strict=True):
        batch = [
            services.join_group(group=group, user=user, address_id=address_id_for(user))
            for user in users[start:end]
        ]
        seats.extend(batch)
        if end <= 46:
            services.free_unpaid_seats(batch[-1].reserved_until + timedelta(seconds=1))
    assert len(seats) == 50
    assert Seat.objects.filter(group=group, state=Seat.State.RESERVED).count() == 4

    outcomes = race(lambda i: _succeed(Order.objects.get(pk=seats[i].order_id)), 50)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    group.refresh_from_db()
    assert (group.state, group.paid_count) == ("succeeded", 5)
    paid = Seat.objects.filter(group=group, state=Seat.State.PAID)
    assert paid.count() == 5
    for seat in Seat.objects.filter(group=group).exclude(state=Seat.State.PAID):
        payment = _payment(Order.objects.get(pk=seat.order_id))
        assert payment.refunded_fen == payment.captured_fen == 3900
    assert Refund.objects.count() == 45
    assert verify_ledger().ok


def test_a_join_paying_as_the_deadline_settles_completes_or_refunds_everyone(
    make_campaign, make_sku, shop, make_user
):
    sku = make_sku(shop=shop, stock=40)
    campaign = make_campaign(sku=sku, group_size=2, stock=30, per_user_limit=10)
    leader, friend = make_user(), make_user()
    pairs = []
    for _ in range(8):
        seat = services.open_group(
            campaign=campaign, user=leader, address_id=address_id_for(leader)
        )
        _succeed(seat.order)
        joiner = services.join_group(
            group=seat.group, user=friend, address_id=address_id_for(friend)
        )
        pairs.append((seat, joiner))

    for leader_seat, joiner in pairs:
        group = leader_seat.group

        def work(index, group=group, joiner=joiner):
            if index == 0:
                return _succeed(Order.objects.get(pk=joiner.order_id))
            return services.settle_groups(group.deadline)

        outcomes = race(work, 2)
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        group.refresh_from_db()
        orders = [Order.objects.get(pk=s.order_id) for s in (leader_seat, joiner)]
        refunded = [_payment(order).refunded_fen for order in orders]
        if group.state == Group.State.SUCCEEDED:
            assert [order.state for order in orders] == [Order.State.PAID] * 2
            assert refunded == [0, 0]
        else:
            assert group.state == Group.State.FAILED
            assert [order.state for order in orders] == [Order.State.CANCELLED] * 2
            assert refunded == [3900, 3900]
    assert (
        Refund.objects.values("payment").annotate(n=Sum("amount")).filter(n__gt=3900).count() == 0
    )
    assert verify_ledger().ok


def test_settle_workers_in_parallel_settle_each_group_once(
    make_campaign, make_sku, shop, make_user
):
    sku = make_sku(shop=shop, stock=40)
    campaign = make_campaign(sku=sku, group_size=3, stock=30, per_user_limit=30)
    leader = make_user()
    groups = []
    for _ in range(12):
        seat = services.open_group(
            campaign=campaign, user=leader, address_id=address_id_for(leader)
        )
        _succeed(seat.order)
        groups.append(seat.group)
    deadline = max(group.deadline for group in groups)
    outcomes = race(lambda i: services.settle_groups(deadline), 4)
    assert sum(outcomes) == 12, outcomes
    assert Group.objects.filter(state=Group.State.FAILED).count() == 12
    assert Refund.objects.count() == 12
    assert GroupCampaign.objects.get(pk=campaign.pk).stock == 30
    assert verify_ledger().ok


def test_one_buyer_racing_opens_and_joins_gets_one_seat_within_a_limit_of_one(
    make_campaign, sku, make_user
):
    campaign = make_campaign(sku=sku, group_size=3, stock=10, per_user_limit=1)
    groups = []
    for _ in range(6):
        seat = services.open_group(campaign=campaign, **as_buyer(make_user()))
        _succeed(seat.order)
        groups.append(Group.objects.get(pk=seat.group_id))
    buyer = make_user()
    ship = address_id_for(buyer)

    def work(i):
        # Like a request: the group or the campaign as read now, then the service.
        if i < len(groups):
            return services.join_group(
                group=Group.objects.get(pk=groups[i].pk), user=buyer, address_id=ship
            )
        return services.open_group(
            campaign=GroupCampaign.objects.get(pk=campaign.pk), user=buyer, address_id=ship
        )

    outcomes = race(work, 12)

    seats = [o for o in outcomes if isinstance(o, Seat)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(seats) == 1, outcomes
    assert len(refused) == 11 and {o.code for o in refused} == {"per_user_limit"}, outcomes
    live = Seat.objects.filter(user=buyer, state__in=(Seat.State.RESERVED, Seat.State.PAID))
    assert live.count() == 1
    assert Order.objects.filter(buyer=buyer).count() == 1
    seats_held = Seat.objects.filter(state__in=(Seat.State.RESERVED, Seat.State.PAID)).count()
    assert GroupCampaign.objects.get(pk=campaign.pk).stock == 10 - seats_held
    assert sum(Group.objects.values_list("seats_taken", flat=True)) == seats_held
    assert verify_ledger().ok


def test_a_freed_seat_lets_the_same_buyer_race_again_for_one_seat(make_campaign, sku, make_user):
    campaign = make_campaign(sku=sku, group_size=3, stock=10, per_user_limit=1)
    groups = []
    for _ in range(8):
        seat = services.open_group(campaign=campaign, **as_buyer(make_user()))
        _succeed(seat.order)
        groups.append(Group.objects.get(pk=seat.group_id))
    buyer = make_user()
    first = services.join_group(group=groups[0], user=buyer, address_id=address_id_for(buyer))
    assert services.on_payment_failed(first.order)

    ship = address_id_for(buyer)
    outcomes = race(
        lambda i: services.join_group(group=groups[i], user=buyer, address_id=ship), len(groups)
    )

    assert sum(isinstance(o, Seat) for o in outcomes) == 1, outcomes
    assert {o.code for o in outcomes if isinstance(o, DomainError)} == {"per_user_limit"}
    assert Seat.objects.filter(user=buyer, state=Seat.State.RESERVED).count() == 1
    assert verify_ledger().ok


def test_buyers_racing_for_two_variants_get_each_variants_units_and_no_more(
    make_campaign, make_sku, shop, make_user
):
    """A campaign of two SKUs (3 units of S, 2 of M); 16 buyers open groups at once, half
    choosing each size, while 4 unpaid seats of S are freed meanwhile: every variant sells
    exactly what it holds, the campaign's stock stays the sum of its variants', no SKU moves."""
    from shoploop.catalog import services as catalog
    from shoploop.catalog.models import SKU
    from shoploop.deals.groups.models import GroupCampaignSKU

    small = make_sku(shop=shop, stock=20, options={"尺码": "S"})
    medium = catalog.add_sku(
        product=small.product, actor=shop.owner, options={"尺码": "M"}, price_fen=6900, stock=20
    )
    campaign = make_campaign(
        sku=None,
        variants=[
            services.VariantSpec(sku=small, group_price_fen=3900, stock=7),
            services.VariantSpec(sku=medium, group_price_fen=4900, stock=2),
        ],
    )
    early = [make_user() for _ in range(4)]
    early_seats = [
        services.open_group(campaign=campaign, sku_id=small.public_id, **as_buyer(user))
        for user in early
    ]
    users = [make_user() for _ in range(16)]
    ships = [address_id_for(user) for user in users]  # made before the race

    def work(i):
        if i >= 16:  # four racers free the early buyers' unpaid seats
            return services.on_payment_failed(Order.objects.get(pk=early_seats[i - 16].order_id))
        return services.open_group(
            campaign=GroupCampaign.objects.get(pk=campaign.pk),
            user=users[i],
            address_id=ships[i],
            sku_id=(small if i % 2 else medium).public_id,
        )

    outcomes = race(work, 20)

    seats = [o for o in outcomes[:16] if isinstance(o, Seat)]
    refused = [o for o in outcomes[:16] if isinstance(o, DomainError)]
    assert not [o for o in outcomes if isinstance(o, Exception) and o not in refused], outcomes
    assert outcomes[16:] == [True] * 4
    by_size = {
        size.pk: sum(1 for seat in seats if seat.variant.sku_id == size.pk)
        for size in (small, medium)
    }
    # S: 7 units, 4 held by early seats, all freed during the race: 3 to 7 racers got one.
    assert by_size[medium.pk] == 2, outcomes
    assert 3 <= by_size[small.pk] <= 7, outcomes
    assert len(refused) == 16 - len(seats)
    assert {o.code for o in refused} <= {"sold_out", "variant_sold_out"}, refused
    live = Seat.objects.filter(state__in=(Seat.State.RESERVED, Seat.State.PAID))
    variants = {v.sku_id: v for v in GroupCampaignSKU.objects.filter(campaign=campaign)}
    assert variants[medium.pk].stock == 0
    assert variants[small.pk].stock == 7 - live.filter(variant__sku=small).count()
    campaign.refresh_from_db()
    assert campaign.stock == sum(v.stock for v in variants.values())
    assert (SKU.objects.get(pk=small.pk).stock, SKU.objects.get(pk=medium.pk).stock) == (13, 18)
    assert verify_ledger().ok
