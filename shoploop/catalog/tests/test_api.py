import pytest

from shoploop.catalog import services
from shoploop.catalog.models import SKU, Product, Shop
from shoploop.catalog.tests.conftest import image_bytes

pytestmark = pytest.mark.django_db


def test_apply_get_and_update_my_shop(api, user, other_user):
    response = api.post("/catalog/shops", {"name": "小王的店", "contact": "wx"}, user=user)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["fee_rate_bps"] == 500
    shop_id = body["id"]
    assert Shop.objects.get().public_id == shop_id
    again = api.post("/catalog/shops", {"name": "又一家", "contact": "wx"}, user=user)
    assert again.status_code == 409 and again.json()["error"]["code"] == "shop_exists"
    assert api.get("/catalog/shops/mine", user=user).json()["id"] == shop_id
    assert api.get("/catalog/shops/mine", user=other_user).status_code == 404
    # pending shops are only visible to their owner
    assert api.get(f"/catalog/shops/{shop_id}").status_code == 404
    assert api.get(f"/catalog/shops/{shop_id}", user=user).status_code == 200
    patched = api.patch(f"/catalog/shops/{shop_id}", {"description": "介绍"}, user=user)
    assert patched.status_code == 200 and patched.json()["description"] == "介绍"
    forbidden = api.patch(f"/catalog/shops/{shop_id}", {"name": "抢"}, user=other_user)
    assert forbidden.status_code == 403
    assert Shop.objects.get().name == "小王的店"


def test_anonymous_cannot_write(api, on_sale, sku):
    assert api.post("/catalog/shops", {"name": "x", "contact": "y"}).status_code == 401
    assert api.post("/catalog/products", {"title": "x"}).status_code == 401
    assert api.post(f"/catalog/skus/{sku.public_id}/stock", {"delta": 1}).status_code == 401


def test_rejection_reason_only_for_the_owner(api, user, other_user, operator):
    shop = services.apply_for_shop(user=user, name="店", contact="x")
    services.reject_shop(shop=shop, actor=operator, reason="资料不全")
    assert api.get("/catalog/shops/mine", user=user).json()["rejection_reason"] == "资料不全"


def test_public_product_list_search_and_detail(api, on_sale, shop, merchant):
    draft = services.create_product(shop=shop, actor=merchant, title="草稿咖啡")
    listing = api.get("/catalog/products")
    assert listing.status_code == 200
    ids = [item["id"] for item in listing.json()["results"]]
    assert ids == [on_sale.public_id]
    assert api.get("/catalog/products", q="咖啡").json()["results"][0]["min_price_fen"] == 5900
    assert api.get("/catalog/products", q="茶").json()["results"] == []
    detail = api.get(f"/catalog/products/{on_sale.public_id}").json()
    assert detail["skus"][0]["price_fen"] == 5900 and detail["skus"][0]["stock_state"] == "in_stock"
    assert detail["description_html"] == "<p><strong>新鲜</strong>烘焙</p>"
    assert api.get(f"/catalog/products/{draft.public_id}").status_code == 404
    assert api.get(f"/catalog/products/{draft.public_id}", user=merchant).status_code == 200
    assert api.get("/catalog/products/nope").status_code == 404
    shop_products = api.get(f"/catalog/shops/{shop.public_id}/products").json()["results"]
    assert [p["id"] for p in shop_products] == [on_sale.public_id]
    mine = api.get("/catalog/shops/mine/products", user=merchant).json()["results"]
    assert {p["id"] for p in mine} == {on_sale.public_id, draft.public_id}


def test_cursor_pagination(api, shop, merchant):
    for index in range(3):
        product = services.create_product(shop=shop, actor=merchant, title=f"品{index}")
        services.add_sku(product=product, actor=merchant, options={}, price_fen=100, stock=1)
        services.publish_product(product=product, actor=merchant)
    first = api.get("/catalog/products", page_size=2).json()
    assert len(first["results"]) == 2 and first["next"]
    from urllib.parse import parse_qs, urlparse

    cursor = parse_qs(urlparse(first["next"]).query)["cursor"][0]
    rest = api.get("/catalog/products", page_size=2, cursor=cursor).json()
    assert len(rest["results"]) == 1
    seen = [p["id"] for p in first["results"] + rest["results"]]
    assert len(set(seen)) == 3


