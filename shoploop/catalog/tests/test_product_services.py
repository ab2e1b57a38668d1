import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shoploop.catalog import services
from shoploop.catalog.models import MAX_PRODUCT_IMAGES, SKU, Product, ProductImage
from shoploop.catalog.tests.conftest import image_bytes
from shoploop.core.errors import Conflict, PermissionDenied, ValidationFailed
from shoploop.core.events import recorded_events
from shoploop.core.money import MAX_PRICE_FEN

pytestmark = pytest.mark.django_db


def test_create_product_renders_and_sanitises_markdown(shop, merchant):
    source = (
        "# 标题\n\n**好喝** <script>alert(1)</script> [链接](javascript:alert(2))\n\n"
        "<img src=x onerror=alert(3)>"
    )
    product = services.create_product(
        shop=shop, actor=merchant, title="<b>豆子</b>", description=source
    )
    product.refresh_from_db()
    assert product.title == "<b>豆子</b>"  # stored as given, escaped on output
    assert product.description == source
    html = product.description_html
    assert "<strong>好喝</strong>" in html
    for forbidden in ("<script", "javascript:", "onerror", "<img"):
        assert forbidden not in html
    assert product.is_published is False


def test_pending_shop_cannot_create_products(user):
    shop = services.apply_for_shop(user=user, name="店", contact="x")
    with pytest.raises(Conflict) as error:
        services.create_product(shop=shop, actor=user, title="豆")
    assert error.value.code == "shop_not_approved"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "t" * 61}, "title"),
        ({"title": "ok", "description": "长" * (10 * 1024 * 1024)}, "description"),
        ({"title": "ok", "category": "weapons"}, "category"),
        ({"title": "ok", "tags": [f"t{i}" for i in range(9)]}, "tags"),
        ({"title": "ok", "tags": ["x" * 31]}, "tags"),
    ],
)
def test_bad_product_input_changes_nothing(shop, merchant, kwargs, field):
    with pytest.raises(ValidationFailed) as error:
        services.create_product(shop=shop, actor=merchant, **kwargs)
    assert field in error.value.fields
    assert not Product.objects.exists()


def test_sixty_character_title_is_fine_and_tags_are_shared(shop, merchant):
    product = services.create_product(
        shop=shop, actor=merchant, title="t" * 60, tags="咖啡, #Hiking, 咖啡"
    )
    assert sorted(tag.name for tag in product.tags.all()) == ["hiking", "咖啡"]


def test_other_merchant_cannot_edit_and_nothing_changes(product, other_merchant, operator, sku):
    for actor in (other_merchant, operator):
        with pytest.raises(PermissionDenied):
            services.update_product(product=product, actor=actor, title="改了")
        with pytest.raises(PermissionDenied):
            services.publish_product(product=product, actor=actor)
        with pytest.raises(PermissionDenied):
            services.add_sku(product=product, actor=actor, options={"a": "b"}, price_fen=1)
        with pytest.raises(PermissionDenied):
            services.update_sku(sku=sku, actor=actor, price_fen=1)
        with pytest.raises(PermissionDenied):
            services.adjust_stock(sku=sku, delta=-10, actor=actor)
    product.refresh_from_db()
    sku.refresh_from_db()
    assert product.title == "手冲咖啡豆" and not product.is_published
    assert (sku.price_fen, sku.stock, product.skus.count()) == (5900, 10, 1)


def test_publishing_needs_an_active_sku(product, merchant):
    with pytest.raises(ValidationFailed) as error:
        services.publish_product(product=product, actor=merchant)
    assert error.value.code == "no_sku"
    sku = services.add_sku(product=product, actor=merchant, options={}, price_fen=100)
    services.update_sku(sku=sku, actor=merchant, is_active=False)
    with pytest.raises(ValidationFailed):
        services.publish_product(product=product, actor=merchant)
    product.refresh_from_db()
    assert not product.is_published


def test_publish_and_unpublish_once_each(product, sku, merchant, operator):
    with recorded_events() as events:
        services.publish_product(product=product, actor=merchant)
    assert product.is_published and product.published_at is not None
    assert [e.name for e in events] == ["catalog.product.published"]
    with pytest.raises(Conflict):
        services.publish_product(product=product, actor=merchant)
    services.unpublish_product(product=product, actor=operator)  # moderation
    assert not product.is_published
    with pytest.raises(Conflict):
        services.unpublish_product(product=product, actor=merchant)


