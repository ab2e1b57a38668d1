"""Orders fixtures: two approved shops with products on sale, and a buyer."""

from datetime import timedelta

import pytest

from shoploop.catalog import services as catalog
from shoploop.core import clock
from shoploop.coupons import services as coupons
from shoploop.ledger.testing import report_payment
from shoploop.orders.testing import (  # noqa: F401  (tests import them from here)
    SHENZHEN_NANSHAN,
    address_id_for,
    as_buyer,
)
from shoploop.orders.tests.pickup_fixtures import (  # noqa: F401  (pickup fixtures)
    community,
    community_owner,
    leader,
    leadership,
    member_buyer,
    pickup_checkout,
    point,
    shipped_pickup_order,
)


@pytest.fixture
def merchant(make_user):
    return make_user(display_name="店主阿花")


@pytest.fixture
def other_merchant(make_user):
    return make_user(display_name="隔壁老张")


@pytest.fixture
def buyer(make_user):
    return make_user(display_name="买家小王")


def _shop(owner, operator, name, fee_rate_bps=500):
    shop = catalog.apply_for_shop(user=owner, name=name, contact="微信 shop123")
    shop = catalog.approve_shop(shop=shop, actor=operator)
    if fee_rate_bps != shop.fee_rate_bps:
        type(shop).objects.filter(pk=shop.pk).update(fee_rate_bps=fee_rate_bps)
        shop.refresh_from_db()
    return shop


@pytest.fixture
def shop(merchant, operator):
    return _shop(merchant, operator, "阿花的小店")


@pytest.fixture
def other_shop(other_merchant, operator):
    return _shop(other_merchant, operator, "老张杂货")


@pytest.fixture
def make_sku():
    def make(*, shop, price_fen=5900, stock=10, title="手冲咖啡豆", options=None):
        product = catalog.create_product(
            shop=shop, actor=shop.owner, title=title, description="", category="food"
        )
        sku = catalog.add_sku(
            product=product,
            actor=shop.owner,
            options=options if options is not None else {"重量": "250g"},
            price_fen=price_fen,
            stock=stock,
        )
        catalog.publish_product(product=product, actor=shop.owner)
        sku.refresh_from_db()
        return sku

    return make


@pytest.fixture
def sku(make_sku, shop):
    return make_sku(shop=shop)


@pytest.fixture
def other_sku(make_sku, other_shop):
    return make_sku(shop=other_shop, price_fen=1999, stock=5, title="手工皂", options={})


def record_capture(checkout, *, amount=None):
    """The provider reports the checkout's payment captured (signed callback already verified).
    Its success event is delivered only if the caller runs the on-commit callbacks: without
    them, the capture whose event was lost."""
    from shoploop.ledger.services import payments

    payment = payments.payment_by_public_id(public_id=checkout.payment_public_id)
    report_payment(payment, amount=amount)
    return payment


@pytest.fixture
def pay(django_capture_on_commit_callbacks):
    """``pay(checkout)`` → the sandbox provider reports success (signed callback already
    verified); the "ledger.payment.succeeded" event is delivered as after a real commit."""

    def run(checkout, *, amount=None):
        with django_capture_on_commit_callbacks(execute=True):
            payment = record_capture(checkout, amount=amount)
        # read after the delivered event: it may have refunded or cancelled
        payment.refresh_from_db()
        return payment

    return run


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs what waits for the commit (events, refund tasks) at the end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def place(buyer, ship_to):
    """``place(*(sku, qty))`` → a checkout of those items by ``buyer`` (or ``user=``)."""
    from shoploop.orders import services

    def run(*items, user=None, coupons=None):
        who = user or buyer
        for sku, quantity in items:
            services.add_to_cart(user=who, sku_public_id=sku.public_id, quantity=quantity)
        return services.checkout(buyer=who, coupons=coupons, address_public_id=ship_to(who))

    return run


@pytest.fixture
def address_fields():
    """Fields of a valid address (深圳 南山区), as a form or the API would send them."""
    return {
        "recipient_name": "王小明",
        "phone": "138 1234 5678",
        **SHENZHEN_NANSHAN,
        "street": "科技园南区 1 栋 101",
        "postcode": "518000",
    }


@pytest.fixture
def make_address(address_fields):
    from shoploop.orders import address_services

    def make(user, **overrides):
        return address_services.add_address(user=user, **{**address_fields, **overrides})

    return make


def claim_fixed_coupon(
    shop, user, *, amount_off_fen, min_spend_fen=0, name="立减券", total_quantity=5, days=1
):
    """A running fixed-amount coupon of ``shop``, claimed by ``user``: the claim."""
    now = clock.now()
    coupon = coupons.create_coupon(
        actor=shop.owner,
        shop=shop,
        name=name,
        kind="fixed",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=days),
        total_quantity=total_quantity,
        amount_off_fen=amount_off_fen,
        min_spend_fen=min_spend_fen,
    )
    return coupons.claim_coupon(coupon=coupon, user=user)
