"""Following a shop end to end: the button on the shop page (a plain form), the 粉丝 count on the
shop page and in the console, the list on the follower's profile, and the API with its codes."""

import pytest
from django.urls import reverse

from shoploop.catalog import services
from shoploop.catalog.models import ShopFollow

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_the_shop_page_offers_follow_and_counts_the_followers(client, shop, user):
    page = reverse("catalog:shop", args=[shop.public_id])
    signed_out = client.get(page).content.decode()
    assert "0 followers (粉丝)" in signed_out and "Sign in to follow" in signed_out
    client.force_login(user)
    html = client.get(page).content.decode()
    follow_url = reverse("catalog:follow_shop", args=[shop.public_id])
    assert f'action="{follow_url}"' in html
    answer = client.post(follow_url)
    assert answer.status_code == 302 and answer["Location"] == page
    assert ShopFollow.objects.filter(shop=shop, follower=user).exists()
    html = client.get(page).content.decode()
    assert "1 follower (粉丝)" in html and "Following" in html
    assert reverse("catalog:unfollow_shop", args=[shop.public_id]) in html
    client.post(reverse("catalog:unfollow_shop", args=[shop.public_id]))
    assert not ShopFollow.objects.exists()


def test_a_second_follow_from_the_page_says_so_and_changes_nothing(client, shop, user):
    services.follow_shop(actor=user, shop=shop)
    client.force_login(user)
    answer = client.post(reverse("catalog:follow_shop", args=[shop.public_id]), follow=True)
    assert "You already follow this shop." in answer.content.decode()
    assert ShopFollow.objects.count() == 1


def test_the_owner_sees_no_button_and_the_console_counts_the_fans(client, shop, merchant, user):
    services.follow_shop(actor=user, shop=shop)
    client.force_login(merchant)
    html = client.get(reverse("catalog:shop", args=[shop.public_id])).content.decode()
    assert reverse("catalog:follow_shop", args=[shop.public_id]) not in html
    console = client.get(reverse("catalog:console")).content.decode()
    assert 'id="console-followers"' in console and "1 follower (粉丝)" in console
    owner_post = client.post(reverse("catalog:follow_shop", args=[shop.public_id]), follow=True)
    assert "You cannot follow your own shop." in owner_post.content.decode()
    assert ShopFollow.objects.count() == 1


def test_following_signed_out_asks_to_sign_in(client, shop):
    answer = client.post(reverse("catalog:follow_shop", args=[shop.public_id]))
    assert answer.status_code == 302 and "sign-in" in answer["Location"]
    assert not ShopFollow.objects.exists()


def test_the_follower_profile_lists_the_shops_they_follow(client, shop, user):
    services.follow_shop(actor=user, shop=shop)
    client.force_login(user)
    html = client.get(reverse("accounts:profile", args=[user.public_id])).content.decode()
    assert "Shops I follow" in html
    assert reverse("catalog:shop", args=[shop.public_id]) in html
    client.logout()
    html = client.get(reverse("accounts:profile", args=[user.public_id])).content.decode()
    assert "Shops followed" in html and shop.name in html


def test_the_api_follows_unfollows_and_lists_with_codes(api, shop, user, merchant):
    path = f"/catalog/shops/{shop.public_id}/follow"
    first = api.post(path, user=user)
    assert first.status_code == 201
    assert first.json() == {
        "id": shop.public_id,
        "name": shop.name,
        "follower_count": 1,
        "following": True,
    }
    again = api.post(path, user=user)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_following"
    own = api.post(path, user=merchant)
    assert own.status_code == 422 and own.json()["error"]["code"] == "cannot_follow_own_shop"
    unknown = api.post("/catalog/shops/nosuchshop1/follow", user=user)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "shop_not_found"
    listed = api.get("/catalog/me/followed-shops", user=user).json()
    assert [item["shop"]["id"] for item in listed["results"]] == [shop.public_id]
    state = api.get(path).json()
    assert state["follower_count"] == 1 and state["following"] is False
    gone = api.delete(path, user=user)
    assert gone.status_code == 200 and gone.json()["follower_count"] == 0
    twice = api.delete(path, user=user)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "not_following"
    assert api.post(path).status_code == 401
    assert ShopFollow.objects.count() == 0
