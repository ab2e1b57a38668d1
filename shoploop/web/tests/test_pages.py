"""The shell's pages through Django's test client: home, me, the messages entry, language switch."""

import pytest
from django.urls import reverse

from shoploop.web.tests import worlds

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def merchant(make_user):
    return make_user(display_name="咖啡店主")


def _text(response) -> str:
    return response.content.decode()


def test_visitor_home_explains_the_loop_and_shows_popular_communities(client, user):
    big = worlds.community(owner=user, name="Hand-drip coffee")
    worlds.community(owner=user, name="Trail running")
    response = client.get("/", **ENGLISH)
    html = _text(response)
    assert response.status_code == 200
    for step in ("Attention", "Communication", "Transaction", "Sharing"):
        assert step in html
    assert reverse("accounts:sign_in") in html
    assert reverse("communities:list") in html
    assert "Hand-drip coffee" in html and "Trail running" in html
    assert reverse("communities:detail", args=[big.public_id]) in html
    assert 'aria-current="page"' in html and "bottomnav" in html


def test_visitor_home_without_communities_says_so(client):
    response = client.get("/", **ENGLISH)
    assert "No communities yet" in _text(response)


def test_member_home_shows_communities_for_you_and_products_from_their_communities(
    client, user, merchant, operator, make_user
):
    coffee = worlds.community(owner=merchant, name="Coffee lovers", tags=["coffee"])
    worlds.join(user=user, community=coffee)
    suggested = worlds.community(owner=make_user(), name="Espresso nerds", tags=["coffee"])
    elsewhere = worlds.community(owner=make_user(), name="Knitting", tags=["wool"])
    beans = worlds.product_on_sale(
        merchant=merchant, operator=operator, community=coffee, title="Yunnan beans", price_fen=6800
    )
    client.force_login(user)
    html = _text(client.get("/", **ENGLISH))
    assert "Communities for you" in html
    assert "Espresso nerds" in html and "because you like #coffee" in html
    assert reverse("communities:detail", args=[suggested.public_id]) in html
    chips, suggestions = html.split("Communities for you")[0], html.split("Communities for you")[1]
    assert reverse("communities:detail", args=[coffee.public_id]) in chips  # one of mine
    assert "Coffee lovers" not in suggestions.split("From your communities")[0]
    assert "Yunnan beans" in html and "¥68.00" in html
    assert reverse("catalog:product", args=[beans.public_id]) in html
    assert elsewhere.name in html  # popular ones fill the list up


def test_member_home_marks_sold_out_products(client, user, merchant, operator):
    from shoploop.catalog import services

    coffee = worlds.community(owner=merchant, name="Coffee lovers")
    worlds.join(user=user, community=coffee)
    beans = worlds.product_on_sale(
        merchant=merchant, operator=operator, community=coffee, title="Last beans", price_fen=100
    )
    services.adjust_stock(sku=beans.skus.get(), delta=-10, actor=merchant)
    client.force_login(user)
    tile = _text(client.get("/", **ENGLISH)).split('class="tile"')[1]
    assert "Last beans" in tile and "Sold out" in tile


def test_member_home_without_communities_invites_to_join(client, user):
    client.force_login(user)
    assert "Join a community" in _text(client.get("/", **ENGLISH))


def test_show_more_products_works_without_and_with_htmx(
    client, user, merchant, operator, monkeypatch
):
    monkeypatch.setattr("shoploop.web.views.HOME_PRODUCTS", 1)
    monkeypatch.setattr("shoploop.web.views.MORE_PRODUCTS_STEP", 1)
    coffee = worlds.community(owner=merchant, name="Coffee lovers")
    worlds.join(user=user, community=coffee)
    worlds.product_on_sale(
        merchant=merchant, operator=operator, community=coffee, title="Beans A", price_fen=100
    )
    worlds.another_product(merchant=merchant, community=coffee, title="Beans B", price_fen=200)
    client.force_login(user)
    first = _text(client.get("/", **ENGLISH))
    assert first.count('class="tile"') == 1
    assert "?products=2" in first
    full = _text(client.get("/?products=2", **ENGLISH))
    assert full.count('class="tile"') == 2 and "<html" in full
    partial = _text(client.get("/?products=2", HTTP_HX_REQUEST="true", **ENGLISH))
    assert partial.count('class="tile"') == 2 and "<html" not in partial
    assert partial.lstrip().startswith('<div id="home-products">')
    assert "HX-Request" in client.get("/", **ENGLISH)["Vary"]


