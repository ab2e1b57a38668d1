"""Each event a person cares about becomes one notification for the right people.

Every event is published with its contract payload (docs/events.md) inside a transaction, on rows
made by the owning apps' services, and delivered a second time: the handler must make one
notification however often it runs."""

from datetime import timedelta

import pytest
from django.utils import translation

from shoploop.accounts import services as accounts
from shoploop.core import clock
from shoploop.core.events import deliver, publish
from shoploop.notifications import handlers, kinds, services
from shoploop.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def emit(committed):
    """Publish in a transaction, deliver on commit, then deliver the same event once more."""
    from django.db import transaction

    def run(name, **payload):
        with committed(), transaction.atomic():
            event = publish(name, **payload)
        deliver(event)
        return event

    return run


def got(user, kind=None):
    rows = Notification.objects.filter(recipient=user)
    if kind:
        rows = rows.filter(kind=kind)
    return list(rows)


def text_of(notification, language="en"):
    with translation.override(language):
        return kinds.render(notification.kind, notification.params)


# --- group buying ------------------------------------------------------------------------------


def test_a_member_joining_tells_the_others_not_the_joiner(emit, open_group, buyer, make_user):
    joiner = make_user(display_name="新团员")
    group = open_group(buyer, joiner)
    emit(
        "deals.group.joined",
        group_public_id=group.public_id,
        campaign_public_id=group.campaign.public_id,
        member_public_id=joiner.public_id,
    )
    [note] = got(buyer, "group_joined")
    assert got(joiner) == []
    assert "新团员" in text_of(note)
    assert note.params["group"] == group.public_id
    assert kinds.link(note.kind, note.params) == f"/groups/g/{group.public_id}/"


def test_a_joiner_whose_seat_is_gone_by_the_delivery_is_still_named(
    emit, open_group, buyer, make_user
):
    # Their seat ran out between the join and the (late) delivery: not a member any more.
    gone = make_user(display_name="离开的团员")
    group = open_group(buyer)
    emit(
        "deals.group.joined",
        group_public_id=group.public_id,
        campaign_public_id=group.campaign.public_id,
        member_public_id=gone.public_id,
    )
    [note] = got(buyer, "group_joined")
    assert "离开的团员" in text_of(note)
    assert got(gone) == []


def test_a_completed_group_tells_every_paid_member(emit, open_group, buyer, make_user):
    members = [make_user(), make_user()]
    group = open_group(buyer, *members)
    assert group.state == "succeeded"
    emit(
        "deals.group.completed",
        group_public_id=group.public_id,
        campaign_public_id=group.campaign.public_id,
    )
    for person in [buyer, *members]:
        assert [n.kind for n in got(person)] == ["group_completed"]


def test_a_failed_group_tells_each_member_their_refund(
    emit, open_group, buyer, make_user, committed
):
    from shoploop.deals.groups import services as groups

    member = make_user()
    group = open_group(buyer, member)
    with committed():
        groups.settle_groups(group.deadline + timedelta(seconds=1))
    group.refresh_from_db()
    assert group.state == "failed"
    emit(
        "deals.group.failed",
        group_public_id=group.public_id,
        campaign_public_id=group.campaign.public_id,
    )
    for person in (buyer, member):
        [note] = got(person)
        assert note.kind == "group_failed"
        assert note.params["refund_fen"] > 0
        assert "is refunded" in text_of(note)
    # Its order's refund is told by the group's notification, not a second one.
    order = group.seats.get(user=member).order
    emit(
        "orders.order.refunded",
        order_public_id=order.public_id,
        buyer_public_id=member.public_id,
        shop_public_id=order.shop.public_id,
        amount_fen=order.total_fen,
    )
    assert [n.kind for n in got(member)] == ["group_failed"]


def test_a_failed_group_does_not_tell_someone_whose_seat_ran_out_earlier(
    emit, open_group, buyer, make_user, committed
):
    from shoploop.deals.groups import services as groups
    from shoploop.deals.groups.models import Seat

    group = open_group(buyer)
    late = make_user()
    seat = groups.join_group(group=group, user=late, address_id=_address(late))
    with committed():
        groups.free_unpaid_seats(seat.reserved_until + timedelta(seconds=1))
    assert Seat.objects.get(pk=seat.pk).state == "freed"
    with committed():
        groups.settle_groups(group.deadline + timedelta(seconds=1))
    emit(
        "deals.group.failed",
        group_public_id=group.public_id,
        campaign_public_id=group.campaign.public_id,
    )
    assert [n.kind for n in got(buyer)] == ["group_failed"]
    assert got(late) == []


def _address(user):
    from shoploop.orders.testing import address_id_for

    return address_id_for(user)


# --- bargains ----------------------------------------------------------------------------------


