"""Pickup (自提): leaders, points, choosing a point at checkout, sending the order there,
collection as receipt, the 团长's commission recorded on the order."""

from datetime import timedelta

import pytest

from shoploop.communities import leader_services
from shoploop.communities import services as community_services
from shoploop.core.deadlines import settle_due
from shoploop.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shoploop.core.models import OutboxEvent
from shoploop.orders import pickup_selectors, selectors, services
from shoploop.orders.models import Order, OrderEvent

pytestmark = pytest.mark.usefixtures("english")


def _events(name: str) -> list[dict]:
    return [event.payload for event in OutboxEvent.objects.filter(name=name).order_by("id")]


# --- leaders ----------------------------------------------------------------------------------


def test_owner_appoints_a_member_and_the_event_is_published(leadership, leader, community):
    assert leadership.is_active
    assert community_services.selectors.is_leader(user=leader, community=community)
    (event,) = _events("communities.leader.appointed")
    assert event["leader_public_id"] == leader.public_id
    assert event["community_public_id"] == community.public_id


def test_the_owner_may_appoint_themself(community_owner, community):
    leadership = leader_services.appoint_leader(
        actor=community_owner, community=community, user=community_owner
    )
    assert leadership.user == community_owner


def test_only_the_owner_or_an_operator_appoints(community, leader, make_user, operator):
    member = make_user()
    community_services.join_community(actor=member, community=community)
    with pytest.raises(PermissionDenied):
        leader_services.appoint_leader(actor=leader, community=community, user=member)
    assert leader_services.appoint_leader(actor=operator, community=community, user=member)


def test_a_non_member_cannot_be_appointed_nor_twice(
    community_owner, community, make_user, leadership
):
    with pytest.raises(Conflict) as refused:
        leader_services.appoint_leader(actor=community_owner, community=community, user=make_user())
    assert refused.value.code == "not_member"
    with pytest.raises(Conflict) as again:
        leader_services.appoint_leader(
            actor=community_owner, community=community, user=leadership.user
        )
    assert again.value.code == "already_leader"


def test_revoking_stops_offering_the_point(community_owner, community, leader, point, member_buyer):
    assert list(pickup_selectors.points_for_buyer(user=member_buyer)) == [point]
    leader_services.revoke_leader(actor=community_owner, community=community, user=leader)
    assert list(pickup_selectors.points_for_buyer(user=member_buyer)) == []
    assert _events("communities.leader.revoked")
    with pytest.raises(Conflict) as again:
        leader_services.revoke_leader(actor=community_owner, community=community, user=leader)
    assert again.value.code == "not_leader"


def test_a_leader_may_step_down_but_not_revoke_another(
    community, leader, make_user, community_owner
):
    other = make_user()
    community_services.join_community(actor=other, community=community)
    leader_services.appoint_leader(actor=community_owner, community=community, user=leader)
    leader_services.appoint_leader(actor=community_owner, community=community, user=other)
    with pytest.raises(PermissionDenied):
        leader_services.revoke_leader(actor=leader, community=community, user=other)
    leader_services.revoke_leader(actor=leader, community=community, user=leader)
    # Revoked, then appointed again: a new row (the partial unique constraint allows it).
    assert leader_services.appoint_leader(actor=community_owner, community=community, user=leader)


# --- points -----------------------------------------------------------------------------------


def test_only_a_leader_opens_a_point(community, member_buyer):
    with pytest.raises(PermissionDenied):
        services.create_pickup_point(
            actor=member_buyer, community=community, name="x", address="y", hours="z"
        )


def test_point_fields_are_required_and_bounded(leadership, leader, community):
    with pytest.raises(ValidationFailed) as blank:
        services.create_pickup_point(
            actor=leader, community=community, name=" ", address="a", hours="h"
        )
    assert blank.value.fields == {"name": "required"}
    with pytest.raises(ValidationFailed) as long:
        services.create_pickup_point(
            actor=leader, community=community, name="n", address="a" * 201, hours="h"
        )
    assert long.value.fields == {"address": "too_long"}


def test_a_closed_point_is_not_offered(point, leader, member_buyer):
    services.update_pickup_point(
        actor=leader,
        point=point,
        name=point.name,
        address=point.address,
        hours="周末",
        is_active=False,
    )
    assert not pickup_selectors.points_for_buyer(user=member_buyer).exists()


