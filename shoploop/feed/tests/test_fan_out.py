"""Fan-out on write: who gets which item with which reason; privacy; bounded timelines; big
sources."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.feed import services
from shoploop.feed.models import BigSource, Kind, Reason, TimelineEntry
from shoploop.feed.tests.conftest import ids, page

pytestmark = pytest.mark.django_db


def entries(user):
    return {(e.kind, e.item_id): e.reason for e in TimelineEntry.objects.filter(reader=user)}


def test_a_post_reaches_members_and_followers_with_the_closer_reason(
    community, member, owner, reader, outsider, post_as, follow
):
    follow(reader, member)  # not a member: reaches them as a follower
    follow(owner, member)  # a member who also follows: the follow reason wins
    post = post_as(member, community)
    assert entries(reader) == {(Kind.POST, post.pk): Reason.FOLLOWED_PERSON}
    assert entries(owner) == {(Kind.POST, post.pk): Reason.FOLLOWED_PERSON}
    assert entries(outsider) == {}
    assert entries(member) == {}  # never one's own post


def test_a_community_post_reaches_members_who_do_not_follow(community, member, owner, post_as):
    post = post_as(member, community)
    assert entries(owner) == {(Kind.POST, post.pk): Reason.COMMUNITY}
    (item,) = page(owner).items
    assert item.reason_text == "Posted in 茶友会"


def test_a_review_reaches_the_reviewers_followers(received_line, buyer, reader, follow, committed):
    from shoploop.content import services as content

    follow(reader, buyer)
    with committed():
        review = content.create_review(actor=buyer, order_line=received_line, stars=5, body="好")
    assert entries(reader) == {(Kind.REVIEW, review.pk): Reason.FOLLOWED_PERSON}
    (item,) = page(reader).items
    assert item.public_id == review.public_id
    assert "reviewed this" in item.reason_text


def test_a_shared_review_reaches_followers_once_as_the_post_in_its_community(
    received_line, buyer, reader, follow, committed, community, owner
):
    from shoploop.communities import services as communities
    from shoploop.content import services as content

    communities.join_community(actor=buyer, community=community)
    follow(reader, buyer)
    with committed():
        review = content.create_review(actor=buyer, order_line=received_line, stars=4, body="好")
        post = content.share_review(actor=buyer, review=review, community=community)
    shown = page(reader).items
    assert ids(page(reader)) == [(Kind.POST, post.public_id)]  # the review itself is folded in
    assert shown[0].reason_text.endswith("shared a review in 茶友会")
    assert ids(page(owner)) == [(Kind.POST, post.public_id)]


def test_new_products_reach_the_shops_followers(shop, merchant, reader, committed):
    from shoploop.catalog import services as catalog

    with committed():
        catalog.follow_shop(actor=reader, shop=shop)
        product = catalog.create_product(shop=shop, actor=merchant, title="新茶")
        catalog.add_sku(product=product, actor=merchant, options={}, price_fen=990, stock=5)
        catalog.publish_product(product=product, actor=merchant)
    assert entries(reader) == {(Kind.PRODUCT, product.pk): Reason.FOLLOWED_SHOP}
    (item,) = page(reader).items
    assert item.reason_text == f"New from {shop.name} (a shop you follow)"


def _buy(buyer, sku, place, pay, committed):
    with committed():
        pay(place((sku, 1), user=buyer))


def test_purchases_reach_followers_only_when_the_buyer_shares(
    buyer, reader, sku, place, pay, follow, committed
):
    follow(reader, buyer)
    _buy(buyer, sku, place, pay, committed)
    assert entries(reader) == {}  # sharing is off by default
    buyer.share_activity_with_followers = True
    buyer.save(update_fields=["share_activity_with_followers"])
    _buy(buyer, sku, place, pay, committed)
    assert entries(reader) == {(Kind.PRODUCT, sku.product.pk): Reason.FRIEND_BOUGHT}
    (item,) = page(reader).items
    assert item.reason_text == f"{buyer} bought this"
    # Turned off again: the past purchase disappears at read time too.
    buyer.share_activity_with_followers = False
    buyer.save(update_fields=["share_activity_with_followers"])
    assert page(reader).items == []
    assert page(reader, order="latest").items == []


def test_a_purchase_is_said_with_the_buyers_community(
    buyer, reader, sku, place, pay, follow, committed, community, merchant, shop
):
    from shoploop.catalog import services as catalog
    from shoploop.communities import services as communities

    communities.join_community(actor=buyer, community=community)
    communities.join_community(actor=merchant, community=community)
    catalog.list_shop_in_community(shop=shop, community=community, actor=merchant)
    sku.product.communities.add(community)
    buyer.share_activity_with_followers = True
    buyer.save()
    follow(reader, buyer)
    _buy(buyer, sku, place, pay, committed)
    (item,) = page(reader).items
    assert item.reason_text == f"{buyer} in 茶友会 bought this"


@pytest.fixture
def group_world(merchant, sku):
    from shoploop.deals.groups import services as groups

    now = clock.now()
    return groups.create_campaign(
        actor=merchant,
        sku=sku,
        group_price_fen=3900,
        group_size=5,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=7),
        stock=5,
    )


def test_deals_friends_opened_and_joined_aggregate_in_the_reason(
    group_world, buyer, make_user, reader, follow, committed, pay
):
    from shoploop.deals.groups import services as groups
    from shoploop.orders.tests.conftest import address_id_for

    friends = [buyer, make_user(display_name="王芳"), make_user(display_name="李雷")]
    for friend in friends:
        friend.share_activity_with_followers = True
        friend.save()
        follow(reader, friend)
    with committed():
        seat = groups.open_group(campaign=group_world, user=buyer, address_id=address_id_for(buyer))
    pay(seat.order.checkout)
    (item,) = page(reader).items
    assert item.kind == Kind.GROUP and item.reason_text == f"{buyer} opened this group"
    for friend in friends[1:]:
        with committed():
            groups.join_group(group=seat.group, user=friend, address_id=address_id_for(friend))
    (item,) = page(reader).items  # one card for the group, not three
    assert item.reason_text == "3 people you follow joined this group"
    assert item.count == 3


def test_a_friends_deal_is_absent_when_they_do_not_share(
    group_world, buyer, reader, follow, committed
):
    from shoploop.deals.groups import services as groups
    from shoploop.orders.tests.conftest import address_id_for

    follow(reader, buyer)
    with committed():
        groups.open_group(campaign=group_world, user=buyer, address_id=address_id_for(buyer))
    assert entries(reader) == {} and page(reader).items == []


def test_timelines_are_bounded(settings, community, member, make_user, monkeypatch):
    from shoploop.content.models import Post

    settings.FEED_TIMELINE_SIZE = 5
    monkeypatch.setattr(services, "TRIM_SLACK", 2)
    reader = make_user()
    base = clock.now() - timedelta(hours=1)
    for n in range(12):
        post = Post.objects.create(
            community=community, author=member, body=f"#{n}", created_at=base + timedelta(minutes=n)
        )
        services.write(
            services.Item(Kind.POST, post.pk, post.created_at, actor_id=member.pk),
            {reader.pk: Reason.COMMUNITY},
        )
        assert TimelineEntry.objects.filter(reader=reader).count() <= 5 + 2
    services.trim(reader.pk)
    kept = TimelineEntry.objects.filter(reader=reader).order_by("-created_at")
    assert [e.created_at for e in kept] == [base + timedelta(minutes=n) for n in range(11, 6, -1)]


def test_a_repeated_event_changes_nothing(community, member, owner, post_as):
    from shoploop.core.events import DomainEvent
    from shoploop.feed.handlers import post_created

    post = post_as(member, community)
    post_created(DomainEvent("content.post.created", {"post_public_id": post.public_id}))
    assert TimelineEntry.objects.filter(reader=owner).count() == 1


def test_big_sources_are_not_fanned_out_but_merged_on_read(
    settings, community, member, owner, make_user, post_as, join, follow
):
    settings.FEED_BIG_SOURCE_THRESHOLD = 3
    readers = [make_user() for _ in range(3)]
    for reader in readers:
        join(reader, community)  # 5 members now: more than 3
    post = post_as(member, community)
    assert BigSource.objects.filter(source_kind="community", source_id=community.pk).exists()
    assert not TimelineEntry.objects.filter(kind=Kind.POST, item_id=post.pk).exists()
    for reader in [owner, *readers]:
        (item,) = page(reader).items
        assert item.public_id == post.public_id and item.reason_text == "Posted in 茶友会"
        assert ids(page(reader, order="latest")) == [(Kind.POST, post.public_id)]


def test_a_big_person_is_merged_on_read_for_followers(
    settings, community, member, make_user, post_as, follow
):
    settings.FEED_BIG_SOURCE_THRESHOLD = 2
    fans = [make_user() for _ in range(3)]
    for fan in fans:
        follow(fan, member)
    post = post_as(member, community)
    assert BigSource.objects.filter(source_kind="person", source_id=member.pk).exists()
    for fan in fans:
        (item,) = page(fan).items
        assert item.public_id == post.public_id
        assert "whom you follow" in item.reason_text


def test_a_friends_crowdfunding_pledge_reaches_followers_who_see_it_with_its_reason(
    merchant, shop, buyer, reader, follow, committed
):
    from shoploop.core.events import DomainEvent
    from shoploop.deals.crowdfunding import services as crowdfunding
    from shoploop.deals.crowdfunding.tests.conftest import tier_spec
    from shoploop.feed.handlers import friend_deal

    project = crowdfunding.create_project(
        actor=merchant,
        title="会发光的茶壶",
        story="一把会发光的茶壶。",
        target_kind="fen",
        target_value=20000,
        deadline=clock.now() + timedelta(days=3),
        tiers=[tier_spec()],
    )
    follow(reader, buyer)
    paid = DomainEvent(
        "crowdfunding.pledge.paid",
        {"project_public_id": project.public_id, "backer_public_id": buyer.public_id},
        occurred_at=clock.now(),
    )
    friend_deal(paid)
    assert entries(reader) == {}  # the backer does not share their activity
    buyer.share_activity_with_followers = True
    buyer.save()
    friend_deal(paid)
    (item,) = page(reader).items
    assert item.kind == Kind.PROJECT and item.public_id == project.public_id
    assert item.reason_text == f"{buyer} backed this project"


def test_a_friends_bargain_reaches_followers(merchant, sku, buyer, reader, follow, committed):
    from shoploop.deals.bargains import services as bargains

    buyer.share_activity_with_followers = True
    buyer.save()
    follow(reader, buyer)
    campaign = bargains.create_campaign(
        actor=merchant,
        sku_public_id=sku.public_id,
        start_price_fen=5900,
        floor_price_fen=100,
        helpers_needed=3,
        stock=3,
        ends_at=clock.now() + timedelta(days=2),
    )
    with committed():
        bargain = bargains.start_bargain(campaign=campaign, user=buyer)
    (item,) = page(reader).items
    assert item.kind == Kind.BARGAIN and item.public_id == bargain.public_id
    assert item.reason_text == f"{buyer} is bargaining for this: help cut the price"


def test_every_deal_event_has_one_feed_subscriber_under_its_old_key():
    """The deal events share one handler through a table; the outbox keys stay what they were
    (handled rows name them)."""
    from shoploop.core.events import subscribers_of
    from shoploop.feed.handlers import DEAL_EVENTS, friend_deal

    keys = {
        "deals.group.opened": "feed.group_opened",
        "deals.group.joined": "feed.group_joined",
        "bargains.bargain.started": "feed.bargain_started",
        "crowdfunding.pledge.paid": "feed.pledge_paid",
    }
    assert set(DEAL_EVENTS) == set(keys)
    for name, key in keys.items():
        feed = [s for s in subscribers_of(name) if s.key.startswith("feed.")]
        assert [(s.key, s.handler) for s in feed] == [(key, friend_deal)]


def _one_by_one(reader, order):
    """Every item of the reader's feed, read one per page by cursor."""
    seen, cursor = [], None
    while True:
        result = page(reader, order=order, cursor=cursor, limit=1)
        seen.extend(ids(result))
        cursor = result.next_cursor
        if cursor is None:
            return seen
        assert len(seen) < 50


