"""Chats and deal completions count in the shop and the community they belong to (issue 13), and
events published before their payloads named them still count, in the platform only."""

from datetime import timedelta

import pytest

from shoploop.catalog import services as catalog
from shoploop.communities import services as communities
from shoploop.core import clock
from shoploop.insights import selectors, services
from shoploop.insights.selectors import Scope
from shoploop.insights.tests.conftest import WEEK_1, WEEK_2, pid

SHOP = Scope("shop", "S1", "小店")
COMMUNITY = Scope("community", "C1", "茶友会")
PLATFORM = Scope("platform", "all", "平台")
WEEKS = [WEEK_1.date().replace(day=1), WEEK_2.date().replace(day=8)]  # Mondays 06-01, 06-08


def week(scope):
    return selectors.weekly_loop(scope, weeks=WEEKS)[0]


def chat(emit, sender, at, **owner):
    emit(
        "chat.message.sent",
        at,
        conversation_public_id=pid("K"),
        message_public_id=pid("M"),
        sender_public_id=sender,
        recipient_public_ids=[],
        conversation_kind="shop" if "shop_public_id" in owner else "room",
        **owner,
    )


def test_shop_conversations_count_for_the_shop_and_rooms_for_the_community(emit):
    buyers = [pid("U") for _ in range(5)]
    for n, buyer in enumerate(buyers):
        chat(emit, buyer, WEEK_1 + timedelta(minutes=n), shop_public_id="S1")
        chat(emit, buyer, WEEK_1 + timedelta(minutes=n, seconds=1), shop_public_id="S1")
    members = [pid("U") for _ in range(6)]
    for n, member in enumerate(members):
        chat(emit, member, WEEK_1 + timedelta(hours=1, minutes=n), community_public_id="C1")

    services.roll_up(settle_seconds=0)

    shop, community, platform = week(SHOP), week(COMMUNITY), week(PLATFORM)
    assert (shop.counts["chats"], shop.people["conversation"]) == (10, 5)
    assert (community.counts["chats"], community.people["conversation"]) == (6, 6)
    assert (platform.counts["chats"], platform.people["conversation"]) == (16, 11)


def test_fewer_than_five_people_chatting_with_a_shop_are_hidden(emit):
    for n in range(4):
        chat(emit, pid("U"), WEEK_1 + timedelta(minutes=n), shop_public_id="S1")

    services.roll_up(settle_seconds=0)

    assert week(SHOP).counts["chats"] is None
    assert week(SHOP).people["conversation"] is None


def test_an_old_chat_event_without_its_shop_still_counts_for_the_platform(emit):
    senders = [pid("U") for _ in range(5)]
    for n, sender in enumerate(senders):
        chat(emit, sender, WEEK_1 + timedelta(minutes=n))  # the payload before issue 13

    result = services.roll_up(settle_seconds=0)

    assert result.events == 5
    assert week(PLATFORM).counts["chats"] == 5
    assert week(SHOP).counts["chats"] == 0 and week(COMMUNITY).counts["chats"] == 0


def _deals(emit, at, shop="S1", community="C1"):
    """One completion of each kind for the shop, the three one-buyer ones picked up in the
    community; five different people behind them."""
    owner = {"shop_public_id": shop} if shop else {}
    picked_up = {**owner, "community_public_id": community} if community else owner
    members = [pid("U"), pid("U")]
    emit(
        "deals.group.completed",
        at,
        group_public_id=pid("G"),
        campaign_public_id=pid("A"),
        member_public_ids=members,
        **owner,
    )
    emit(
        "bargains.bargain.paid",
        at,
        bargain_public_id=pid("B"),
        order_public_id=pid("O"),
        buyer_public_id=pid("U"),
        **picked_up,
    )
    emit(
        "crowdfunding.pledge.paid",
        at,
        pledge_public_id=pid("P"),
        project_public_id=pid("J"),
        order_public_id=pid("O"),
        backer_public_id=pid("U"),
        **picked_up,
    )
    emit(
        "flash.purchase.paid",
        at,
        purchase_public_id=pid("F"),
        sale_public_id=pid("L"),
        buyer_public_id=pid("U"),
        order_public_id=pid("O"),
        **picked_up,
    )


