"""Crowdfunding fixtures: ``make_project(shop=…, target_fen=…, tiers=[…])`` and backing helpers."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.deals.crowdfunding import services
from shoploop.orders.tests.conftest import address_id_for


def tier_spec(*, price_fen=9900, units=1, limit=None, title="早鸟档", days=40):
    return services.TierSpec(
        title=title,
        price_fen=price_fen,
        units=units,
        limit=limit,
        estimated_delivery=(clock.now() + timedelta(days=days)).date(),
    )


@pytest.fixture
def make_project(shop):
    def make(*, owner_shop=None, target_kind="fen", target_value=20000, days=7, tiers=None):
        owner = (owner_shop or shop).owner
        return services.create_project(
            actor=owner,
            title="会发光的手冲壶",
            story="我们想做一把会发光的壶。<script>alert(1)</script>",
            target_kind=target_kind,
            target_value=target_value,
            deadline=clock.now() + timedelta(days=days),
            tiers=tiers
            or [tier_spec(), tier_spec(price_fen=19900, units=2, limit=2, title="双壶档")],
        )

    return make


@pytest.fixture
def project(make_project):
    return make_project()


@pytest.fixture
def backers(make_user):
    return [make_user(display_name=f"支持者{i}") for i in range(6)]


@pytest.fixture
def back_and_pay(pay):
    """``back_and_pay(tier, user)`` → the pledge, paid in the sandbox (event delivered)."""

    def run(tier, user):
        pledge = services.back(tier=tier, user=user, address_id=address_id_for(user))
        pay(pledge.order.checkout)
        pledge.refresh_from_db()
        return pledge

    return run