@pytest.mark.parametrize("junk", ["abc", "-5", "99999999999999999999", ""])
def test_junk_product_counts_fall_back_to_the_default(client, user, junk):
    client.force_login(user)
    assert client.get("/", {"products": junk}).status_code == 200


def test_user_names_are_escaped(client, make_user):
    sneaky = make_user(display_name="<script>alert(1)</script>")
    client.force_login(sneaky)
    for url in ("/", "/me/"):
        html = _text(client.get(url))
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_me_asks_a_visitor_to_sign_in(client):
    response = client.get("/me/", **ENGLISH)
    html = _text(response)
    assert response.status_code == 200
    assert f"{reverse('accounts:sign_in')}?next=/me/" in html
    assert "Sign out" not in html


def test_me_shows_a_member_their_links(client, user):
    client.force_login(user)
    html = _text(client.get("/me/", **ENGLISH))
    assert user.display_name in html and user.masked_phone in html
    assert user.phone not in html  # the full number is never shown
    for url_name, args in ME_LINKS:
        assert reverse(url_name, args=[user.public_id] if args else []) in html
    assert f"{reverse('communities:list')}#my-communities" in html
    assert "Open a shop" in html


ME_LINKS = [
    ("accounts:profile", True),
    ("accounts:edit_profile", False),
    ("catalog:shop_apply", False),
    ("accounts:tokens", False),
    ("accounts:sign_out", False),
    ("accounts:sign_out_everywhere", False),
]


def test_me_links_a_merchant_to_their_shop_and_console(client, merchant, operator):
    from shoploop.catalog import services

    shop = services.apply_for_shop(user=merchant, name="Bean bar", contact="wechat: beans")
    services.approve_shop(shop=shop, actor=operator)
    client.force_login(merchant)
    html = _text(client.get("/me/", **ENGLISH))
    assert reverse("catalog:shop", args=[shop.public_id]) in html
    assert reverse("catalog:console") in html
    assert "Open a shop" not in html
    assert "Pending review" not in html and "/admin/" not in html


def test_me_tells_an_applicant_their_shop_is_under_review(client, merchant):
    from shoploop.catalog import services

    shop = services.apply_for_shop(user=merchant, name="Bean bar", contact="wechat: beans")
    client.force_login(merchant)
    html = _text(client.get("/me/", **ENGLISH))
    assert reverse("catalog:shop", args=[shop.public_id]) in html
    assert "Pending review" in html


def test_me_links_an_operator_to_the_admin(client, operator, user):
    client.force_login(operator)
    assert 'href="/admin/"' in _text(client.get("/me/", **ENGLISH))
    client.force_login(user)
    assert 'href="/admin/"' not in _text(client.get("/me/", **ENGLISH))


def test_the_messages_entry_is_the_chat_inbox(client):
    url = "/messages/"
    response = client.get(url, **ENGLISH)
    html = _text(response)
    assert response.status_code == 200
    assert "Coming soon" not in html and "Sign in to see your messages" in html
    assert f'href="{url}" class="nav-' in html and 'is-active" aria-current="page"' in html


def test_language_switch_works_without_javascript(client):
    html = _text(client.get("/me/", **ENGLISH))
    assert 'action="/i18n/setlang/"' in html and 'name="language" value="zh-hans"' in html
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/me/"})
    assert response.status_code == 302 and response["Location"] == "/me/"
    assert '<html lang="zh-hans">' in _text(client.get("/me/"))
    client.post("/i18n/setlang/", {"language": "en", "next": "/me/"})
    assert '<html lang="en">' in _text(client.get("/me/"))


def test_language_switch_refuses_to_redirect_elsewhere(client):
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "https://evil.example/"}, HTTP_REFERER=""
    )
    assert response.status_code == 302 and "evil.example" not in response["Location"]