def _share(user, on=True):
    """The privacy choice, through the service the profile page uses."""
    from shoploop.accounts import services as accounts

    accounts.update_profile(actor=user, share_activity_with_followers=on)


def test_a_big_persons_deals_and_purchases_are_merged_on_read_while_they_share(
    settings,
    buyer,
    make_user,
    sku,
    place,
    pay,
    follow,
    committed,
    group_world,
    merchant,
    make_project,
    back_and_pay,
):
    """Followers of a person above the threshold get what the person's fan-out would have
    written: groups opened, bargains, projects backed and purchases, with the same reasons,
    read from the deal and order tables, and only while the person shares."""
    from shoploop.deals.bargains import services as bargains
    from shoploop.deals.groups import services as groups
    from shoploop.orders.tests.conftest import address_id_for

    settings.FEED_BIG_SOURCE_THRESHOLD = 2
    fans = [make_user(display_name=f"粉丝{n}") for n in range(3)]
    for fan in fans:
        follow(fan, buyer)
    _buy(buyer, sku, place, pay, committed)  # not sharing yet: nothing, and not marked big
    assert not BigSource.objects.exists()
    assert all(page(fan).items == [] for fan in fans)
    _share(buyer)
    _buy(buyer, sku, place, pay, committed)  # the fan-out finds 3 followers: a big source
    assert BigSource.objects.filter(source_kind="person", source_id=buyer.pk).exists()
    with committed():
        seat = groups.open_group(campaign=group_world, user=buyer, address_id=address_id_for(buyer))
    pay(seat.order.checkout)  # the group opens to others once its leader paid
    campaign = bargains.create_campaign(
        actor=merchant,
        sku_public_id=sku.public_id,
        start_price_fen=5900,
        floor_price_fen=100,
        helpers_needed=3,
        stock=3,
        ends_at=clock.now() + timedelta(days=2),
    )
    with committed():
        bargain = bargains.start_bargain(campaign=campaign, user=buyer)
    project = make_project()
    back_and_pay(project.tiers.first(), buyer)
    assert not TimelineEntry.objects.exists()  # nothing was fanned out: all merged on read
    expected = {
        (Kind.PRODUCT, sku.product.public_id): f"{buyer} bought this",
        (Kind.GROUP, seat.group.public_id): f"{buyer} opened this group",
        (Kind.BARGAIN, bargain.public_id): f"{buyer} is bargaining for this: help cut the price",
        (Kind.PROJECT, project.public_id): f"{buyer} backed this project",
    }
    for fan in fans:
        for order in ("ranked", "latest"):
            shown = page(fan, order=order).items
            assert {(i.kind, i.public_id): i.reason_text for i in shown} == expected
            # Page by page (the merged queries continue after the cursor): each once.
            seen = _one_by_one(fan, order)
            assert len(seen) == len(set(seen)) and set(seen) == set(expected)
    # A second big friend joins the group: still one card, the reason aggregated.
    friend = make_user(display_name="王芳")
    for fan in fans:
        follow(fan, friend)
    _share(friend)
    with committed():
        groups.join_group(group=seat.group, user=friend, address_id=address_id_for(friend))
    assert BigSource.objects.filter(source_kind="person", source_id=friend.pk).exists()
    (card,) = [i for i in page(fans[0]).items if i.kind == Kind.GROUP]
    assert card.reason_text == "2 people you follow joined this group"
    # Turned off: the big person's deals and purchases leave their followers' pages.
    _share(buyer, on=False)
    _share(friend, on=False)
    assert page(fans[0]).items == [] and page(fans[0], order="latest").items == []


