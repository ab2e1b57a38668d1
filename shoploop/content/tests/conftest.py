"""Content fixtures: a public community with members, a received order to review."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from shoploop.catalog.tests.conftest import image_bytes
from shoploop.communities import services as communities
from shoploop.core import clock
from shoploop.orders import services as orders
from shoploop.orders.models import Order
from shoploop.orders.tests import conftest as orders_fixtures

# The orders app's fixtures: a merchant's approved shop with a product on sale, a buyer who pays.
buyer = orders_fixtures.buyer
merchant = orders_fixtures.merchant
shop = orders_fixtures.shop
make_sku = orders_fixtures.make_sku
sku = orders_fixtures.sku
pay = orders_fixtures.pay
place = orders_fixtures.place


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def old_user(make_user):
    """``old_user(name)``: an account older than the new-account limits."""
    joined = clock.now() - timedelta(days=30)
    return lambda name="": make_user(display_name=name, date_joined=joined)


@pytest.fixture
def owner(old_user):
    return old_user("群主")


@pytest.fixture
def member(old_user):
    return old_user("成员小红")


@pytest.fixture
def outsider(old_user):
    return old_user("路人")


def _community(owner, visibility="public"):
    return communities.create_community(
        actor=owner, name="茶友会", description="喝茶", tags=["茶"], visibility=visibility
    )


@pytest.fixture
def community(owner, member):
    c = _community(owner)
    communities.join_community(actor=member, community=c)
    return c


@pytest.fixture
def private_community(owner, member):
    """Approval required: members only."""
    c = _community(owner, "approval")
    communities.request_to_join(actor=member, community=c)
    communities.approve_request(actor=owner, community=c, user=member)
    return c


def photo(fmt="PNG", size=(2400, 1200), name=None):
    kind = {"PNG": "image/png", "JPEG": "image/jpeg"}[fmt]
    return SimpleUploadedFile(name or f"p.{fmt.lower()}", image_bytes(fmt, size), kind)


@pytest.fixture
def received_line(buyer, sku, place, pay):
    """A line of the buyer's received order."""
    checkout = place((sku, 1))
    pay(checkout)
    order = Order.objects.get(checkout=checkout)
    orders.ship_order(
        order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    orders.confirm_receipt(order=order, actor=buyer)
    return order.lines.get()
