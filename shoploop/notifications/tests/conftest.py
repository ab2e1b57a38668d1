"""Notification fixtures: real rows made by the owning apps' services."""

from datetime import timedelta

import pytest
from django.core.cache import cache

from shoploop.core import clock
from shoploop.orders.testing import address_id_for


@pytest.fixture(autouse=True)
def _fresh_activity_cache():
    """The activity gate lives in the cache; each test starts with nobody seen."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def group_campaign(merchant, sku):
    from shoploop.deals.groups import services

    now = clock.now()
    return services.create_campaign(
        actor=merchant,
        sku=sku,
        group_price_fen=3900,
        group_size=3,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=7),
        stock=10,
    )


@pytest.fixture
def open_group(group_campaign, pay):
    """``open_group(leader, *members, paid=True)`` → the group with those seats (paid)."""
    from shoploop.deals.groups import services

    def run(leader, *members, paid=True):
        seat = services.open_group(
            campaign=group_campaign, user=leader, address_id=address_id_for(leader)
        )
        if paid:
            pay(seat.order.checkout)
        group = seat.group
        for member in members:
            joined = services.join_group(
                group=group, user=member, address_id=address_id_for(member)
            )
            if paid:
                pay(joined.order.checkout)
        group.refresh_from_db()
        return group

    return run


@pytest.fixture
def bargain_campaign(shop, make_sku):
    from shoploop.deals.bargains import services

    sku = make_sku(shop=shop, price_fen=5900, stock=10, title="紫砂壶")
    return services.create_campaign(
        actor=shop.owner,
        sku_public_id=sku.public_id,
        start_price_fen=5000,
        floor_price_fen=1000,
        helpers_needed=2,
        stock=5,
        ends_at=clock.now() + timedelta(days=7),
    )


@pytest.fixture
def project(shop):
    from shoploop.deals.crowdfunding import services

    return services.create_project(
        actor=shop.owner,
        title="会发光的手冲壶",
        story="一把会发光的壶。",
        target_kind="fen",
        target_value=20000,
        deadline=clock.now() + timedelta(days=7),
        tiers=[
            services.TierSpec(
                title="早鸟档",
                price_fen=9900,
                units=1,
                limit=None,
                estimated_delivery=(clock.now() + timedelta(days=40)).date(),
            )
        ],
    )


@pytest.fixture
def paid_order(place, sku, pay, buyer):
    """An order of ``sku`` by ``buyer``, paid."""

    def run(user=None):
        checkout = place((sku, 1), user=user or buyer)
        pay(checkout)
        order = checkout.orders.get()
        order.refresh_from_db()
        return order

    return run


@pytest.fixture
def sms_sent(settings):
    """Notification SMS go to a recording provider; the list of what was sent."""
    from shoploop.notifications import testing

    settings.SMS_PROVIDER = "shoploop.notifications.testing.RecordingSMSProvider"
    testing.sent.clear()
    yield testing.sent
    testing.sent.clear()


@pytest.fixture
def chinese_catalogue():
    """The zh-hans catalogue with this app's pending translations in it (as after the lead's
    import into the .po), removed again afterwards."""
    from django.utils.translation import trans_real

    from shoploop.notifications.testing import pending_chinese

    catalog = trans_real.translation("zh-hans")._catalog
    added = []
    for msgid, msgstr in pending_chinese().items():
        if msgid not in catalog:
            catalog._catalogs[0][msgid] = msgstr
            added.append(msgid)
    yield
    for msgid in added:
        catalog._catalogs[0].pop(msgid, None)
