"""Group buying's campaign set-up (deals/groups/services.py: create_campaign, _clean_variants,
_validate_*, _whole), pinned where mutation testing showed that a changed line passed the suite
(docs/mutation.md): each refusal's code, message and fields, the edges of every range (the last
value taken and the first refused), and every column a new campaign and its variants are written
with. A last part pins what the runs left alive in the rest of the file (seats and deadlines)."""

from datetime import timedelta

import pytest

from shoploop.catalog import services as catalog
from shoploop.catalog.models import SKU, Shop
from shoploop.communities import services as community_services
from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.core.events import recorded_events
from shoploop.deals.groups import services
from shoploop.deals.groups.models import Group, GroupCampaign, GroupCampaignSKU, Seat
from shoploop.ledger.models import Payment
from shoploop.ledger.testing import report_payment
from shoploop.orders.tests.conftest import address_id_for

# The messages are pinned in English (the msgids), whatever the default language.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _refusal(call, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    return caught.value


def _said(error: DomainError) -> tuple:
    return error.code, str(error.message), error.fields


def _sku_stock(sku) -> int:
    return SKU.objects.get(pk=sku.pk).stock


def _nothing_created(*skus) -> None:
    assert not GroupCampaign.objects.exists() and not GroupCampaignSKU.objects.exists()
    for sku in skus:
        assert _sku_stock(sku) == sku.stock


@pytest.fixture
def sizes(make_sku, shop):
    """Two SKUs of one product: S at 59.00 (12 in stock) and M at 69.00 (8 in stock)."""
    small = make_sku(shop=shop, price_fen=5900, stock=12, title="T 恤", options={"尺码": "S"})
    medium = catalog.add_sku(
        product=small.product, actor=shop.owner, options={"尺码": "M"}, price_fen=6900, stock=8
    )
    return small, medium


def _spec(sku, price=3900, stock=1, leader=None):
    return services.VariantSpec(
        sku=sku, group_price_fen=price, stock=stock, leader_price_fen=leader
    )


# --- whole numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["group_size", "group_minutes", "min_paid_to_complete", "stock", "per_user_limit"]
)
@pytest.mark.parametrize("value", [True, "2", 2.0])
def test_a_count_that_is_no_whole_number_is_refused_by_its_name(make_campaign, sku, field, value):
    error = _refusal(make_campaign, sku=sku, **{field: value})
    assert _said(error) == ("invalid", "This must be a whole number.", {field: "not_integer"})
    assert error.status == 422
    _nothing_created(sku)


# --- prices -------------------------------------------------------------------------------------


def test_the_group_price_must_be_below_the_skus_price(make_campaign, sku):
    error = _refusal(make_campaign, sku=sku, group_price_fen=sku.price_fen)
    assert _said(error) == (
        "group_price_too_high",
        "The group price must be below the normal price.",
        {"group_price_fen": "not_below_price"},
    )
    error = _refusal(make_campaign, sku=sku, group_price_fen="3900")
    assert error.fields == {"group_price_fen": "not_integer"}
    _nothing_created(sku)
    campaign = make_campaign(sku=sku, group_price_fen=sku.price_fen - 1)
    assert campaign.group_price_fen == 5899 and campaign.variants.get().group_price_fen == 5899


def test_the_leader_price_may_be_zero_or_the_group_price_but_not_above(make_campaign, sku):
    error = _refusal(make_campaign, sku=sku, leader_price_fen=3901)
    assert _said(error) == (
        "leader_price_too_high",
        "The leader price cannot be above the group price.",
        {"leader_price_fen": "above_group_price"},
    )
    error = _refusal(make_campaign, sku=sku, leader_price_fen=-1)
    assert error.fields == {"leader_price_fen": "negative"}
    error = _refusal(make_campaign, sku=sku, leader_price_fen="0")
    assert error.fields == {"leader_price_fen": "not_integer"}
    _nothing_created(sku)
    free = make_campaign(sku=sku, leader_price_fen=0, stock=1)
    assert free.leader_price_fen == 0 and free.variants.get().leader_price_fen == 0
    same = make_campaign(sku=sku, leader_price_fen=3900, stock=1)
    assert same.leader_price_fen == 3900 and same.variants.get().leader_price_fen == 3900
    none = make_campaign(sku=sku, stock=1)
    assert none.leader_price_fen is None and none.variants.get().leader_price_fen is None


# --- size, time and K ---------------------------------------------------------------------------