def test_product_communities_must_be_listed_by_the_shop(product, merchant, shop, community):
    with pytest.raises(ValidationFailed) as error:
        services.update_product(product=product, actor=merchant, communities=[community])
    assert error.value.code == "community_not_listed"
    services.list_shop_in_community(shop=shop, community=community, actor=merchant)
    services.update_product(product=product, actor=merchant, communities=[community])
    assert list(product.communities.all()) == [community]


# --- SKUs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "list_price", "field"),
    [
        (0, None, "price_fen"),
        (-100, None, "price_fen"),
        (MAX_PRICE_FEN + 1, None, "price_fen"),
        (12.5, None, "price_fen"),
        (1200.0, None, "price_fen"),
        ("1200", None, "price_fen"),
        (True, None, "price_fen"),
        (1000, 999, "list_price_fen"),
        (1000, -1, "list_price_fen"),
        (1000, 10.0, "list_price_fen"),
    ],
)
def test_bad_prices_are_refused(product, merchant, price, list_price, field):
    with pytest.raises(ValidationFailed) as error:
        services.add_sku(
            product=product, actor=merchant, options={}, price_fen=price, list_price_fen=list_price
        )
    assert field in error.value.fields
    assert not SKU.objects.exists()


@pytest.mark.parametrize("stock", [-1, 1_000_001, 1.5, "3"])
def test_bad_initial_stock_is_refused(product, merchant, stock):
    with pytest.raises(ValidationFailed):
        services.add_sku(product=product, actor=merchant, options={}, price_fen=100, stock=stock)
    assert not SKU.objects.exists()


@pytest.mark.parametrize(
    "options",
    [
        ["红"],
        {"颜色": 1},
        {"颜色": ""},
        {"": "红"},
        {"颜色": "红" * 21},
        {f"k{i}": "v" for i in range(6)},
    ],
)
def test_bad_options_are_refused(product, merchant, options):
    with pytest.raises(ValidationFailed):
        services.add_sku(product=product, actor=merchant, options=options, price_fen=100)
    assert not SKU.objects.exists()


def test_options_are_unique_per_product_whatever_their_order(product, merchant, shop):
    services.add_sku(
        product=product, actor=merchant, options={"颜色": "红", "尺码": "L"}, price_fen=1
    )
    with pytest.raises(Conflict) as error:
        services.add_sku(
            product=product, actor=merchant, options={"尺码": "L", "颜色": "红"}, price_fen=2
        )
    assert error.value.code == "sku_exists"
    assert product.skus.count() == 1
    other = services.create_product(shop=shop, actor=merchant, title="另一个")
    services.add_sku(
        product=other, actor=merchant, options={"颜色": "红", "尺码": "L"}, price_fen=1
    )


def test_update_sku_prices_and_clear_list_price(sku, merchant):
    services.update_sku(sku=sku, actor=merchant, price_fen=4900)
    assert (sku.price_fen, sku.list_price_fen) == (4900, 6900)
    with pytest.raises(ValidationFailed):
        services.update_sku(sku=sku, actor=merchant, price_fen=7000)  # above the list price
    services.update_sku(sku=sku, actor=merchant, list_price_fen=None)
    assert sku.list_price_fen is None
    sku.refresh_from_db()
    assert (sku.price_fen, sku.list_price_fen) == (4900, None)


# --- stock ------------------------------------------------------------------------------------


def test_adjust_stock_up_and_down_but_never_below_zero(sku, merchant):
    with recorded_events() as events:
        services.adjust_stock(sku=sku, delta=5, actor=merchant)
    assert sku.stock == 15
    assert events[0].name == "catalog.sku.stock_adjusted" and events[0].payload["stock"] == 15
    services.adjust_stock(sku=sku, delta=-15, actor=merchant)
    assert sku.stock == 0
    with pytest.raises(ValidationFailed) as error:
        services.adjust_stock(sku=sku, delta=-1, actor=merchant)
    assert error.value.code == "stock_below_zero"
    sku.refresh_from_db()
    assert sku.stock == 0


