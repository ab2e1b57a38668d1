"""The rollup: events after the cursor become counts and distinct people, once."""

from datetime import timedelta

import pytest
from django.db.models import Sum

from shoploop.core import clock
from shoploop.insights import selectors, services
from shoploop.insights.models import Cursor, Tally, WeeklyDistinct
from shoploop.insights.selectors import Scope
from shoploop.insights.tests.conftest import WEEK_1, WEEK_2, pid

SHOP = Scope("shop", "S1", "小店")
COMMUNITY = Scope("community", "C1", "茶友会")
WEEKS = [WEEK_1.date().replace(day=1), WEEK_2.date().replace(day=8)]  # Mondays 06-01, 06-08


def roll():
    return services.roll_up(settle_seconds=0)


def week(scope, index=0):
    return selectors.weekly_loop(scope, weeks=WEEKS)[index]


def test_paid_orders_count_in_the_shop_once_even_when_rolled_up_again(paid):
    buyers = [pid("U") for _ in range(6)]
    for n, buyer in enumerate(buyers):
        paid(buyer, "S1", WEEK_1 + timedelta(minutes=n))
    paid(buyers[0], "S1", WEEK_1 + timedelta(hours=1))  # a second order, same person

    first = roll()
    again = roll()

    assert (first.events, again.events) == (7, 0)
    figures = week(SHOP)
    assert figures.counts["orders"] == 7
    assert figures.counts["gmv_fen"] == 7 * 3_000
    assert figures.people["purchase"] == 6
    assert Cursor.objects.get().last_event_id == first.cursor
    assert Tally.objects.filter(grain="h", scope="shop:S1", metric="orders").count() == 2


def test_the_cursor_moves_with_the_facts_in_batches(paid):
    for n in range(5):
        paid(pid("U"), "S1", WEEK_1 + timedelta(minutes=n))

    result = services.roll_up(settle_seconds=0, batch_size=2)

    assert (result.events, result.batches) == (5, 3)
    assert week(SHOP).people["purchase"] == 5


def test_an_event_younger_than_the_settle_delay_waits_and_stops_the_batch(paid):
    with clock.frozen_at(WEEK_1 + timedelta(seconds=10)):
        paid(pid("U"), "S1", WEEK_1)
        paid(pid("U"), "S1", WEEK_1 + timedelta(seconds=5))  # 5 s old: not yet settled
        paid(pid("U"), "S1", WEEK_1 - timedelta(seconds=60))  # later id, old: waits too
        result = services.roll_up(settle_seconds=8)
    assert result.events == 1


def test_fewer_than_five_people_are_hidden(paid):
    for _ in range(4):
        paid(pid("U"), "S1", WEEK_1)
    roll()

    figures = week(SHOP)

    assert figures.people["purchase"] is None
    assert figures.counts["orders"] is None
    assert figures.counts["gmv_fen"] is None


def test_a_purchase_counts_in_the_buyers_communities_until_they_leave(emit, paid):
    buyers = [pid("U") for _ in range(5)]
    for buyer in buyers:
        emit(
            "communities.community.member_joined",
            WEEK_1,
            community_public_id="C1",
            user_public_id=buyer,
            via="join",
        )
        paid(buyer, "S1", WEEK_1 + timedelta(hours=1), category="books", fen=12_000)
    emit(
        "communities.community.member_left",
        WEEK_2,
        community_public_id="C1",
        user_public_id=buyers[0],
        reason="left",
    )
    for buyer in buyers:
        paid(buyer, "S1", WEEK_2 + timedelta(hours=1))
    roll()

    assert week(COMMUNITY).people["reach"] == 5
    assert week(COMMUNITY).people["purchase"] == 5
    assert week(COMMUNITY, 1).people["purchase"] is None  # 4 people: hidden
    assert (
        WeeklyDistinct.objects.get(scope="community:C1", week=WEEKS[1], key="purchase").value == 4
    )
    segments = selectors.segments(COMMUNITY, weeks=WEEKS)
    assert segments["categories"][0] == {"name": "books", "units": 5, "buyers_at_least": 5}
    assert segments["price_bands"][0]["name"] == "100-300"