def test_merchant_builds_and_publishes_a_product(api, shop, merchant, community):
    services.list_shop_in_community(shop=shop, community=community, actor=merchant)
    created = api.post(
        "/catalog/products",
        {
            "title": "<script>alert(1)</script>豆",
            "description": "好 <script>alert(2)</script>",
            "category": "food",
            "tags": ["咖啡"],
            "communities": [community.public_id],
        },
        user=merchant,
    )
    assert created.status_code == 201, created.content
    product = created.json()
    assert product["title"] == "<script>alert(1)</script>豆"
    assert "<script" not in product["description_html"]
    assert product["communities"] == [{"id": community.public_id, "name": community.name}]
    pid = product["id"]
    no_sku = api.post(f"/catalog/products/{pid}/publish", user=merchant)
    assert no_sku.status_code == 422 and no_sku.json()["error"]["code"] == "no_sku"
    sku = api.post(
        f"/catalog/products/{pid}/skus",
        {"options": {"颜色": "红"}, "price_fen": 1990, "list_price_fen": 2990, "stock": 3},
        user=merchant,
    )
    assert sku.status_code == 201 and sku.json()["stock_state"] == "low"
    sku_id = sku.json()["id"]
    published = api.post(f"/catalog/products/{pid}/publish", user=merchant)
    assert published.status_code == 200 and published.json()["is_published"] is True
    twice = api.post(f"/catalog/products/{pid}/publish", user=merchant)
    assert twice.status_code == 409
    adjusted = api.post(f"/catalog/skus/{sku_id}/stock", {"delta": -3}, user=merchant)
    assert adjusted.json()["stock"] == 0 and adjusted.json()["stock_state"] == "sold_out"
    below = api.post(f"/catalog/skus/{sku_id}/stock", {"delta": -1}, user=merchant)
    assert below.status_code == 422 and below.json()["error"]["code"] == "stock_below_zero"
    patched = api.patch(f"/catalog/skus/{sku_id}", {"list_price_fen": None}, user=merchant)
    assert patched.json()["list_price_fen"] is None
    off = api.post(f"/catalog/products/{pid}/unpublish", user=merchant)
    assert off.json()["is_published"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"options": {}, "price_fen": 12.5},
        {"options": {}, "price_fen": 1200.0},
        {"options": {}, "price_fen": "1200"},
        {"options": {}, "price_fen": -1},
        {"options": {}, "price_fen": 0},
        {"options": {}, "price_fen": 10**15},
        {"options": {}, "price_fen": 100, "list_price_fen": 50},
        {"options": {}, "price_fen": 100, "stock": -5},
        {"options": {"颜色": 3}, "price_fen": 100},
        {"options": [], "price_fen": 100},
        {},
    ],
)
def test_bad_sku_input_answers_422_and_changes_nothing(api, product, merchant, body):
    response = api.post(f"/catalog/products/{product.public_id}/skus", body, user=merchant)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert not SKU.objects.exists()


@pytest.mark.parametrize("delta", [1.5, "2", None])
def test_non_integer_stock_delta_is_422(api, sku, merchant, delta):
    response = api.post(f"/catalog/skus/{sku.public_id}/stock", {"delta": delta}, user=merchant)
    assert response.status_code == 422
    sku.refresh_from_db()
    assert sku.stock == 10


def test_ten_megabyte_description_is_refused(api, product, merchant):
    response = api.patch(
        f"/catalog/products/{product.public_id}",
        {"description": "x" * (10 * 1024 * 1024)},
        user=merchant,
    )
    assert response.status_code == 422
    product.refresh_from_db()
    assert product.description == "**新鲜**烘焙"