def test_points_are_offered_only_to_members(point, make_user):
    assert not pickup_selectors.points_for_buyer(user=make_user()).exists()


# --- checkout ---------------------------------------------------------------------------------


def test_pickup_checkout_needs_no_address(pickup_checkout, member_buyer, point, leader):
    checkout = pickup_checkout()
    order = checkout.orders.get()
    assert order.delivery_method == "pickup"
    assert order.pickup_point == point
    assert order.pickup_leader == leader
    assert not order.has_address
    assert len(order.pickup_code) == services.pickup.PICKUP_CODE_LENGTH
    assert set(order.pickup_code) <= set(services.pickup.PICKUP_CODE_ALPHABET)


def test_a_non_member_cannot_choose_the_point(point, buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    with pytest.raises(NotFound) as refused:
        services.checkout(
            buyer=buyer, delivery_method="pickup", pickup_point_public_id=point.public_id
        )
    assert refused.value.code == "pickup_point_not_found"
    assert not Order.objects.exists()


def test_pickup_without_a_point_is_refused(member_buyer, point, sku):
    services.add_to_cart(user=member_buyer, sku_public_id=sku.public_id, quantity=1)
    with pytest.raises(ValidationFailed) as refused:
        services.checkout(buyer=member_buyer, delivery_method="pickup")
    assert refused.value.code == "pickup_point_required"


def test_a_shop_that_does_not_offer_pickup_refuses_it(pickup_checkout, shop, merchant, sku):
    services.update_shop_pickup_settings(
        actor=merchant, shop=shop, offers_pickup=False, leader_commission_fen=0
    )
    with pytest.raises(Conflict) as refused:
        pickup_checkout()
    assert refused.value.code == "pickup_not_offered"
    assert not Order.objects.exists()
    assert sku.__class__.objects.get(pk=sku.pk).stock == sku.stock


def test_the_commission_is_snapshotted_on_the_order(pickup_checkout, shop, merchant):
    services.update_shop_pickup_settings(
        actor=merchant, shop=shop, offers_pickup=True, leader_commission_fen=300
    )
    order = pickup_checkout().orders.get()
    services.update_shop_pickup_settings(
        actor=merchant, shop=shop, offers_pickup=True, leader_commission_fen=900
    )
    order.refresh_from_db()
    assert order.leader_commission_fen == 300


def test_the_commission_never_exceeds_the_order(pickup_checkout, shop, merchant, make_sku):
    cheap = make_sku(shop=shop, price_fen=100, title="一颗糖")
    services.update_shop_pickup_settings(
        actor=merchant, shop=shop, offers_pickup=True, leader_commission_fen=500
    )
    assert pickup_checkout((cheap, 1)).orders.get().leader_commission_fen == 100


def test_the_leader_earns_nothing_on_their_own_order(point, leader, sku, shop, merchant):
    services.update_shop_pickup_settings(
        actor=merchant, shop=shop, offers_pickup=True, leader_commission_fen=300
    )
    services.add_to_cart(user=leader, sku_public_id=sku.public_id, quantity=1)
    checkout = services.checkout(
        buyer=leader, delivery_method="pickup", pickup_point_public_id=point.public_id
    )
    assert checkout.orders.get().leader_commission_fen == 0


def test_shop_settings_are_checked(shop, merchant, other_merchant):
    with pytest.raises(ValidationFailed) as bad:
        services.update_shop_pickup_settings(
            actor=merchant, shop=shop, offers_pickup=True, leader_commission_fen=-1
        )
    assert bad.value.code == "commission_invalid"
    with pytest.raises(PermissionDenied):
        services.update_shop_pickup_settings(
            actor=other_merchant, shop=shop, offers_pickup=True, leader_commission_fen=1
        )
    assert services.shop_pickup_settings(shop=shop).offers_pickup  # the default: on


def test_the_quote_lists_points_and_hides_them_when_a_shop_opts_out(
    member_buyer, point, sku, shop, merchant
):
    services.add_to_cart(user=member_buyer, sku_public_id=sku.public_id, quantity=1)
    quote = selectors.checkout_quote(buyer=member_buyer)
    assert quote.pickup_points == [point]
    chosen = selectors.checkout_quote(
        buyer=member_buyer, delivery_method="pickup", pickup_point_public_id=point.public_id
    )
    assert chosen.pickup_point == point and chosen.can_confirm
    services.update_shop_pickup_settings(
        actor=merchant, shop=shop, offers_pickup=False, leader_commission_fen=0
    )
    quote = selectors.checkout_quote(buyer=member_buyer)
    assert quote.pickup_points == [] and quote.no_pickup_shops == [shop]


def test_idempotent_checkout_counts_the_point_in_the_body(member_buyer, point, sku, ship_to):
    services.add_to_cart(user=member_buyer, sku_public_id=sku.public_id, quantity=1)
    first, replayed = services.checkout_idempotently(
        buyer=member_buyer,
        key="k1",
        delivery_method="pickup",
        pickup_point_public_id=point.public_id,
    )
    again, replayed = services.checkout_idempotently(
        buyer=member_buyer,
        key="k1",
        delivery_method="pickup",
        pickup_point_public_id=point.public_id,
    )
    assert replayed and again == first
    with pytest.raises(Conflict):
        services.checkout_idempotently(
            buyer=member_buyer, key="k1", address_public_id=ship_to(member_buyer)
        )


def test_a_pickup_order_has_no_address_to_change(pickup_checkout, member_buyer, ship_to):
    order = pickup_checkout().orders.get()
    with pytest.raises(Conflict) as refused:
        services.change_order_address(
            order=order, actor=member_buyer, address_public_id=ship_to(member_buyer)
        )
    assert refused.value.code == "pickup_order"


# --- sending to the point and collecting ------------------------------------------------------


def test_the_shop_sends_it_to_the_point_without_a_tracking_number(shipped_pickup_order, point):
    order = shipped_pickup_order
    assert order.state == Order.State.SHIPPED and order.carrier == ""
    assert OrderEvent.objects.filter(order=order, kind="sent_to_pickup").exists()
    (ready,) = _events("orders.pickup.ready")
    assert ready["order_public_id"] == order.public_id
    assert ready["pickup_point_public_id"] == point.public_id


def test_a_tracking_number_is_still_checked_when_given(pickup_checkout, pay, merchant):
    checkout = pickup_checkout()
    pay(checkout)
    order = checkout.orders.get()
    with pytest.raises(ValidationFailed):
        services.ship_order(order=order, actor=merchant, carrier="sf", tracking_number="bad")
    shipped = services.ship_order(
        order=order, actor=merchant, carrier="sf", tracking_number="SF1234567890123"
    )
    assert shipped.carrier == "sf"


def test_the_ship_queue_ships_pickup_orders_without_numbers(pickup_checkout, pay, merchant, shop):
    checkout = pickup_checkout()
    pay(checkout)
    order = checkout.orders.get()
    outcome = services.ship_orders(
        shop=shop,
        actor=merchant,
        shipments=[{"order_id": order.public_id, "carrier": "sf", "tracking_number": ""}],
    )
    assert outcome == {order.public_id: "shipped"}


def test_collecting_is_receipt(shipped_pickup_order, leader, point, settings):
    order = services.collect_pickup(
        point=point,
        actor=leader,
        code=f" {shipped_pickup_order.pickup_code.lower()[:4]}-"
        f"{shipped_pickup_order.pickup_code[4:]} ",
    )
    assert order.state == Order.State.RECEIVED and order.received_at is not None
    (received,) = _events("orders.order.received")
    assert received["auto"] is False
    (collected,) = _events("orders.pickup.collected")
    assert collected["collected_by_public_id"] == leader.public_id
    # Receipt starts the after-sale window; when it closes, the order completes as any other.
    settle_due(order.received_at + timedelta(days=settings.ORDER_AFTER_SALE_DAYS + 1))
    order.refresh_from_db()
    assert order.state == Order.State.COMPLETED


def test_a_wrong_code_changes_nothing(shipped_pickup_order, leader, point):
    with pytest.raises(ValidationFailed) as refused:
        services.collect_pickup(point=point, actor=leader, code="AAAAAAAA")
    assert refused.value.code == "pickup_code_invalid"
    shipped_pickup_order.refresh_from_db()
    assert shipped_pickup_order.state == Order.State.SHIPPED


def test_the_code_of_another_points_order_is_refused(
    shipped_pickup_order, leader, community, leadership
):
    second = services.create_pickup_point(
        actor=leader, community=community, name="二号点", address="东门", hours="晚上"
    )
    with pytest.raises(ValidationFailed) as refused:
        services.collect_pickup(point=second, actor=leader, code=shipped_pickup_order.pickup_code)
    assert refused.value.code == "pickup_code_invalid"


def test_collecting_twice_is_a_conflict(shipped_pickup_order, leader, point):
    services.collect_pickup(point=point, actor=leader, code=shipped_pickup_order.pickup_code)
    with pytest.raises(Conflict) as twice:
        services.collect_pickup(point=point, actor=leader, code=shipped_pickup_order.pickup_code)
    assert twice.value.code == "already_collected" and twice.value.status == 409


def test_not_yet_sent_cannot_be_collected(pickup_checkout, pay, leader, point):
    checkout = pickup_checkout()
    pay(checkout)
    order = checkout.orders.get()
    with pytest.raises(Conflict) as early:
        services.collect_pickup(point=point, actor=leader, code=order.pickup_code)
    assert early.value.code == "not_at_point"


def test_only_the_points_leader_or_an_operator_collects(
    shipped_pickup_order, point, member_buyer, merchant, operator, community_owner
):
    for someone in (member_buyer, merchant, community_owner):
        with pytest.raises(PermissionDenied):
            services.collect_pickup(
                point=point, actor=someone, code=shipped_pickup_order.pickup_code
            )
    order = services.collect_pickup(
        point=point, actor=operator, code=shipped_pickup_order.pickup_code
    )
    assert order.state == Order.State.RECEIVED


def test_a_revoked_leader_can_no_longer_collect(
    shipped_pickup_order, point, leader, community_owner, community
):
    leader_services.revoke_leader(actor=community_owner, community=community, user=leader)
    with pytest.raises(PermissionDenied):
        services.collect_pickup(point=point, actor=leader, code=shipped_pickup_order.pickup_code)


# --- earnings ---------------------------------------------------------------------------------


def test_the_leader_sees_frozen_then_available_earnings(
    pickup_checkout, pay, merchant, shop, leader, point, settings
):
    services.update_shop_pickup_settings(
        actor=merchant, shop=shop, offers_pickup=True, leader_commission_fen=250
    )
    checkout = pickup_checkout()
    nothing = {"frozen_fen": 0, "available_fen": 0, "reversed_fen": 0}
    assert pickup_selectors.earnings_summary(user=leader) == nothing
    pay(checkout)
    order = checkout.orders.get()
    assert pickup_selectors.earnings_summary(user=leader) == {**nothing, "frozen_fen": 250}
    services.ship_order(order=order, actor=merchant, carrier="", tracking_number="")
    order = services.collect_pickup(point=point, actor=leader, code=order.pickup_code)
    settle_due(order.received_at + timedelta(days=settings.ORDER_AFTER_SALE_DAYS + 1))
    assert pickup_selectors.earnings_summary(user=leader) == {**nothing, "available_fen": 250}


def test_a_cancelled_order_reverses_the_commission(
    pickup_checkout, pay, merchant, shop, leader, member_buyer, committed
):
    services.update_shop_pickup_settings(
        actor=merchant, shop=shop, offers_pickup=True, leader_commission_fen=250
    )
    checkout = pickup_checkout()
    pay(checkout)
    with committed():
        services.cancel_order(order=checkout.orders.get(), actor=member_buyer)
    (commission,) = pickup_selectors.leader_earnings(user=leader)
    assert (commission.state, commission.amount_fen) == ("reversed", 0)
    assert pickup_selectors.earnings_summary(user=leader)["reversed_fen"] == 250


# --- notifications ----------------------------------------------------------------------------


def test_sending_to_the_point_notifies_the_buyer_and_the_leader(
    pickup_checkout, pay, merchant, member_buyer, leader, point, committed
):
    from django.utils import translation

    from shoploop.notifications import kinds
    from shoploop.notifications.models import Notification

    checkout = pickup_checkout()
    pay(checkout)
    with committed():
        services.ship_order(
            order=checkout.orders.get(), actor=merchant, carrier="", tracking_number=""
        )
    (to_buyer,) = Notification.objects.filter(recipient=member_buyer)
    assert to_buyer.kind == "order_pickup_ready"
    with translation.override("en"):
        assert point.name in kinds.render(to_buyer.kind, to_buyer.params)
    (to_leader,) = Notification.objects.filter(recipient=leader)
    assert to_leader.kind == "pickup_order_sent"


def test_a_leader_who_left_the_community_is_not_offered(point, leader, community, member_buyer):
    community_services.leave_community(actor=leader, community=community)
    assert not pickup_selectors.points_for_buyer(user=member_buyer).exists()