def test_the_group_size_runs_from_2_to_50(make_campaign, sku):
    for size in (1, 51):
        error = _refusal(make_campaign, sku=sku, group_size=size)
        assert _said(error) == (
            "group_size_out_of_range",
            "A group has between 2 and 50 members.",
            {"group_size": "range"},
        )
    _nothing_created(sku)
    assert make_campaign(sku=sku, group_size=2, stock=1).group_size == 2
    assert make_campaign(sku=sku, group_size=50, stock=1).group_size == 50


def test_the_time_per_group_runs_from_5_minutes_to_72_hours(make_campaign, sku):
    for minutes in (4, 72 * 60 + 1):
        error = _refusal(make_campaign, sku=sku, group_minutes=minutes)
        assert _said(error) == (
            "group_time_out_of_range",
            "The time limit per group must be between 5 minutes and 72 hours.",
            {"group_minutes": "range"},
        )
    _nothing_created(sku)
    assert make_campaign(sku=sku, group_minutes=5, stock=1).group_minutes == 5
    assert make_campaign(sku=sku, group_minutes=72 * 60, stock=1).group_minutes == 72 * 60


def test_k_runs_from_1_to_one_below_the_group_size(make_campaign, sku):
    for k in (0, 4):
        error = _refusal(make_campaign, sku=sku, group_size=4, min_paid_to_complete=k)
        assert _said(error) == (
            "min_paid_out_of_range",
            "K must be at least 1 and smaller than the group size.",
            {"min_paid_to_complete": "range"},
        )
    _nothing_created(sku)
    for k in (1, 3):
        campaign = make_campaign(sku=sku, group_size=4, min_paid_to_complete=k, stock=1)
        assert GroupCampaign.objects.get(pk=campaign.pk).min_paid_to_complete == k
    assert GroupCampaign.objects.filter(min_paid_to_complete=None).count() == 0


# --- the window ---------------------------------------------------------------------------------


def test_a_missing_start_or_end_is_asked_for(make_campaign, sku):
    now = clock.now()
    for window in (
        {"starts_at": None},
        {"ends_at": None},
        {"starts_at": "2026-12-01T00:00:00+00:00"},
        {"ends_at": (now + timedelta(days=1)).date()},
    ):
        error = _refusal(make_campaign, sku=sku, **window)
        assert _said(error) == (
            "window_missing",
            "Give the campaign's start and end times.",
            {"starts_at": "required", "ends_at": "required"},
        )
    _nothing_created(sku)


def test_the_window_must_end_after_it_starts_and_after_now(make_campaign, sku):
    now = clock.now()
    start = now + timedelta(days=1)
    error = _refusal(make_campaign, sku=sku, starts_at=start, ends_at=start)
    assert _said(error) == (
        "window_ends_before_start",
        "The campaign must end after it starts.",
        {"ends_at": "before_start"},
    )
    with clock.frozen_at(now):
        error = _refusal(make_campaign, sku=sku, starts_at=now - timedelta(days=1), ends_at=now)
    assert _said(error) == (
        "window_in_past",
        "The campaign's end is in the past.",
        {"ends_at": "in_past"},
    )
    _nothing_created(sku)
    with clock.frozen_at(now):
        campaign = make_campaign(
            sku=sku,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(microseconds=1),
            stock=1,
        )
    campaign = GroupCampaign.objects.get(pk=campaign.pk)
    assert (campaign.starts_at, campaign.ends_at) == (
        now - timedelta(days=1),
        now + timedelta(microseconds=1),
    )
    one_tick = make_campaign(
        sku=sku, starts_at=start, ends_at=start + timedelta(microseconds=1), stock=1
    )
    assert one_tick.ends_at - one_tick.starts_at == timedelta(microseconds=1)


# --- stock and the limit per buyer --------------------------------------------------------------


def test_the_campaigns_stock_runs_from_1_to_the_skus(make_campaign, sku):
    error = _refusal(make_campaign, sku=sku, stock=0)
    assert _said(error) == (
        "stock_too_low",
        "Give the campaign at least one unit of stock.",
        {"stock": "range"},
    )
    error = _refusal(make_campaign, sku=sku, stock=11)
    assert _said(error) == (
        "stock_above_sku",
        "The SKU has only 10 units in stock.",
        {"stock": "above_sku_stock"},
    )
    _nothing_created(sku)
    one = make_campaign(sku=sku, stock=1)
    assert (one.stock, one.stock_total) == (1, 1) and _sku_stock(sku) == 9
    all_left = make_campaign(sku=SKU.objects.get(pk=sku.pk), stock=9)
    assert (all_left.stock, all_left.stock_total) == (9, 9) and _sku_stock(sku) == 0


