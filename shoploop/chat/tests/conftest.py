"""Chat fixtures: a buyer, an approved shop with a product, a community with a moderator."""

import io

import pytest
from PIL import Image

from shoploop.accounts import services as accounts
from shoploop.catalog import services as catalog
from shoploop.communities import services as communities
from shoploop.core import clock


@pytest.fixture(autouse=True)
def _english(english):
    yield


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def seasoned(make_user):
    """``seasoned(name)``: a user whose account is older than a day (no new-account limit)."""

    def make(name: str = ""):
        from datetime import timedelta

        return make_user(display_name=name, date_joined=clock.now() - timedelta(days=30))

    return make


@pytest.fixture
def buyer(seasoned):
    return seasoned("买家小王")


@pytest.fixture
def merchant(seasoned):
    return seasoned("店主阿花")


@pytest.fixture
def shop(merchant, operator):
    shop = catalog.apply_for_shop(user=merchant, name="阿花的小店", contact="微信 shop123")
    return catalog.approve_shop(shop=shop, actor=operator)


@pytest.fixture
def product(shop, merchant):
    product = catalog.create_product(
        shop=shop, actor=merchant, title="手冲咖啡豆", description="新鲜烘焙", category="food"
    )
    catalog.add_sku(
        product=product,
        actor=merchant,
        options={"重量": "250g"},
        price_fen=5900,
        list_price_fen=6900,
        stock=10,
    )
    return catalog.publish_product(product=product, actor=merchant)


@pytest.fixture
def owner(seasoned):
    return seasoned("群主")


@pytest.fixture
def community(owner):
    return communities.create_community(actor=owner, name="咖啡爱好者", tags=["咖啡"])


@pytest.fixture
def member(seasoned, community):
    person = seasoned("群友甲")
    communities.join_community(actor=person, community=community)
    return person


@pytest.fixture
def another_member(seasoned, community):
    person = seasoned("群友乙")
    communities.join_community(actor=person, community=community)
    return person


@pytest.fixture
def friends(seasoned):
    """Two people who follow each other."""
    a, b = seasoned("阿甲"), seasoned("阿乙")
    accounts.follow(follower=a, followee=b)
    accounts.follow(follower=b, followee=a)
    return a, b


def image_file(fmt="PNG", size=(1600, 900), name="photo.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")
