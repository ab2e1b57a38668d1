"""Catalog fixtures: a merchant with an approved shop, a product on sale, communities."""

import io

import pytest
from PIL import Image

from shoploop.catalog import services
from shoploop.communities import services as community_services


@pytest.fixture
def merchant(make_user):
    return make_user(display_name="店主阿花")


@pytest.fixture
def other_merchant(make_user):
    return make_user(display_name="隔壁老张")


def _approved_shop(owner, operator, name):
    shop = services.apply_for_shop(user=owner, name=name, contact="微信 shop123")
    return services.approve_shop(shop=shop, actor=operator)


@pytest.fixture
def shop(merchant, operator):
    return _approved_shop(merchant, operator, "阿花的小店")


@pytest.fixture
def other_shop(other_merchant, operator):
    return _approved_shop(other_merchant, operator, "老张杂货")


@pytest.fixture
def product(shop, merchant):
    return services.create_product(
        shop=shop, actor=merchant, title="手冲咖啡豆", description="**新鲜**烘焙", category="food"
    )


@pytest.fixture
def sku(product, merchant):
    return services.add_sku(
        product=product,
        actor=merchant,
        options={"重量": "250g"},
        price_fen=5900,
        list_price_fen=6900,
        stock=10,
    )


@pytest.fixture
def on_sale(product, sku, merchant):
    return services.publish_product(product=product, actor=merchant)


@pytest.fixture
def make_community(make_user):
    def make(*, owner=None, name="咖啡爱好者", tags=("咖啡",)):
        owner = owner or make_user()
        return community_services.create_community(actor=owner, name=name, tags=list(tags))

    return make


@pytest.fixture
def community(make_community, merchant):
    """A community the merchant belongs to (as its owner)."""
    return make_community(owner=merchant)


def image_bytes(fmt="PNG", size=(1600, 900), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def png_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    def make(name="photo.png", fmt="PNG", size=(1600, 900)):
        content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}[fmt]
        return SimpleUploadedFile(name, image_bytes(fmt, size), content_type=content_type)

    return make
