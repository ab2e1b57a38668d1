"""How events are split into batches changes no figure, and PostgreSQL's column-array rows
(``batch._columns`` / ``batch._unnest``) arrive as written."""

from datetime import date, datetime, timedelta

import pytest
from django.db import connection

from shoploop.insights import batch as batch_module
from shoploop.insights import models, services
from shoploop.insights.tests.conftest import WEEK_1, WEEK_2, pid

SNAPSHOT = {
    models.Tally: ("grain", "start", "scope", "metric", "value"),
    models.WeeklyPerson: ("scope", "week", "key", "person"),
    models.WeeklyDistinct: ("scope", "week", "key", "value"),
    models.FirstPurchase: ("scope", "person", "week", "order"),
    models.Member: ("community", "person"),
    models.KnownProduct: ("public_id", "shop", "category"),
    models.KnownLink: ("code", "sharer", "community", "shop", "product"),
    models.LinkVisit: ("visitor", "product", "link", "at"),
}


def snapshot() -> dict:
    return {
        model.__name__: sorted(model.objects.values_list(*fields))
        for model, fields in SNAPSHOT.items()
    }


@pytest.fixture
def mixed_events(emit, paid):
    """Two weeks of a small loop: products, joins and a leave, links, visits, purchases
    (some through a link, some repeat), attributions and counted page views."""
    buyers = [pid("U") for _ in range(7)]
    for week_start in (WEEK_1, WEEK_2):
        for n, buyer in enumerate(buyers):
            at = week_start + timedelta(hours=n)
            emit(
                "catalog.product.published",
                at,
                product_public_id=f"P{n % 3}",
                shop_public_id="S1",
                category="tea",
            )
            emit(
                "communities.community.member_joined",
                at,
                community_public_id=f"C{n % 2}",
                user_public_id=buyer,
            )
            link = pid("L")
            emit(
                "referrals.link.created",
                at + timedelta(minutes=1),
                link_public_id=link,
                sharer_public_id=buyers[n - 1],
                kind="product",
                target_public_id=f"P{n % 3}",
                community_public_id=f"C{n % 2}",
            )
            emit(
                "referrals.link.visited",
                at + timedelta(minutes=2),
                link_public_id=link,
                visitor_public_id=buyer,
            )
            order = paid(buyer, "S1", at + timedelta(minutes=3), product=f"P{n % 3}")
            emit(
                "referrals.purchase.attributed",
                at + timedelta(minutes=4),
                order_public_id=order,
                link_public_id=link,
                buyer_public_id=buyer,
            )
            emit(
                "insights.views.counted",
                at + timedelta(minutes=5),
                views=[
                    {
                        "kind": "product",
                        "shop_public_id": "S1",
                        "count": 3,
                        "viewer_public_ids": buyers[: n + 1],
                    }
                ],
            )
        emit(
            "communities.community.member_left",
            week_start + timedelta(days=1),
            community_public_id="C0",
            user_public_id=buyers[0],
        )


def test_one_batch_and_one_event_per_batch_give_the_same_rows(mixed_events):
    whole = services.roll_up(settle_seconds=0, batch_size=10_000)
    in_one = snapshot()
    services.rebuild()

    piecemeal = services.roll_up(settle_seconds=0, batch_size=1)

    assert (whole.batches, piecemeal.batches) == (1, whole.events)
    assert in_one["Tally"] and in_one["WeeklyDistinct"] and in_one["LinkVisit"]
    assert snapshot() == in_one


def test_batches_split_mid_week_give_the_same_rows(mixed_events):
    services.roll_up(settle_seconds=0, batch_size=10_000)
    in_one = snapshot()
    services.rebuild()

    services.roll_up(settle_seconds=0, batch_size=7)

    assert snapshot() == in_one


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the column arrays are PostgreSQL's")
@pytest.mark.django_db
def test_column_texts_come_back_as_the_rows_written():
    rows = [
        ("", date(2026, 6, 1), datetime(2026, 6, 1, 4, tzinfo=WEEK_1.tzinfo), 7),
        ("shop:S1", date(2026, 6, 8), datetime(2026, 6, 8, 5, tzinfo=WEEK_1.tzinfo), -2),
        ("", date(2026, 6, 1), datetime(2026, 6, 1, 4, tzinfo=WEEK_1.tzinfo), 0),
    ]
    source = batch_module._unnest(("text", "date", "timestamptz", "bigint"))
    with connection.cursor() as cursor:
        for written in (rows, rows[:1]):  # one empty text is one row, not none
            cursor.execute(f"SELECT * FROM {source}", batch_module._columns(written, 4))
            assert cursor.fetchall() == written


def test_a_value_holding_the_separator_is_refused():
    with pytest.raises(ValueError):
        batch_module._columns([("a" + batch_module.SEPARATOR + "b",)], 1)
