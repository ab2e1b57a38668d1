"""Coupon fixtures: merchants with approved shops, a coupon factory, a buyer's claim."""

from datetime import timedelta

import pytest

from shoploop.catalog import services as catalog_services
from shoploop.core import clock
from shoploop.coupons import services


@pytest.fixture(autouse=True)
def _english(english):
    """This app's tests read English messages (the root conftest's ``english``)."""


def _approved_shop(owner, operator, name):
    shop = catalog_services.apply_for_shop(user=owner, name=name, contact="微信 shop123")
    return catalog_services.approve_shop(shop=shop, actor=operator)


@pytest.fixture
def merchant(make_user):
    return make_user(display_name="店主阿花")


@pytest.fixture
def other_merchant(make_user):
    return make_user(display_name="隔壁老张")


@pytest.fixture
def shop(merchant, operator):
    return _approved_shop(merchant, operator, "阿花的小店")


@pytest.fixture
def other_shop(other_merchant, operator):
    return _approved_shop(other_merchant, operator, "老张杂货")


@pytest.fixture
def coupon_fields():
    """Valid arguments for a fixed ¥10-off coupon (min spend ¥50), running for a week."""

    def fields(**overrides):
        now = clock.now()
        values = {
            "name": "满50减10",
            "kind": "fixed",
            "amount_off_fen": 1000,
            "min_spend_fen": 5000,
            "starts_at": now - timedelta(hours=1),
            "ends_at": now + timedelta(days=7),
            "total_quantity": 100,
            "per_user_limit": 1,
        }
        values.update(overrides)
        return values

    return fields


@pytest.fixture
def make_coupon(shop, merchant, coupon_fields):
    def make(*, on_shop=None, actor=None, **overrides):
        return services.create_coupon(
            actor=actor or merchant, shop=on_shop or shop, **coupon_fields(**overrides)
        )

    return make


@pytest.fixture
def coupon(make_coupon):
    return make_coupon()


@pytest.fixture
def claim(coupon, user):
    return services.claim_coupon(coupon=coupon, user=user)