def test_a_big_persons_purchase_is_said_with_their_community(
    settings, buyer, make_user, sku, place, pay, follow, committed, community, merchant, shop
):
    from shoploop.catalog import services as catalog
    from shoploop.communities import services as communities

    settings.FEED_BIG_SOURCE_THRESHOLD = 1
    communities.join_community(actor=buyer, community=community)
    communities.join_community(actor=merchant, community=community)
    catalog.list_shop_in_community(shop=shop, community=community, actor=merchant)
    sku.product.communities.add(community)
    fans = [make_user(), make_user()]
    for fan in fans:
        follow(fan, buyer)
    _share(buyer)
    _buy(buyer, sku, place, pay, committed)
    (item,) = page(fans[0]).items
    assert item.reason == Reason.FRIEND_BOUGHT
    assert item.reason_text == f"{buyer} in 茶友会 bought this"


def test_a_friends_item_already_stored_is_not_merged_again(
    settings, buyer, make_user, sku, place, pay, follow, committed
):
    """One friend small (fanned out), one big (merged): the product shows once, at the stored
    moment, in every order and across pages."""
    friend = make_user(display_name="王芳")
    reader = make_user(display_name="读者")
    follow(reader, friend)
    _share(friend)
    _buy(friend, sku, place, pay, committed)  # small: written to the reader's timeline
    assert entries(reader) == {(Kind.PRODUCT, sku.product.pk): Reason.FRIEND_BOUGHT}
    settings.FEED_BIG_SOURCE_THRESHOLD = 1
    follow(reader, buyer)
    follow(make_user(), buyer)
    _share(buyer)
    _buy(buyer, sku, place, pay, committed)  # big: merged on read
    for order in ("ranked", "latest"):
        assert _one_by_one(reader, order) == [(Kind.PRODUCT, sku.product.public_id)]