def test_a_friends_help_tells_the_starter(emit, bargain_campaign, buyer, make_user):
    from shoploop.deals.bargains import services as bargains

    friend = make_user(display_name="好友阿强")
    bargain = bargains.start_bargain(campaign=bargain_campaign, user=buyer)
    help_row = bargains.help_bargain(bargain=bargain, helper=friend)
    emit(
        "bargains.bargain.helped",
        bargain_public_id=bargain.public_id,
        helper_public_id=friend.public_id,
        cut_fen=help_row.cut_fen,
    )
    [note] = got(buyer)
    assert note.kind == "bargain_helped" and note.params["cut_fen"] == help_row.cut_fen
    assert "好友阿强" in text_of(note)
    assert got(friend) == []
    assert kinds.link(note.kind, note.params) == f"/bargains/{bargain.public_id}/"


def test_the_floor_reached_tells_the_starter(emit, bargain_campaign, buyer, make_user):
    from shoploop.deals.bargains import services as bargains

    bargain = bargains.start_bargain(campaign=bargain_campaign, user=buyer)
    for _ in range(bargain_campaign.helpers_needed):
        bargains.help_bargain(bargain=bargain, helper=make_user())
    emit("bargains.bargain.floor_reached", bargain_public_id=bargain.public_id)
    [note] = got(buyer)
    assert note.kind == "bargain_floor_reached"
    assert "¥10.00" in text_of(note)


def test_the_sweep_warns_once_in_the_last_hour(bargain_campaign, buyer, committed):
    from shoploop.deals.bargains import services as bargains

    bargain = bargains.start_bargain(campaign=bargain_campaign, user=buyer)
    assert handlers.notify_expiring_bargains(bargain.deadline - timedelta(hours=2)) == 0
    with committed():
        assert handlers.notify_expiring_bargains(bargain.deadline - timedelta(minutes=50)) == 1
        assert handlers.notify_expiring_bargains(bargain.deadline - timedelta(minutes=10)) == 0
    [note] = got(buyer)
    assert note.kind == "bargain_expiring"
    # A bargain already over is not warned about.
    assert handlers.notify_expiring_bargains(bargain.deadline + timedelta(minutes=1)) == 0


def test_the_sweep_is_registered_with_settle_due():
    from shoploop.core.deadlines import registered_handlers

    assert registered_handlers()["notifications.bargains_expiring"] is (
        handlers.notify_expiring_bargains
    )


# --- crowdfunding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "kind", "words"),
    [
        ("crowdfunding.project.succeeded", "crowdfunding_succeeded", "goes ahead"),
        ("crowdfunding.project.failed", "crowdfunding_failed", "is refunded"),
    ],
)
def test_a_decided_project_tells_its_paid_backers(
    emit, project, make_user, pay, event, kind, words
):
    from shoploop.deals.crowdfunding import services as crowdfunding

    tier = project.tiers.get()
    paid, unpaid = make_user(), make_user()
    pledge = crowdfunding.back(tier=tier, user=paid, address_id=_address(paid))
    pay(pledge.order.checkout)
    crowdfunding.back(tier=tier, user=unpaid, address_id=_address(unpaid))
    emit(event, project_public_id=project.public_id)
    [note] = got(paid)
    assert note.kind == kind and words in text_of(note)
    assert got(unpaid) == []
    assert got(project.shop.owner, kind) == []


# --- orders ------------------------------------------------------------------------------------


def _order_event(emit, name, order, **extra):
    emit(
        name,
        order_public_id=order.public_id,
        buyer_public_id=order.buyer.public_id,
        shop_public_id=order.shop.public_id,
        **extra,
    )


def test_a_paid_order_tells_the_shop(emit, paid_order, buyer, merchant):
    order = paid_order()
    _order_event(emit, "orders.order.paid", order)
    [note] = got(merchant)
    assert note.kind == "order_paid" and "手冲咖啡豆" in text_of(note)
    assert got(buyer) == []
    assert kinds.link(note.kind, note.params) == f"/orders/{order.public_id}/"


def test_a_paid_order_of_several_lines_is_named_by_its_first_and_how_many_more(
    emit, place, pay, make_sku, sku, shop, merchant
):
    tea = make_sku(shop=shop, title="白茶")
    cups = make_sku(shop=shop, title="茶杯")
    checkout = place((sku, 1), (tea, 1), (cups, 2))
    pay(checkout)
    order = checkout.orders.get()
    _order_event(emit, "orders.order.paid", order)
    [note] = got(merchant)
    assert note.params["title"] == "手冲咖啡豆 +2"


def test_a_shipped_order_tells_the_buyer(emit, paid_order, buyer, merchant):
    from shoploop.orders import services as orders

    order = orders.ship_order(
        order=paid_order(), actor=merchant, carrier="sf", tracking_number="SF1234567890123"
    )
    _order_event(emit, "orders.order.shipped", order)
    assert [n.kind for n in got(buyer)] == ["order_shipped"]
    # The shop heard of the payment (the service's own event), nothing of the shipping.
    assert [n.kind for n in got(merchant)] == ["order_paid"]


