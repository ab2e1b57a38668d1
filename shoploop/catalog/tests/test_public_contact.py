"""A shop shows buyers only the contact its merchant chose to publish, never the owner's
sign-in phone or the private contact given to the platform."""

import pytest

from shoploop.catalog import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone_shop(merchant, operator):
    shop = services.apply_for_shop(user=merchant, name="电话店", contact=merchant.phone)
    services.approve_shop(shop=shop, actor=operator)
    return shop


def test_the_shop_page_shows_no_contact_until_one_is_published(client, phone_shop, merchant):
    page = client.get(f"/shop/{phone_shop.public_id}/").content.decode()
    assert merchant.phone not in page
    services.update_shop(shop=phone_shop, actor=merchant, public_contact="微信 ahua-shop")
    page = client.get(f"/shop/{phone_shop.public_id}/").content.decode()
    assert "微信 ahua-shop" in page and merchant.phone not in page


def test_the_api_gives_the_private_contact_to_the_owner_only(api, phone_shop, merchant, user):
    services.update_shop(shop=phone_shop, actor=merchant, public_contact="wx: ahua")
    seen_by_buyer = api.get(f"/catalog/shops/{phone_shop.public_id}", user=user).json()
    assert seen_by_buyer["public_contact"] == "wx: ahua"
    assert seen_by_buyer["contact"] == ""
    assert merchant.phone not in str(seen_by_buyer)
    anonymous = api.get(f"/catalog/shops/{phone_shop.public_id}").json()
    assert anonymous["contact"] == "" and anonymous["public_contact"] == "wx: ahua"
    seen_by_owner = api.get(f"/catalog/shops/{phone_shop.public_id}", user=merchant).json()
    assert seen_by_owner["contact"] == merchant.phone


def test_the_merchant_publishes_a_contact_in_the_console_and_api(client, api, phone_shop, merchant):
    client.force_login(merchant)
    client.post(
        "/console/shop/",
        {"part": "details", "name": "电话店", "contact": "x", "public_contact": "店铺热线 400-1"},
    )
    phone_shop.refresh_from_db()
    assert phone_shop.public_contact == "店铺热线 400-1"
    patched = api.patch(
        f"/catalog/shops/{phone_shop.public_id}", {"public_contact": ""}, user=merchant
    )
    assert patched.status_code == 200 and patched.json()["public_contact"] == ""