REVIEW_OF = "Review of a product from {} (a shop you follow)"


def _review(buyer, line, committed, stars=5):
    from shoploop.content import services as content

    with committed():
        return content.create_review(actor=buyer, order_line=line, stars=stars, body="好喝")


def test_reviews_of_a_shops_products_reach_its_followers(
    received_line, buyer, shop, reader, make_user, follow, committed, operator
):
    from shoploop.catalog import services as catalog
    from shoploop.content import services as content

    both = make_user(display_name="两边都关注")
    for fan in (reader, both):
        catalog.follow_shop(actor=fan, shop=shop)
    follow(both, buyer)
    review = _review(buyer, received_line, committed)
    assert entries(reader) == {(Kind.REVIEW, review.pk): Reason.FOLLOWED_SHOP}
    assert entries(both) == {(Kind.REVIEW, review.pk): Reason.FOLLOWED_PERSON}  # the closer one
    (item,) = page(reader).items
    assert item.public_id == review.public_id
    assert item.reason_text == REVIEW_OF.format(shop.name)
    assert "reviewed this" in page(both).items[0].reason_text
    # Hidden by an operator: gone at read time, whatever was fanned out.
    content.hide_review(actor=operator, review=review, reason="广告")
    assert page(reader).items == [] and page(reader, order="latest").items == []