def test_the_limit_per_buyer_runs_from_1_to_100(make_campaign, sku):
    for limit in (0, 101):
        error = _refusal(make_campaign, sku=sku, per_user_limit=limit)
        assert _said(error) == (
            "per_user_limit_out_of_range",
            "The limit per buyer must be between 1 and 100.",
            {"per_user_limit": "range"},
        )
    _nothing_created(sku)
    for limit in (1, 100):
        campaign = make_campaign(sku=sku, per_user_limit=limit, stock=1)
        assert GroupCampaign.objects.get(pk=campaign.pk).per_user_limit == limit


def test_the_limit_per_buyer_is_one_unless_given(merchant, sku):
    now = clock.now()
    campaign = services.create_campaign(
        actor=merchant,
        sku=sku,
        group_price_fen=3900,
        stock=2,
        group_size=3,
        starts_at=now,
        ends_at=now + timedelta(days=1),
    )
    campaign = GroupCampaign.objects.get(pk=campaign.pk)
    assert (campaign.per_user_limit, campaign.group_minutes) == (1, 24 * 60)
    assert campaign.min_paid_to_complete is None and campaign.leader_price_fen is None


# --- who and which SKUs -------------------------------------------------------------------------


def test_a_campaign_needs_a_sku(make_campaign):
    error = _refusal(make_campaign, sku=None)
    assert _said(error) == ("sku_required", "Choose one of your SKUs.", {"sku_id": "required"})
    assert not GroupCampaign.objects.exists()


def test_only_the_shops_owner_of_an_approved_shop_may_start_one(
    make_campaign, sku, other_merchant, shop
):
    error = _refusal(make_campaign, sku=sku, actor=other_merchant)
    assert _said(error) == ("not_your_shop", "This is another shop's campaign.", {})
    Shop.objects.filter(pk=shop.pk).update(status=Shop.Status.PENDING)
    error = _refusal(make_campaign, sku=SKU.objects.select_related("product__shop").get(pk=sku.pk))
    assert _said(error) == ("shop_not_approved", "Only approved shops can run campaigns.", {})
    assert error.status == 409
    _nothing_created(sku)


def test_every_variant_must_be_the_shops_own(make_campaign, sizes, make_sku, other_shop):
    foreign = make_sku(shop=other_shop)
    error = _refusal(make_campaign, sku=None, variants=[_spec(sizes[0]), _spec(foreign)])
    assert _said(error) == ("not_your_shop", "This is another shop's SKU.", {})
    assert error.status == 403
    _nothing_created(*sizes, foreign)


def test_variants_of_several_products_or_repeated_say_so(make_campaign, sizes, make_sku, shop):
    other = make_sku(shop=shop, title="帽子")
    error = _refusal(make_campaign, sku=None, variants=[_spec(sizes[0]), _spec(other)])
    assert _said(error) == (
        "variants_of_several_products",
        "Every variant of a campaign is a SKU of the same product.",
        {"variants": "several_products"},
    )
    error = _refusal(make_campaign, sku=None, variants=[_spec(other), _spec(sizes[0])])
    assert error.code == "variants_of_several_products"
    error = _refusal(
        make_campaign, sku=None, variants=[_spec(sizes[0]), _spec(sizes[1]), _spec(sizes[0])]
    )
    assert _said(error) == (
        "variant_repeated",
        "Each SKU can be in the campaign once.",
        {"variants": "repeated"},
    )
    _nothing_created(*sizes, other)


def test_a_sku_off_sale_cannot_be_a_variant(make_campaign, sizes):
    SKU.objects.filter(pk=sizes[1].pk).update(is_active=False)
    medium = SKU.objects.get(pk=sizes[1].pk)
    error = _refusal(make_campaign, sku=None, variants=[_spec(sizes[0]), _spec(medium)])
    assert _said(error) == ("sku_inactive", "This SKU is not on sale.", {})
    assert error.status == 409
    _nothing_created(*sizes)


