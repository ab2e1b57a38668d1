"""Coupon pages through Django's test client, the shop page's inclusion tag, and the admin."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from shoploop.core import clock
from shoploop.coupons import services
from shoploop.coupons.models import Coupon, CouponClaim

XSS = "<script>alert(1)</script>"


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _form(**overrides):
    now = clock.now()
    data = {
        "name": "满50减10",
        "kind": "fixed",
        "amount_off": "10",
        "percent_off": "",
        "max_discount": "",
        "min_spend": "50",
        "starts_at": _local(now),
        "ends_at": _local(now + timedelta(days=7)),
        "total_quantity": "100",
        "per_user_limit": "1",
    }
    data.update(overrides)
    return data


# --- my coupons and claiming --------------------------------------------------------------------


def test_my_coupons_needs_sign_in(client):
    response = client.get("/coupons/mine/")
    assert response.status_code == 302 and "next=" in response["Location"]


def test_my_coupons_lists_my_claims_escaped(client, make_coupon, user):
    services.claim_coupon(coupon=make_coupon(name=XSS), user=user)
    client.force_login(user)
    page = client.get("/coupons/mine/").content.decode()
    assert "¥10.00 off on orders from ¥50.00" in page
    assert XSS not in page and "&lt;script&gt;" in page


def test_claim_from_the_shop_page_and_back(client, coupon, user, shop):
    client.force_login(user)
    back = f"/shop/{shop.public_id}/"
    response = client.post(f"/coupons/{coupon.public_id}/claim/", {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert CouponClaim.objects.filter(user=user, coupon=coupon).count() == 1


def test_claiming_twice_shows_why(client, coupon, user):
    client.force_login(user)
    client.post(f"/coupons/{coupon.public_id}/claim/")
    response = client.post(f"/coupons/{coupon.public_id}/claim/", follow=True)
    assert "You already hold as many of this coupon as allowed (1)." in response.content.decode()
    assert CouponClaim.objects.count() == 1


def test_claim_ignores_an_offsite_next(client, coupon, user):
    client.force_login(user)
    response = client.post(f"/coupons/{coupon.public_id}/claim/", {"next": "https://evil.example/"})
    assert response["Location"] == "/coupons/mine/"


def test_claim_needs_post_and_sign_in(client, coupon, user):
    assert client.post(f"/coupons/{coupon.public_id}/claim/").status_code == 302  # to sign-in
    client.force_login(user)
    assert client.get(f"/coupons/{coupon.public_id}/claim/").status_code == 405
    assert client.post("/coupons/nope/claim/").status_code == 404
    assert not CouponClaim.objects.exists()


# --- the merchant console -------------------------------------------------------------------


def test_console_lists_live_counts(client, coupon, merchant, user, shop):
    claim = services.claim_coupon(coupon=coupon, user=user)
    services.redeem(
        claim_public_id=claim.public_id, user=user, shop=shop, subtotal_fen=8000, order_ref="o:1"
    )
    client.force_login(merchant)
    page = client.get("/console/coupons/").content.decode()
    assert "1 / 100" in page and coupon.name in page


def test_console_without_a_shop_is_404(client, user):
    client.force_login(user)
    assert client.get("/console/coupons/").status_code == 404
    assert client.get("/console/coupons/new/").status_code == 404


def test_merchant_creates_a_coupon_on_the_page(client, merchant, shop):
    client.force_login(merchant)
    response = client.post("/console/coupons/new/", _form())
    assert response.status_code == 302
    coupon = Coupon.objects.get()
    assert (coupon.amount_off_fen, coupon.min_spend_fen, coupon.shop) == (1000, 5000, shop)


def test_merchant_creates_a_percentage_coupon_on_the_page(client, merchant, shop):
    client.force_login(merchant)
    data = _form(kind="percent", amount_off="", percent_off="15", max_discount="20.50")
    assert client.post("/console/coupons/new/", data).status_code == 302
    coupon = Coupon.objects.get()
    assert (coupon.percent_off, coupon.max_discount_fen) == (15, 2050)


@pytest.mark.parametrize(
    "overrides",
    [
        {"kind": "percent", "amount_off": "", "percent_off": "100", "max_discount": "5"},
        {"kind": "percent", "amount_off": "", "percent_off": "0", "max_discount": "5"},
        {"kind": "percent", "amount_off": "", "percent_off": "", "max_discount": "5"},
        {"amount_off": "-5"},
        {"amount_off": "1.234"},
        {"amount_off": ""},
        {"min_spend": "-1"},
        {"total_quantity": "0"},
        {"name": "x" * 1000},
    ],
)
def test_bad_coupon_form_changes_nothing(overrides, client, merchant, shop):
    client.force_login(merchant)
    response = client.post("/console/coupons/new/", _form(**overrides))
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Coupon.objects.exists()


def test_a_service_refusal_is_shown_on_the_form(client, merchant, shop):
    client.force_login(merchant)
    now = clock.now()
    past = _form(starts_at=_local(now - timedelta(days=3)), ends_at=_local(now - timedelta(days=2)))
    response = client.post("/console/coupons/new/", past)
    assert "The end must be in the future." in response.content.decode()
    assert not Coupon.objects.exists()


def test_pause_and_resume_on_the_page(client, coupon, merchant):
    client.force_login(merchant)
    client.post(f"/console/coupons/{coupon.public_id}/pause/")
    coupon.refresh_from_db()
    assert coupon.is_paused
    response = client.post(f"/console/coupons/{coupon.public_id}/pause/", follow=True)
    assert "This coupon is already paused." in response.content.decode()
    client.post(f"/console/coupons/{coupon.public_id}/resume/")
    coupon.refresh_from_db()
    assert not coupon.is_paused


def test_another_merchant_gets_403_pausing_my_coupon(client, coupon, other_merchant, other_shop):
    client.force_login(other_merchant)
    assert client.post(f"/console/coupons/{coupon.public_id}/pause/").status_code == 403
    coupon.refresh_from_db()
    assert not coupon.is_paused


# --- {% shop_coupons shop %} ----------------------------------------------------------------


def _render_shop_coupons(shop, user) -> str:
    request = RequestFactory().get(f"/shop/{shop.public_id}/")
    request.user = user
    template = Template("{% load coupon_tags %}{% shop_coupons shop %}")
    return template.render(Context({"shop": shop, "request": request, "csrf_token": "t"}))


def test_shop_coupons_tag_offers_a_claim_button(make_coupon, shop, user):
    coupon = make_coupon(name=XSS)
    html = _render_shop_coupons(shop, user)
    assert f"/coupons/{coupon.public_id}/claim/" in html
    assert XSS not in html and "&lt;script&gt;" in html


def test_shop_coupons_tag_says_claimed_and_asks_strangers_to_sign_in(coupon, shop, user):
    services.claim_coupon(coupon=coupon, user=user)
    assert "Claimed" in _render_shop_coupons(shop, user)
    assert "Sign in to claim" in _render_shop_coupons(shop, AnonymousUser())


def test_shop_coupons_tag_hides_paused_and_sold_out(make_coupon, shop, merchant, user):
    services.pause_coupon(coupon=make_coupon(), actor=merchant)
    sold_out = make_coupon(total_quantity=1)
    services.claim_coupon(coupon=sold_out, user=user)
    assert _render_shop_coupons(shop, AnonymousUser()).strip() == ""


# --- admin ------------------------------------------------------------------------------------


def test_admin_lists_and_pauses_through_the_service(client, operator, coupon, claim):
    client.force_login(operator)
    assert client.get("/admin/coupons/coupon/").status_code == 200
    assert client.get("/admin/coupons/couponclaim/").status_code == 200
    assert client.get(f"/admin/coupons/coupon/{coupon.pk}/change/").status_code == 200
    client.post(
        "/admin/coupons/coupon/",
        {"action": "pause", "_selected_action": [coupon.pk]},
    )
    coupon.refresh_from_db()
    assert coupon.is_paused


def test_the_shop_page_offers_its_coupons(client, coupon, user, shop):
    client.force_login(user)
    page = client.get(f"/shop/{shop.public_id}/").content.decode()
    assert f"/coupons/{coupon.public_id}/claim/" in page


def test_me_links_to_my_coupons_and_the_merchant_wallet(client, merchant, shop):
    client.force_login(merchant)
    page = client.get("/me/").content.decode()
    assert "/coupons/mine/" in page and "/wallet/" in page