def test_a_big_shops_reviews_are_merged_on_read(
    settings, received_line, buyer, shop, make_user, committed, operator
):
    from shoploop.catalog import services as catalog
    from shoploop.content import services as content

    settings.FEED_BIG_SOURCE_THRESHOLD = 1
    fans = [make_user(), make_user()]
    for fan in fans:
        catalog.follow_shop(actor=fan, shop=shop)
    review = _review(buyer, received_line, committed)
    assert BigSource.objects.filter(source_kind="shop", source_id=shop.pk).exists()
    assert not TimelineEntry.objects.filter(kind=Kind.REVIEW).exists()
    for fan in fans:
        for order in ("ranked", "latest"):
            # The shop's product (merged too) and the review of it.
            shown = {(i.kind, i.public_id): i for i in page(fan, order=order).items}
            assert set(shown) == {
                (Kind.PRODUCT, received_line.sku.product.public_id),
                (Kind.REVIEW, review.public_id),
            }
            item = shown[(Kind.REVIEW, review.public_id)]
            assert item.reason == Reason.FOLLOWED_SHOP
            assert item.reason_text == REVIEW_OF.format(shop.name)
    content.hide_review(actor=operator, review=review, reason="广告")
    for order in ("ranked", "latest"):
        assert [i.kind for i in page(fans[0], order=order).items] == [Kind.PRODUCT]