def test_other_merchant_gets_403_and_nothing_changes(api, product, sku, other_merchant, other_shop):
    pid = product.public_id
    calls = [
        ("patch", f"/catalog/products/{pid}", {"title": "改"}),
        ("post", f"/catalog/products/{pid}/publish", None),
        ("post", f"/catalog/products/{pid}/skus", {"options": {"a": "b"}, "price_fen": 1}),
        ("patch", f"/catalog/skus/{sku.public_id}", {"price_fen": 1}),
        ("post", f"/catalog/skus/{sku.public_id}/stock", {"delta": -10}),
    ]
    for method, path, body in calls:
        response = getattr(api, method)(path, body, user=other_merchant)
        assert response.status_code == 403, (path, response.content)
        assert response.json()["error"]["code"] == "not_shop_owner"
    product.refresh_from_db()
    sku.refresh_from_db()
    assert (product.title, product.is_published, sku.price_fen, sku.stock) == (
        "手冲咖啡豆",
        False,
        5900,
        10,
    )
    assert Product.objects.get(pk=product.pk).skus.count() == 1


def test_unknown_ids_are_404(api, merchant, shop):
    for method, path, body in [
        ("get", "/catalog/products/unknown1234", None),
        ("patch", "/catalog/products/unknown1234", {"title": "x"}),
        ("post", "/catalog/products/unknown1234/publish", None),
        ("post", "/catalog/skus/unknown1234/stock", {"delta": 1}),
        ("delete", "/catalog/images/unknown1234", None),
        ("get", "/catalog/shops/unknown1234", None),
    ]:
        caller = getattr(api, method)
        response = (
            caller(path, user=merchant) if body is None else caller(path, body, user=merchant)
        )
        assert response.status_code == 404, path
        assert response.json()["error"]["code"].endswith("not_found")


def test_image_upload_through_the_api(client, make_token, product, merchant):
    from django.core.files.uploadedfile import SimpleUploadedFile

    headers = {"Authorization": f"Bearer {make_token(merchant)}"}
    url = f"/api/v1/catalog/products/{product.public_id}/images"
    good = SimpleUploadedFile("a.jpg", image_bytes("JPEG", (1300, 100)), content_type="image/jpeg")
    response = client.post(url, {"image": good}, headers=headers)
    assert response.status_code == 201, response.content
    assert response.json()["width"] == 1200
    bad = SimpleUploadedFile("a.jpg", b"not an image at all", content_type="image/jpeg")
    response = client.post(url, {"image": bad}, headers=headers)
    assert response.status_code == 422
    assert product.images.count() == 1
    image_id = product.images.get().public_id
    cover = client.post(f"/api/v1/catalog/images/{image_id}/cover", headers=headers)
    assert cover.status_code == 200 and cover.json()["position"] == 0
    assert client.delete(f"/api/v1/catalog/images/{image_id}", headers=headers).status_code == 204
    assert not product.images.filter(public_id=image_id).exists()


def test_listing_the_shop_in_a_community(
    api, shop, merchant, community, make_community, other_user
):
    url = f"/catalog/shops/{shop.public_id}/communities"
    response = api.post(url, {"community": community.public_id}, user=merchant)
    assert response.status_code == 200
    assert response.json()["communities"][0]["id"] == community.public_id
    foreign = make_community(owner=other_user, name="别人的")
    assert api.post(url, {"community": foreign.public_id}, user=merchant).status_code == 403
    assert api.post(url, {"community": "unknown1234"}, user=merchant).status_code == 404
    removed = api.delete(f"{url}/{community.public_id}", user=merchant)
    assert removed.json()["communities"] == []


def test_openapi_describes_the_catalog(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert "/api/v1/catalog/products" in paths
    assert "/api/v1/catalog/skus/{sku_id}/stock" in paths
    price = schema["components"]["schemas"]["SkuIn"]["properties"]["price_fen"]
    assert price["type"] == "integer"
