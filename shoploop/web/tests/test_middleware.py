import pytest

pytestmark = pytest.mark.django_db


def test_an_unknown_product_is_the_sites_404_page(client):
    response = client.get("/p/doesnotexist/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_another_merchants_product_is_the_sites_403_page(client, make_user, operator):
    from shoploop.catalog import services as catalog

    owner = make_user()
    shop = catalog.apply_for_shop(user=owner, name="别人的店", contact="微信 abc")
    catalog.approve_shop(shop=shop, actor=operator)
    product = catalog.create_product(
        shop=shop, actor=owner, title="茶", description="", category="food"
    )
    client.force_login(make_user())
    response = client.get(f"/console/products/{product.public_id}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()