def test_each_variant_is_checked_against_its_own_sku(make_campaign, sizes):
    small, medium = sizes
    error = _refusal(make_campaign, sku=None, variants=[_spec(small), _spec(medium, price=6900)])
    assert error.code == "group_price_too_high"
    error = _refusal(make_campaign, sku=None, variants=[_spec(small), _spec(medium, stock=9)])
    assert _said(error) == (
        "stock_above_sku",
        "The SKU has only 8 units in stock.",
        {"stock": "above_sku_stock"},
    )
    error = _refusal(
        make_campaign, sku=None, variants=[_spec(small), _spec(medium, price=3900, leader=3901)]
    )
    assert error.code == "leader_price_too_high"
    error = _refusal(make_campaign, sku=None, variants=[_spec(small), _spec(medium, stock=0)])
    assert error.code == "stock_too_low"
    _nothing_created(*sizes)
    campaign = make_campaign(
        sku=None, variants=[_spec(small, price=5899, stock=12), _spec(medium, price=6899, stock=8)]
    )
    assert campaign.stock == 20 and (_sku_stock(small), _sku_stock(medium)) == (0, 0)


def test_a_campaign_sells_at_most_20_variants(make_campaign, sizes, shop):
    small = sizes[0]
    skus = list(sizes) + [
        catalog.add_sku(
            product=small.product,
            actor=shop.owner,
            options={"尺码": f"X{i}"},
            price_fen=5900,
            stock=1,
        )
        for i in range(18)
    ]
    specs = [_spec(sku) for sku in skus]
    error = _refusal(make_campaign, sku=None, variants=[*specs, specs[0]])
    assert _said(error) == (
        "too_many_variants",
        "A campaign sells at most 20 variants.",
        {"variants": "too_many"},
    )
    _nothing_created(*skus)
    campaign = make_campaign(sku=None, variants=specs)
    assert campaign.variants.count() == 20 and campaign.stock == 20


# --- what a campaign is written with ------------------------------------------------------------


def test_a_campaign_of_variants_is_written_whole(make_campaign, sizes, buyers, merchant, shop):
    small, medium = sizes
    community = community_services.create_community(actor=buyers[0], name="T 恤同好", tags=["衣"])
    now = clock.now()
    with clock.frozen_at(now), recorded_events() as events:
        campaign = services.create_campaign(
            actor=merchant,
            group_size=5,
            starts_at=now + timedelta(hours=1),
            ends_at=now + timedelta(days=2),
            sku=small,  # ignored: the variants are given
            group_price_fen=100,
            stock=1,
            variants=(
                _spec(medium, price=4900, stock=3, leader=4000),
                _spec(small, price=3900, stock=5, leader=2900),
            ),
            group_minutes=90,
            per_user_limit=4,
            min_paid_to_complete=3,
            communities=[community],
        )
    campaign = GroupCampaign.objects.get(pk=campaign.pk)
    assert (campaign.shop, campaign.sku, campaign.state) == (shop, medium, "active")
    assert (campaign.group_price_fen, campaign.leader_price_fen) == (3900, 4000)
    assert (campaign.group_size, campaign.group_minutes) == (5, 90)
    assert (campaign.starts_at, campaign.ends_at) == (
        now + timedelta(hours=1),
        now + timedelta(days=2),
    )
    assert (campaign.stock, campaign.stock_total) == (8, 8)
    assert (campaign.per_user_limit, campaign.min_paid_to_complete) == (4, 3)
    assert list(campaign.communities.all()) == [community]
    variants = [
        (v.sku, v.group_price_fen, v.leader_price_fen, v.stock, v.stock_total)
        for v in GroupCampaignSKU.objects.filter(campaign=campaign).order_by("pk")
    ]
    assert variants == [(medium, 4900, 4000, 3, 3), (small, 3900, 2900, 5, 5)]
    assert (_sku_stock(small), _sku_stock(medium)) == (7, 5)
    created = [e.payload for e in events if e.name == "deals.campaign.created"]
    assert created == [{"campaign_public_id": campaign.public_id}]


def test_a_sku_sold_meanwhile_leaves_nothing_behind(make_campaign, sizes):
    small, medium = sizes
    SKU.objects.filter(pk=medium.pk).update(stock=2)  # the instance still says 8
    error = _refusal(
        make_campaign, sku=None, variants=[_spec(small, stock=4), _spec(medium, stock=3)]
    )
    assert error.code == "out_of_stock"
    assert not GroupCampaign.objects.exists() and not GroupCampaignSKU.objects.exists()
    assert (_sku_stock(small), _sku_stock(medium)) == (12, 2)