def test_repeat_buyers_and_cohorts(paid):
    buyers = [pid("U") for _ in range(6)]
    for buyer in buyers:
        paid(buyer, "S1", WEEK_1)
    for buyer in buyers[:5]:
        paid(buyer, "S1", WEEK_2)
    roll()

    assert week(SHOP).people["new_buyers"] == 6
    assert week(SHOP, 1).people["repeat_buyers"] == 5
    assert week(SHOP, 1).people["new_buyers"] == 0
    (cohort,) = selectors.cohorts(SHOP, weeks=WEEKS)
    assert cohort["cohort"] == WEEKS[0]
    assert cohort["buyers"] == 6
    assert cohort["active"] == [6, 5]


def test_shares_visits_and_the_new_buyers_they_bring(emit, paid):
    emit(
        "catalog.product.published",
        WEEK_1,
        product_public_id="P1",
        shop_public_id="S1",
        category="food",
    )
    buyers = []
    for _ in range(5):
        sharer, friend, code = pid("U"), pid("U"), pid("L")
        buyers.append(friend)
        emit(
            "referrals.link.created",
            WEEK_1,
            link_public_id=code,
            sharer_public_id=sharer,
            kind="product",
            target_public_id="P1",
            community_public_id="C1",
        )
        emit(
            "referrals.link.visited",
            WEEK_1 + timedelta(hours=1),
            link_public_id=code,
            sharer_public_id=sharer,
            visitor_public_id=friend,
            kind="product",
            target_public_id="P1",
        )
        order = paid(friend, "S1", WEEK_1 + timedelta(hours=2))
        emit(
            "referrals.purchase.attributed",
            WEEK_1 + timedelta(hours=2),
            order_public_id=order,
            link_public_id=code,
            sharer_public_id=sharer,
            buyer_public_id=friend,
            total_fen=3_000,
        )
    for _ in range(5):  # buyers nobody brought
        paid(pid("U"), "S1", WEEK_1 + timedelta(hours=3))
    paid(buyers[0], "S1", WEEK_1 + timedelta(days=2))  # outside the window: not brought
    roll()

    shop, community = week(SHOP), week(COMMUNITY)
    assert shop.counts["shares"] == 5 and community.counts["shares"] == 5
    assert shop.counts["visits"] == 5
    assert shop.counts["link_purchases"] == 5
    assert shop.people["brought_new_buyers"] == 5
    assert shop.people["purchase"] == 10
    assert shop.viral == 0.5
    assert community.people["sharing"] == 5
    platform = Tally.objects.filter(grain="d", scope="platform", metric="link_purchases")
    assert platform.aggregate(n=Sum("value"))["n"] == 5


def test_views_counted_in_batches_reach_the_shop(emit):
    viewers = [pid("U") for _ in range(5)]
    emit(
        "insights.views.counted",
        WEEK_1,
        views=[
            {
                "kind": "product",
                "target_public_id": "P1",
                "shop_public_id": "S1",
                "community_public_id": "",
                "count": 40,
                "viewer_public_ids": viewers,
            },
        ],
    )
    roll()

    assert week(SHOP).counts["views"] == 40
    assert week(SHOP).people["reach"] == 5


@pytest.mark.parametrize("unknown", ["ledger.payment.succeeded", "orders.order.shipped"])
def test_events_nobody_ingests_are_skipped(emit, unknown):
    emit(unknown, WEEK_1, order_public_id="O1")
    assert roll().events == 0


def test_page_views_are_published_as_one_counted_event_per_flush(
    client, settings, make_user, operator
):
    from shoploop.catalog import services as catalog
    from shoploop.core.events import recorded_events
    from shoploop.insights import pageviews

    settings.INSIGHTS_COUNT_VIEWS = True
    settings.INSIGHTS_VIEWS_FLUSH_AT = 3
    owner = make_user()
    shop = catalog.approve_shop(
        shop=catalog.apply_for_shop(user=owner, name="小店", contact="微信 x"), actor=operator
    )
    product = catalog.create_product(
        shop=shop, actor=owner, title="茶", description="好茶", category="food"
    )
    pageviews.flush()
    viewer = make_user()
    with recorded_events() as events:
        for n in range(3):
            pageviews.record_view(
                kind="product",
                target_public_id=product.public_id,
                shop_public_id=shop.public_id,
                viewer=viewer if n else None,
            )
    (event,) = [e for e in events if e.name == "insights.views.counted"]
    (entry,) = event.payload["views"]
    assert entry["count"] == 3
    assert entry["viewer_public_ids"] == [viewer.public_id]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_count_every_event_once(paid):
    import threading

    from django.db import connection

    for n in range(300):
        paid(f"U{n % 40:04d}", "S1", WEEK_1 + timedelta(seconds=n))
    barrier, done = threading.Barrier(2), []

    def worker():
        try:
            barrier.wait()
            done.append(services.roll_up(settle_seconds=0, batch_size=25).events)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(done) == 300
    assert week(SHOP).counts["orders"] == 300
    assert week(SHOP).people["purchase"] == 40
    assert WeeklyDistinct.objects.get(scope="shop:S1", week=WEEKS[0], key="purchase").value == 40