def test_each_kind_of_completed_deal_counts_for_its_shop_and_its_pickup_community(emit):
    _deals(emit, WEEK_1)
    _deals(emit, WEEK_1 + timedelta(hours=1))

    services.roll_up(settle_seconds=0)

    assert week(SHOP).counts["deal_completions"] == 8  # 10 people
    assert week(PLATFORM).counts["deal_completions"] == 8
    assert week(COMMUNITY).counts["deal_completions"] == 6  # 6 people: the pickup ones


def test_deal_completions_of_fewer_than_five_people_are_hidden(emit):
    _deals(emit, WEEK_1)  # the community: 3 people

    services.roll_up(settle_seconds=0)

    assert week(SHOP).counts["deal_completions"] == 4  # 5 people
    assert week(COMMUNITY).counts["deal_completions"] is None


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("deals.group.completed", {"group_public_id": "G1", "member_public_ids": ["U1"]}),
        ("bargains.bargain.paid", {"bargain_public_id": "B1"}),
        ("crowdfunding.pledge.paid", {"pledge_public_id": "P1", "backer_public_id": "U1"}),
        ("flash.purchase.paid", {"purchase_public_id": "F1", "buyer_public_id": "U1"}),
    ],
)
def test_an_old_deal_event_without_its_shop_still_counts_for_the_platform(emit, name, payload):
    emit(name, WEEK_1, **payload)

    result = services.roll_up(settle_seconds=0)

    assert result.events == 1
    counts = dict(
        selectors.raw_weeks("platform", WEEKS)[0][WEEKS[0]],
    )
    assert counts == {"deal_completions": 1}
    assert selectors.raw_weeks("shop:S1", WEEKS)[0] == {}


def test_the_loop_table_and_its_csv_name_deal_completions():
    from shoploop.insights.report import loop_rows

    header = loop_rows([])["header"]
    assert "chats" in header and "deal_completions" in header


def _dashboard(client, user, kind, public_id, suffix=""):
    client.force_login(user)
    with clock.frozen_at(WEEK_1 + timedelta(days=1)):
        return client.get(f"/insights/{kind}/{public_id}/{suffix}")


@pytest.mark.usefixtures("english")
def test_the_merchant_and_the_community_owner_see_their_chats_and_completed_deals(
    client, make_user, operator, emit
):
    merchant, owner = make_user(display_name="阿花"), make_user(display_name="老茶")
    shop = catalog.approve_shop(
        shop=catalog.apply_for_shop(user=merchant, name="阿花的小店", contact="微信 ahua"),
        actor=operator,
    )
    community = communities.create_community(actor=owner, name="茶友会", tags=["茶"])
    for n in range(6):
        chat(emit, pid("U"), WEEK_1 + timedelta(minutes=n), shop_public_id=shop.public_id)
    for n in range(7):
        chat(emit, pid("U"), WEEK_1 + timedelta(minutes=n), community_public_id=community.public_id)
    _deals(emit, WEEK_1, shop=shop.public_id, community=community.public_id)
    with clock.frozen_at(WEEK_1 + timedelta(days=1)):
        services.roll_up(settle_seconds=0)

    body = _dashboard(client, merchant, "shop", shop.public_id).content.decode()
    assert "Chat messages" in body and "Completed deals" in body
    csv = _dashboard(client, merchant, "shop", shop.public_id, "loop.csv").content.decode()
    header, *rows = csv.splitlines()
    this_week = dict(zip(header.split(","), rows[-1].split(","), strict=True))
    assert (this_week["chats"], this_week["deal_completions"]) == ("6", "4")

    body = _dashboard(client, owner, "community", community.public_id).content.decode()
    assert "Chat messages" in body and "Completed deals" in body
    csv = _dashboard(client, owner, "community", community.public_id, "loop.csv")
    header, *rows = csv.content.decode().splitlines()
    this_week = dict(zip(header.split(","), rows[-1].split(","), strict=True))
    assert this_week["chats"] == "7"
    assert this_week["deal_completions"] == ""  # 3 people: hidden
