"""Bargain pages: the product block, the bargain page for its owner and for friends, my
bargains, and the merchant console."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from shoploop.core import clock
from shoploop.deals.bargains import services
from shoploop.deals.bargains.models import Bargain, BargainCampaign
from shoploop.orders.tests.conftest import address_id_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_product_page_offers_to_start_a_bargain(client, campaign, buyer):
    product_url = reverse("catalog:product", args=[campaign.sku.product.public_id])
    client.force_login(buyer)
    page = _text(client.get(product_url))
    assert "Start a bargain" in page
    start_url = reverse("deals_bargains:start", args=[campaign.public_id])
    response = client.post(start_url)
    bargain = Bargain.objects.get(initiator=buyer)
    assert response.url == reverse("deals_bargains:detail", args=[bargain.public_id])
    assert "See my bargain" in _text(client.get(product_url))
    # Starting twice leads back to the running bargain with the error.
    again = client.post(start_url, follow=True)
    assert "already have a bargain" in _text(again)
    assert Bargain.objects.count() == 1


def test_the_bargain_page_always_says_how_many_helps_are_left(client, campaign, buyer, friends):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    url = reverse("deals_bargains:detail", args=[bargain.public_id])
    client.force_login(buyer)
    page = _text(client.get(url))
    assert "3 more helps needed" in page
    assert "data-countdown" in page and "data-share-url" in page
    assert f'value="http://testserver{url}"' in page
    assert "data-buy" not in page  # floor not reached, buying early not allowed
    services.help_bargain(bargain=bargain, helper=friends[0])
    page = _text(client.get(url))
    assert "2 more helps needed" in page
    assert friends[0].name in page
    services.help_bargain(bargain=bargain, helper=friends[1])
    assert "1 more help needed" in _text(client.get(url))
    services.help_bargain(bargain=bargain, helper=friends[2])
    page = _text(client.get(url))
    assert "The lowest price is reached!" in page and "data-buy" in page
    assert "¥10.00" in page


def test_a_friend_helps_from_the_share_link(client, campaign, buyer, friends):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    url = reverse("deals_bargains:detail", args=[bargain.public_id])
    anonymous = _text(client.get(url))
    assert "Help cut the price" in anonymous
    response = client.post(reverse("deals_bargains:help", args=[bargain.public_id]))
    assert response.status_code == 302 and "sign-in" in response.url
    client.force_login(friends[0])
    response = client.post(reverse("deals_bargains:help", args=[bargain.public_id]), follow=True)
    page = _text(response)
    assert "You cut" in page and "You already helped" in page
    again = client.post(reverse("deals_bargains:help", args=[bargain.public_id]), follow=True)
    assert "You already helped this bargain." in _text(again)
    bargain.refresh_from_db()
    assert bargain.helps_count == 1


def test_an_unverified_friend_sees_why_they_cannot_help(client, campaign, buyer, make_user):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    client.force_login(make_user(verified=False))
    response = client.post(reverse("deals_bargains:help", args=[bargain.public_id]), follow=True)
    assert "Verify your phone number" in _text(response)


def test_buying_goes_to_the_cashier_and_my_bargains_lists_it(client, finished, buyer):
    client.force_login(buyer)
    response = client.post(
        reverse("deals_bargains:buy", args=[finished.public_id]), {"address": address_id_for(buyer)}
    )
    assert response.status_code == 302
    finished.refresh_from_db()
    assert finished.state == "buying"
    detail = reverse("deals_bargains:detail", args=[finished.public_id])
    assert "next=" in response.url
    page = _text(client.get(detail))
    assert "data-pay" in page and "See the order" in page
    mine = _text(client.get(reverse("deals_bargains:mine")))
    assert finished.campaign.title in mine and "Waiting for payment" in mine


def test_someone_else_cannot_buy_from_the_page(client, finished, friends):
    client.force_login(friends[0])
    response = client.post(reverse("deals_bargains:buy", args=[finished.public_id]))
    assert response.status_code == 403


def test_hub_links(client, buyer, merchant):
    client.force_login(buyer)
    assert reverse("deals_bargains:mine") in _text(client.get(reverse("deals:mine")))
    client.force_login(merchant)
    assert reverse("deals_bargains:console") in _text(client.get(reverse("deals:console")))


def test_merchant_creates_a_campaign_from_the_console(client, merchant, sku):
    client.force_login(merchant)
    form = _text(client.get(reverse("deals_bargains:console_new")))
    assert sku.public_id in form
    ends = (clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "sku_id": sku.public_id,
        "start_price": "50",
        "floor_price": "0",
        "helpers_needed": "5",
        "stock": "3",
        "hours_per_bargain": "24",
        "helps_per_day": "3",
        "ends_at": ends,
    }
    bad = client.post(reverse("deals_bargains:console_new"), {**data, "floor_price": "60"})
    assert bad.status_code == 200 and "below the start price" in _text(bad)
    assert not BargainCampaign.objects.exists()
    response = client.post(reverse("deals_bargains:console_new"), data)
    campaign = BargainCampaign.objects.get()
    assert response.url == reverse("deals_bargains:console_detail", args=[campaign.public_id])
    assert (campaign.start_price_fen, campaign.floor_price_fen, campaign.stock_total) == (
        5000,
        0,
        3,
    )
    listing = _text(client.get(reverse("deals_bargains:console")))
    assert campaign.title in listing


def test_console_detail_has_live_counts_and_actions(client, merchant, finished, campaign):
    client.force_login(merchant)
    page = _text(client.get(reverse("deals_bargains:console_detail", args=[campaign.public_id])))
    assert 'hx-trigger="every 5s"' in page
    counts = _text(client.get(reverse("deals_bargains:console_counts", args=[campaign.public_id])))
    assert 'data-count="at_floor">1<' in counts
    assert 'data-count="helps">3<' in counts
    pause = reverse("deals_bargains:console_action", args=[campaign.public_id, "pause"])
    client.post(pause)
    campaign.refresh_from_db()
    assert campaign.state == "paused"
    end = reverse("deals_bargains:console_action", args=[campaign.public_id, "end"])
    client.post(end)
    campaign.refresh_from_db()
    assert campaign.state == "ended"


def test_console_of_another_shop_is_forbidden(client, other_merchant, campaign):
    client.force_login(other_merchant)
    url = reverse("deals_bargains:console_detail", args=[campaign.public_id])
    assert client.get(url).status_code == 403
    pause = reverse("deals_bargains:console_action", args=[campaign.public_id, "pause"])
    assert client.post(pause).status_code == 403
    campaign.refresh_from_db()
    assert campaign.state == "active"


def test_a_visitor_is_asked_to_sign_in_first(client, campaign):
    product_url = reverse("catalog:product", args=[campaign.sku.product.public_id])
    page = _text(client.get(product_url))
    assert "Sign in to start a bargain" in page
    assert "next=" in page


def test_operators_can_look_at_bargains_in_the_admin(client, operator, finished):
    client.force_login(operator)
    for name in ("bargaincampaign", "bargain"):
        listing = client.get(reverse(f"admin:deals_bargains_{name}_changelist"))
        assert listing.status_code == 200
    page = client.get(reverse("admin:deals_bargains_bargain_change", args=[finished.pk]))
    assert page.status_code == 200
    assert finished.seed not in page.content.decode()


def test_a_bargain_of_an_ended_campaign_offers_no_help(client, campaign, buyer, merchant, friends):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    services.end_campaign(campaign=campaign, actor=merchant)
    client.force_login(friends[0])
    page = _text(client.get(reverse("deals_bargains:detail", args=[bargain.public_id])))
    assert "Help cut the price" not in page
    assert "3 more helps needed" in page