def test_only_an_automatic_receipt_tells_the_buyer(emit, paid_order, buyer):
    order = paid_order()
    _order_event(emit, "orders.order.received", order, auto=False)
    assert got(buyer) == []
    _order_event(emit, "orders.order.received", order, auto=True)
    assert [n.kind for n in got(buyer)] == ["order_auto_received"]


def test_a_refund_tells_the_buyer_the_amount(emit, paid_order, buyer):
    from shoploop.orders import services as orders

    order = orders.cancel_order(order=paid_order(), actor=buyer)
    _order_event(emit, "orders.order.refunded", order, amount_fen=order.total_fen)
    [note] = got(buyer)
    assert note.kind == "order_refunded" and "¥59.00" in text_of(note)


def test_after_sale_answers_and_escalation(emit, paid_order, buyer, merchant):
    from shoploop.orders import services as orders

    order = orders.ship_order(
        order=paid_order(), actor=merchant, carrier="sf", tracking_number="SF1234567890123"
    )
    after_sale = orders.request_after_sale(
        order=order, actor=buyer, kind="return_and_refund", reason="坏了", reason_code="damaged"
    )
    ids = {"after_sale_public_id": after_sale.public_id}
    _order_event(emit, "orders.after_sale.requested", order, **ids)
    assert [n.kind for n in got(merchant) if n.kind != "order_paid"] == ["after_sale_requested"]
    assert got(buyer) == []
    orders.reject_after_sale(after_sale=after_sale, actor=merchant, reason="不同意")
    _order_event(emit, "orders.after_sale.rejected", order, **ids)
    assert [n.kind for n in got(buyer)] == ["after_sale_rejected"]
    orders.escalate_after_sale(after_sale=after_sale, actor=buyer)
    _order_event(emit, "orders.after_sale.escalated", order, **ids)
    assert got(buyer, "after_sale_escalated") and got(merchant, "after_sale_escalated")
    _order_event(emit, "orders.after_sale.accepted", order, **ids)
    [note] = got(buyer, "after_sale_accepted")
    assert kinds.link(note.kind, note.params) == f"/after-sales/{after_sale.public_id}/"


# --- people and chat ---------------------------------------------------------------------------


def test_a_new_follower_is_told_to_the_followed(emit, make_user):
    fan, star = make_user(display_name="粉丝小张"), make_user()
    accounts.follow(follower=fan, followee=star)
    emit(
        "accounts.user.followed",
        follower_public_id=fan.public_id,
        followee_public_id=star.public_id,
    )
    [note] = got(star)
    assert note.kind == "new_follower" and "粉丝小张" in text_of(note)
    assert kinds.link(note.kind, note.params) == f"/u/{fan.public_id}/"
    assert got(fan) == []


def test_a_chat_message_reaches_only_those_away_and_once_per_conversation(emit, make_user):
    sender, away, here = make_user(display_name="店主"), make_user(), make_user()
    services.touch_activity(user=here)
    services.touch_activity(user=away, now=clock.now() - timedelta(hours=2))

    def message(number):
        emit(
            "chat.message.sent",
            conversation_public_id="conv12345678",
            message_public_id=f"msg{number}",
            sender_public_id=sender.public_id,
            recipient_public_ids=[away.public_id, here.public_id],
        )

    message(1)
    message(2)
    [note] = got(away)
    assert note.kind == "chat_message" and "店主" in text_of(note)
    assert got(here) == [] and got(sender) == []
    services.mark_read(user=away, public_id=note.public_id)
    message(3)
    assert len(got(away)) == 2


def test_an_event_for_rows_that_do_not_exist_makes_nothing(emit, make_user):
    emit("deals.group.completed", group_public_id="nosuchgroup1", campaign_public_id="x")
    emit("orders.order.shipped", order_public_id="nosuchorder1", buyer_public_id="x")
    emit("accounts.user.followed", follower_public_id="nobody", followee_public_id="nobody")
    assert Notification.objects.count() == 0


def test_nothing_about_someone_the_recipient_blocked(emit, open_group, buyer, make_user):
    pest = make_user(display_name="讨厌鬼")
    accounts.block(blocker=buyer, blocked=pest)
    group = open_group(buyer, pest)
    emit(
        "deals.group.joined",
        group_public_id=group.public_id,
        campaign_public_id=group.campaign.public_id,
        member_public_id=pest.public_id,
    )
    emit(
        "chat.message.sent",
        conversation_public_id="conv12345678",
        message_public_id="msg1",
        sender_public_id=pest.public_id,
        recipient_public_ids=[buyer.public_id],
    )
    emit(
        "accounts.user.followed",
        follower_public_id=pest.public_id,
        followee_public_id=buyer.public_id,
    )
    assert got(buyer) == []


def test_the_groups_service_itself_tells_every_paid_member_when_a_group_completes(
    open_group, buyer, make_user
):
    """No event emitted by the test: the payment that completes the group is enough."""
    members = [make_user(), make_user()]
    group = open_group(buyer, *members)
    assert group.state == "succeeded"
    for person in [buyer, *members]:
        assert "group_completed" in [n.kind for n in got(person)]
