import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.urls import reverse

from shoploop.catalog import selectors, services
from shoploop.catalog.models import SKU, Product, Shop
from shoploop.catalog.tests.conftest import image_bytes
from shoploop.communities import services as community_services

pytestmark = pytest.mark.django_db


def test_product_page_shows_price_stock_shop_and_communities(
    client, on_sale, sku, shop, merchant, community
):
    services.list_shop_in_community(shop=shop, community=community, actor=merchant)
    services.update_product(product=on_sale, actor=merchant, communities=[community])
    page = client.get(
        reverse("catalog:product", args=[on_sale.public_id]), HTTP_ACCEPT_LANGUAGE="en"
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "¥59.00" in html and '<del class="price-list">¥69.00</del>' in html
    assert "In stock" in html
    assert shop.name in html and community.name in html


def test_stock_states_and_sku_picker_without_javascript(client, on_sale, sku, merchant):
    second = services.add_sku(
        product=on_sale, actor=merchant, options={"重量": "1kg"}, price_fen=19900, stock=2
    )
    url = reverse("catalog:product", args=[on_sale.public_id])
    page = client.get(url, {"sku": second.public_id}, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert "¥199.00" in html and "Only 2 left" in html
    assert f'value="{second.public_id}" checked' in html
    services.adjust_stock(sku=second, delta=-2, actor=merchant)
    partial = client.get(
        url, {"sku": second.public_id}, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Sold out" in partial.content.decode()
    assert "<html" not in partial.content.decode()  # htmx gets only the panel


def test_script_in_title_and_markdown_never_reaches_the_page(client, shop, merchant):
    product = services.create_product(
        shop=shop,
        actor=merchant,
        title="<script>alert('t')</script>",
        description="hi <script>alert('d')</script> <a href=\"javascript:x()\">x</a>",
    )
    services.add_sku(product=product, actor=merchant, options={}, price_fen=100, stock=1)
    services.publish_product(product=product, actor=merchant)
    html = client.get(reverse("catalog:product", args=[product.public_id])).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in html
    assert "javascript:x()" not in html


def test_unpublished_product_is_404_except_for_its_owner(
    client, product, merchant, other_merchant, operator
):
    url = reverse("catalog:product", args=[product.public_id])
    assert client.get(url).status_code == 404
    for someone in (other_merchant, operator):
        client.force_login(someone)
        assert client.get(url).status_code == 404
    client.force_login(merchant)
    assert client.get(url).status_code == 200
    assert client.get(reverse("catalog:product", args=["unknown1234"])).status_code == 404


def test_shop_page_lists_products_and_hides_pending_shops(client, on_sale, shop, user):
    page = client.get(reverse("catalog:shop", args=[shop.public_id]))
    assert page.status_code == 200 and on_sale.title in page.content.decode()
    pending = services.apply_for_shop(user=user, name="待审核", contact="x")
    assert client.get(reverse("catalog:shop", args=[pending.public_id])).status_code == 404


def test_search_finds_products_and_communities(client, on_sale, make_community):
    make_community(name="咖啡同好会", tags=("手冲",))
    page = client.get(reverse("catalog:search"), {"q": "咖啡"})
    html = page.content.decode()
    assert page.status_code == 200
    assert on_sale.title in html and "咖啡同好会" in html
    empty = client.get(reverse("catalog:search"), {"q": "<script>x</script>"})
    assert empty.status_code == 200 and "<script>x</script>" not in empty.content.decode()


def test_search_by_tag(client, on_sale, merchant):
    services.update_product(product=on_sale, actor=merchant, tags=["咖啡"])
    assert list(selectors.search_products(tag="#咖啡")) == [on_sale]
    assert list(selectors.search_products(query="咖")) == [on_sale]
    assert list(selectors.search_products(tag="茶")) == []
    page = client.get(reverse("catalog:search"), {"tag": "咖啡"})
    assert on_sale.title in page.content.decode()


def test_apply_for_a_shop_page(client, user):
    url = reverse("catalog:shop_apply")
    assert client.get(url).status_code == 302  # sign in first
    client.force_login(user)
    assert client.get(url).status_code == 200
    bad = client.post(url, {"name": "", "contact": "x"})
    assert bad.status_code == 200 and not Shop.objects.exists()
    response = client.post(url, {"name": "我的店", "contact": "wx", "description": ""})
    assert response.status_code == 302
    assert Shop.objects.get(owner=user).status == Shop.Status.PENDING
    console = client.get(reverse("catalog:console"))
    assert console.status_code == 200


def test_console_authorization_matrix(
    client, product, sku, merchant, other_merchant, other_shop, user, operator
):
    """Anonymous → sign in; buyer without a shop → 404; other merchant → 403; owner → 200."""
    edit = reverse("catalog:console_product", args=[product.public_id])
    stock = reverse("catalog:console_stock", args=[sku.public_id])
    assert client.get(edit).status_code == 302
    assert client.post(stock, {"delta": "-5"}).status_code == 302
    for someone, status in ((user, 403), (other_merchant, 403), (operator, 403), (merchant, 200)):
        client.force_login(someone)
        assert client.get(edit).status_code == status, someone
    for someone in (user, other_merchant, operator):
        client.force_login(someone)
        assert client.post(stock, {"delta": "-5"}).status_code == 403
        assert client.post(edit, {"title": "改", "category": "food"}).status_code == 403
    sku.refresh_from_db()
    product.refresh_from_db()
    assert sku.stock == 10 and product.title == "手冲咖啡豆"
    client.force_login(merchant)
    assert client.get(reverse("catalog:console_product", args=["unknown1234"])).status_code == 404
    assert (
        client.post(
            reverse("catalog:console_stock", args=["unknown1234"]), {"delta": "1"}
        ).status_code
        == 404
    )


def test_console_product_journey(client, shop, merchant, png_upload):
    client.force_login(merchant)
    assert client.get(reverse("catalog:console")).status_code == 200
    created = client.post(
        reverse("catalog:console_product_new"),
        {"title": "手作陶杯", "description": "*手工*", "category": "handmade", "tags": "陶艺"},
    )
    assert created.status_code == 302
    product = Product.objects.get(title="手作陶杯")
    edit = reverse("catalog:console_product", args=[product.public_id])
    publish = reverse("catalog:console_product_publish", args=[product.public_id])
    page = client.post(publish, follow=True)
    assert "SKU" in page.content.decode() and not Product.objects.get(pk=product.pk).is_published
    add_sku = reverse("catalog:console_sku_add", args=[product.public_id])
    bad = client.post(add_sku, {"new-options": "颜色=白", "new-price": "-5", "new-stock": "3"})
    assert bad.status_code == 302 and not SKU.objects.exists()
    client.post(
        add_sku,
        {"new-options": "颜色=白", "new-price": "12.5", "new-list_price": "10", "new-stock": "3"},
    )
    assert not SKU.objects.exists()  # list price below price
    client.post(
        add_sku, {"new-options": "颜色=白, 尺寸=大", "new-price": "¥1,299.50", "new-stock": "3"}
    )
    sku = SKU.objects.get()
    assert sku.price_fen == 129950 and sku.options == {"颜色": "白", "尺寸": "大"}
    client.post(reverse("catalog:console_stock", args=[sku.public_id]), {"delta": "-4"})
    sku.refresh_from_db()
    assert sku.stock == 3
    client.post(reverse("catalog:console_stock", args=[sku.public_id]), {"delta": "7"})
    sku.refresh_from_db()
    assert sku.stock == 10
    client.post(
        reverse("catalog:console_sku_edit", args=[sku.public_id]),
        {
            f"{sku.public_id}-options": "颜色=黑",
            f"{sku.public_id}-price": "99",
            f"{sku.public_id}-is_active": "on",
        },
    )
    sku.refresh_from_db()
    assert (sku.options, sku.price_fen, sku.is_active) == ({"颜色": "黑"}, 9900, True)
    image_url = reverse("catalog:console_image_add", args=[product.public_id])
    client.post(image_url, {"image": png_upload()})
    client.post(image_url, {"image": SimpleUploadedFile("x.png", b"nope")})
    assert product.images.count() == 1
    client.post(publish)
    assert Product.objects.get(pk=product.pk).is_published
    public = client.get(reverse("catalog:product", args=[product.public_id])).content.decode()
    assert product.images.get().image.url in public and "<em>手工</em>" in public
    page = client.get(edit)
    assert page.status_code == 200 and "¥99.00" in page.content.decode()
    image = product.images.get()
    client.post(reverse("catalog:console_image_remove", args=[image.public_id]))
    assert product.images.count() == 0
    client.post(reverse("catalog:console_product_unpublish", args=[product.public_id]))
    assert not Product.objects.get(pk=product.pk).is_published


def test_console_shop_settings(client, shop, merchant, community):
    client.force_login(merchant)
    url = reverse("catalog:console_shop")
    assert client.get(url).status_code == 200
    client.post(url, {"part": "details", "name": "新店名", "contact": "wx", "description": "hi"})
    client.post(url, {"part": "communities", "communities": [community.public_id]})
    client.post(url, {"part": "logo", "logo": SimpleUploadedFile("l.jpg", image_bytes("JPEG"))})
    shop.refresh_from_db()
    assert shop.name == "新店名" and shop.logo
    assert list(shop.communities.all()) == [community]


def test_community_products_tag_and_products_for_user(on_sale, shop, merchant, community, user):
    services.list_shop_in_community(shop=shop, community=community, actor=merchant)
    services.update_product(product=on_sale, actor=merchant, communities=[community])
    assert selectors.products_in_community(community=community) == [on_sale]
    html = Template("{% load catalog_tags %}{% community_products community %}").render(
        Context({"community": community})
    )
    assert on_sale.title in html and "¥59.00" in html
    assert selectors.products_for_user(user=user, limit=10) == []
    community_services.join_community(actor=user, community=community)
    assert selectors.products_for_user(user=user, limit=10) == [on_sale]
    services.unpublish_product(product=on_sale, actor=merchant)
    assert selectors.products_for_user(user=user, limit=10) == []
    assert selectors.products_in_community(community=community) == []


def test_products_of_unapproved_shops_are_not_on_sale(on_sale, shop):
    Shop.objects.filter(pk=shop.pk).update(status=Shop.Status.REJECTED)
    assert list(selectors.on_sale_products()) == []


def test_community_page_shows_the_products_offered_there(
    client, on_sale, shop, merchant, community, make_community
):
    services.list_shop_in_community(shop=shop, community=community, actor=merchant)
    services.update_product(product=on_sale, actor=merchant, communities=[community])
    elsewhere = make_community(owner=merchant, name="别处", tags=("茶",))
    here = client.get(
        reverse("communities:detail", args=[community.public_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    there = client.get(
        reverse("communities:detail", args=[elsewhere.public_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Offered in this community" in here
    assert on_sale.title in here and "¥59.00" in here
    assert on_sale.title not in there and "No products here yet." in there