def test_the_command_and_the_task_roll_up_and_prune_old_person_facts(paid, settings):
    import io

    from django.core.management import call_command

    from shoploop.insights.models import WeeklyPerson
    from shoploop.insights.tasks import roll_up_task

    for _ in range(5):
        paid(pid("U"), "S1", WEEK_1)
    out = io.StringIO()
    with clock.frozen_at(WEEK_1 + timedelta(days=1)):
        call_command("insights_rollup", stdout=out)
    assert out.getvalue().startswith("insights: 5 events in 1 batches")
    assert WeeklyPerson.objects.exists()

    settings.INSIGHTS_PERSON_WEEKS = 2
    with clock.frozen_at(WEEK_1 + timedelta(weeks=3)):
        result = roll_up_task()
    assert result["events"] == 0 and result["people"] > 0
    assert not WeeklyPerson.objects.exists()
    assert week(SHOP).people["purchase"] == 5  # the weekly counts stay


def test_rebuild_reads_the_outbox_again_and_counts_the_same(paid):
    for _ in range(6):
        paid(pid("U"), "S1", WEEK_1)
    roll()
    services.rebuild()
    assert Cursor.objects.get().last_event_id == 0
    assert roll().events == 6
    assert week(SHOP).counts["orders"] == 6


def test_a_product_page_view_is_counted(client, settings, make_user, operator):
    from django.urls import reverse

    from shoploop.catalog import services as catalog
    from shoploop.insights import pageviews

    settings.INSIGHTS_COUNT_VIEWS = True
    owner = make_user()
    shop = catalog.approve_shop(
        shop=catalog.apply_for_shop(user=owner, name="小店", contact="微信 x"), actor=operator
    )
    product = catalog.create_product(
        shop=shop, actor=owner, title="茶", description="好茶", category="food"
    )
    pageviews.flush()
    client.force_login(owner)  # the owner sees their unpublished product
    response = client.get(reverse("catalog:product", args=[product.public_id]))
    assert response.status_code == 200
    (entry,) = pageviews._pending.values()
    assert entry[0] == 1 and entry[1] == {owner.public_id}
    pageviews.flush()


def test_ideas_and_wants_count_as_conversation_and_show_which_communities_want_what(emit):
    """A want is counted for the shop and for every community of the person who wants it;
    fewer than five people wanting at a band is hidden."""
    wanters = [pid("U") for _ in range(5)]
    for wanter in wanters:
        emit(
            "ideas.want.added",
            WEEK_1,
            want_public_id=pid("W"),
            wanted_product_public_id="WP1",
            shop_public_id="S1",
            user_public_id=wanter,
            price_band="50_100",
            community_public_id=None,
            community_public_ids=["C1", "C2"],
        )
    for voter in wanters[:4]:
        emit(
            "ideas.idea.voted",
            WEEK_1,
            idea_public_id="I1",
            shop_public_id="S1",
            community_public_id="C1",
            author_public_id=wanters[0],
            voter_public_id=voter,
        )
    emit(
        "ideas.want.added",
        WEEK_1,
        want_public_id=pid("W"),
        wanted_product_public_id="WP1",
        shop_public_id="S1",
        user_public_id=wanters[0],
        price_band="500_up",
        community_public_id=None,
        community_public_ids=["C1"],
    )
    assert roll().events == 10

    for scope in (COMMUNITY, SHOP, Scope("community", "C2", "花友会")):
        wants = selectors.segments(scope, weeks=WEEKS)["wants"]
        assert wants == [{"name": "50_100", "units": 5, "buyers_at_least": 5}]  # 500_up: 1 person
    assert week(COMMUNITY).people["conversation"] == 5
    assert (
        Tally.objects.filter(scope="community:C1", metric="idea_votes").aggregate(
            total=Sum("value")
        )["total"]
        == 8
    )  # hourly and daily tallies of the four votes