# --- left alive by the earlier runs (seats and deadlines, docs/mutation.md) ---------------------


def _open(campaign, user):
    return services.open_group(campaign=campaign, user=user, address_id=address_id_for(user))


def _join(group, user):
    return services.join_group(group=group, user=user, address_id=address_id_for(user))


def _fresh(obj):
    obj.refresh_from_db()
    return obj


def _payment(order):
    return Payment.objects.get(public_id=order.checkout.payment_public_id)


def _paid_group(campaign, leader, pay):
    seat = _open(campaign, leader)
    pay(seat.order.checkout)
    return _fresh(seat.group)


def test_a_buyer_whose_seat_was_freed_hears_that_the_group_is_full(opened, buyers):
    seat = _join(opened, buyers[0])
    assert services.on_payment_failed(seat.order)
    _join(opened, buyers[1])
    _join(opened, buyers[2])  # the group of three is full again
    error = _refusal(_join, group=opened, user=buyers[0])
    assert (error.code, str(error.message)) == ("group_full", "This group is full.")


def test_a_failed_payment_records_when_it_freed_the_seat(campaign, opened, buyers):
    member = _join(opened, buyers[0])
    leader = _open(campaign, buyers[1])
    now = clock.now() + timedelta(minutes=1)
    with clock.frozen_at(now):
        assert services.on_payment_failed(member.order)
        assert services.on_payment_failed(leader.order)
    assert (_fresh(member).state, member.closed_at) == (Seat.State.FREED, now)
    assert (_fresh(leader).state, leader.closed_at) == (Seat.State.FREED, now)
    group = _fresh(leader.group)
    assert (group.state, group.closed_at) == (Group.State.FAILED, now)


def test_a_batch_of_unpaid_seats_holds_only_groups_with_a_seat_due(campaign, buyers, monkeypatch):
    monkeypatch.setattr(services, "SETTLE_BATCH_SIZE", 2)
    waiting = [_open(campaign, buyers[i]) for i in range(2)]
    due_seat = _open(campaign, buyers[2])
    due = due_seat.reserved_until - timedelta(minutes=2)
    Seat.objects.filter(pk=due_seat.pk).update(reserved_until=due)
    batches = []
    take = services._due_seat_groups

    def counted(now):
        batches.append(list(take(now)))
        # Batches of groups with nothing due would be taken again and again, forever.
        assert len(batches) <= 3, "the sweep takes the same batch again and again"
        return batches[-1]

    monkeypatch.setattr(services, "_due_seat_groups", counted)
    assert services.free_unpaid_seats(due) == 1
    assert [[group.pk for group in batch] for batch in batches] == [[due_seat.group_id]]
    assert _fresh(due_seat).state == Seat.State.FREED
    assert {_fresh(seat).state for seat in waiting} == {Seat.State.RESERVED}


def test_settling_a_group_accepts_lost_captures_of_its_own_seats_only(
    campaign, buyers, pay, committed
):
    due = _paid_group(campaign, buyers[0], pay)
    later = _paid_group(campaign, buyers[1], pay)
    Group.objects.filter(pk=later.pk).update(deadline=due.deadline + timedelta(hours=1))
    elsewhere = _join(later, buyers[2])
    report_payment(_payment(elsewhere.order))  # captured; its event never reached the group
    with committed():
        assert services.settle_groups(due.deadline) == 1
    assert _fresh(due).state == Group.State.FAILED
    assert _fresh(elsewhere).state == Seat.State.RESERVED
    later = _fresh(later)
    assert (later.state, later.seats_taken, later.paid_count) == (Group.State.OPEN, 2, 1)


def test_a_lost_capture_found_at_the_groups_deadline_is_paid_then(
    make_campaign, sku, buyers, pay, committed
):
    campaign = make_campaign(sku=sku, group_size=2)
    group = _paid_group(campaign, buyers[0], pay)
    seat = _join(group, buyers[1])
    report_payment(_payment(seat.order))  # captured; its event never reached the group
    with committed():
        assert services.settle_groups(group.deadline) == 1
    seat = _fresh(seat)
    assert (seat.state, seat.paid_at) == (Seat.State.PAID, group.deadline)
    group = _fresh(group)
    assert (group.state, group.closed_at, group.paid_count) == (
        Group.State.SUCCEEDED,
        group.deadline,
        2,
    )