@pytest.mark.parametrize("delta", [0, 1.0, "5", 10**12, -(10**12), True])
def test_absurd_stock_adjustments_are_refused(sku, merchant, delta):
    with pytest.raises(ValidationFailed):
        services.adjust_stock(sku=sku, delta=delta, actor=merchant)
    sku.refresh_from_db()
    assert sku.stock == 10


def test_stock_has_a_ceiling(sku, merchant):
    with pytest.raises(ValidationFailed) as error:
        services.adjust_stock(sku=sku, delta=1_000_000, actor=merchant)
    assert error.value.code == "stock_too_large"


def test_reserve_and_release_stock(sku):
    services.reserve_stock(sku_id=sku.pk, quantity=4)
    sku.refresh_from_db()
    assert sku.stock == 6
    with pytest.raises(Conflict) as error:
        services.reserve_stock(sku_id=sku.pk, quantity=7)
    assert error.value.code == "out_of_stock"
    services.release_stock(sku_id=sku.pk, quantity=4)
    sku.refresh_from_db()
    assert sku.stock == 10
    for quantity in (0, -1, 1.0):
        with pytest.raises(ValidationFailed):
            services.reserve_stock(sku_id=sku.pk, quantity=quantity)
    with pytest.raises(Conflict):
        services.reserve_stock(sku_id=10**9, quantity=1)


# --- images -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_images_are_resized_and_reencoded(product, merchant, png_upload, fmt):
    image = services.add_product_image(
        product=product, actor=merchant, upload=png_upload(fmt=fmt, size=(2400, 1600))
    )
    assert (image.width, image.height) == (1200, 800)
    with Image.open(image.image.path) as stored:
        assert stored.size == (1200, 800)
        assert stored.format in ("JPEG", "PNG")


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("evil.png", b"<?php system($_GET['c']); ?>", content_type="image/png"),
        SimpleUploadedFile("doc.pdf", b"%PDF-1.4 hello", content_type="application/pdf"),
        SimpleUploadedFile("empty.jpg", b"", content_type="image/jpeg"),
        SimpleUploadedFile("a.gif", image_bytes("GIF", (10, 10)), content_type="image/gif"),
        SimpleUploadedFile(
            "big.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024), content_type="image/png"
        ),
    ],
    ids=["php", "pdf", "empty", "gif", "too-big"],
)
def test_non_images_and_oversized_files_are_refused(product, merchant, upload):
    with pytest.raises(ValidationFailed):
        services.add_product_image(product=product, actor=merchant, upload=upload)
    assert not ProductImage.objects.exists()


def test_at_most_nine_images_and_removal(product, merchant, other_merchant, png_upload):
    images = [
        services.add_product_image(
            product=product, actor=merchant, upload=png_upload(size=(20, 20))
        )
        for _ in range(MAX_PRODUCT_IMAGES)
    ]
    assert [image.position for image in images] == list(range(9))
    with pytest.raises(ValidationFailed) as error:
        services.add_product_image(
            product=product, actor=merchant, upload=png_upload(size=(20, 20))
        )
    assert error.value.code == "too_many_images"
    with pytest.raises(PermissionDenied):
        services.remove_product_image(image=images[0], actor=other_merchant)
    with pytest.raises(PermissionDenied):
        services.add_product_image(product=product, actor=other_merchant, upload=png_upload())
    services.remove_product_image(image=images[0], actor=merchant)
    assert product.images.count() == 8


def test_make_cover_image_moves_only_that_image(product, merchant, other_merchant, png_upload):
    first, second, third = (
        services.add_product_image(product=product, actor=merchant, upload=png_upload(size=(9, 9)))
        for _ in range(3)
    )
    with pytest.raises(PermissionDenied):
        services.make_cover_image(image=third, actor=other_merchant)
    assert [i.pk for i in product.images.order_by("position")] == [first.pk, second.pk, third.pk]
    services.make_cover_image(image=third, actor=merchant)
    assert [i.pk for i in product.images.order_by("position")] == [third.pk, first.pk, second.pk]
    assert third.position == 0
