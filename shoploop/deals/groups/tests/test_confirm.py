"""Opening and joining a group go through one confirm step: the buyer's address is required (a
missing or foreign one takes nothing: no group, no seat, no unit), snapshotted onto the order
as a cart checkout does; the confirm page and POST /api/v1/deals/quote show the price (the
leader price for whoever opens), the address and the amount to pay."""

import pytest
from django.urls import reverse

from shoploop.core.errors import NotFound, ValidationFailed
from shoploop.core.money import format_fen
from shoploop.deals.groups import services
from shoploop.deals.groups.models import Group, GroupCampaign, Seat
from shoploop.orders.models import Address, Checkout, Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = pytest.mark.django_db


def _nothing_taken(campaign, *, groups: int, seats: int) -> None:
    assert Group.objects.filter(campaign=campaign).count() == groups
    assert Seat.objects.filter(group__campaign=campaign).count() == seats
    assert GroupCampaign.objects.get(pk=campaign.pk).stock == campaign.stock_total - seats
    assert Checkout.objects.filter(deal_ref__startswith="group_seat:").count() == seats


# --- services ---------------------------------------------------------------------------------


def test_opening_without_an_address_takes_nothing(campaign, buyer):
    with pytest.raises(ValidationFailed) as refused:
        services.open_group(campaign=campaign, user=buyer, address_id="")
    assert refused.value.code == "address_required"
    _nothing_taken(campaign, groups=0, seats=0)


def test_opening_with_someone_elses_address_is_not_found_and_takes_nothing(
    campaign, buyer, other_user
):
    with pytest.raises(NotFound) as refused:
        services.open_group(campaign=campaign, user=buyer, address_id=address_id_for(other_user))
    assert refused.value.code == "address_not_found" and refused.value.status == 404
    _nothing_taken(campaign, groups=0, seats=0)


def test_joining_without_an_address_takes_nothing(opened, buyers):
    for address_id in ("", "nosuchaddress", address_id_for(buyers[1])):
        with pytest.raises((ValidationFailed, NotFound)):
            services.join_group(group=opened, user=buyers[0], address_id=address_id)
    opened.refresh_from_db()
    assert opened.seats_taken == 1
    _nothing_taken(opened.campaign, groups=1, seats=1)


def test_the_order_keeps_a_copy_of_the_chosen_address(opened, buyers, make_address):
    other = make_address(buyers[0], recipient_name="李四", street="南山大道 8 号")
    seat = services.join_group(group=opened, user=buyers[0], address_id=other.public_id)
    order = Order.objects.get(pk=seat.order_id)
    assert (order.ship_recipient, order.ship_street) == ("李四", "南山大道 8 号")
    assert (order.ship_province, order.ship_city, order.ship_district) == (
        "广东省",
        "深圳市",
        "南山区",
    )
    Address.objects.filter(pk=other.pk).delete()  # the book changes; the order does not
    order.refresh_from_db()
    assert order.ship_recipient == "李四"


# --- the confirm pages ------------------------------------------------------------------------


def test_the_open_confirm_page_shows_the_leader_price_variant_and_default_address(
    client, make_campaign, sku, buyer, english
):
    campaign = make_campaign(sku=sku, leader_price_fen=2900)
    address_id_for(buyer)
    client.force_login(buyer)
    html = client.get(reverse("deals_groups:open", args=[campaign.public_id])).content.decode()
    assert 'data-testid="amount-to-pay">' + format_fen(2900) in html
    assert 'data-testid="deal-variant">250g<' in html
    assert "收件人" in html and "checked" in html
    assert "/addresses/new/?next=" in html and 'data-testid="confirm-and-pay"' in html


def test_the_join_confirm_page_asks_for_an_address_when_there_is_none(
    client, opened, buyers, english
):
    client.force_login(buyers[0])
    html = client.get(reverse("deals_groups:join", args=[opened.public_id])).content.decode()
    assert format_fen(opened.campaign.group_price_fen) in html
    assert "Add a delivery address to continue." in html
    assert 'data-testid="confirm-and-pay" disabled' in html


def test_posting_without_an_address_shows_the_error_and_takes_nothing(
    client, opened, buyers, english
):
    client.force_login(buyers[0])
    url = reverse("deals_groups:join", args=[opened.public_id])
    page = client.post(url, follow=True)
    assert page.redirect_chain[-1][0] == url  # back on the confirm page
    assert "Choose a delivery address." in page.content.decode()
    _nothing_taken(opened.campaign, groups=1, seats=1)


def test_the_deal_pages_buttons_lead_to_the_confirm_pages(client, opened, buyers):
    client.force_login(buyers[0])
    group_page = client.get(reverse("deals_groups:group", args=[opened.public_id]))
    assert f'href="{reverse("deals_groups:join", args=[opened.public_id])}"' in (
        group_page.content.decode()
    )
    product = opened.campaign.sku.product
    product_page = client.get(reverse("catalog:product", args=[product.public_id]))
    campaign_id = opened.campaign.public_id
    assert f'href="{reverse("deals_groups:open", args=[campaign_id])}"' in (
        product_page.content.decode()
    )


# --- the API ----------------------------------------------------------------------------------


def test_quote_then_open_through_the_api(api, make_campaign, sku, buyer):
    campaign = make_campaign(sku=sku, leader_price_fen=2900)
    address_id = address_id_for(buyer)
    quote = api.post("/deals/quote", {"kind": "group_open", "id": campaign.public_id}, user=buyer)
    assert quote.status_code == 200, quote.content
    body = quote.json()
    assert (body["unit_price_fen"], body["total_fen"], body["quantity"]) == (2900, 2900, 1)
    assert body["options"] == {"重量": "250g"} and body["address"]["id"] == address_id
    assert body["can_confirm"] is True and not Seat.objects.exists()

    path = f"/deals/groups/campaigns/{campaign.public_id}/groups"
    missing = api.post(path, {}, user=buyer)
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "address_required"
    assert not Seat.objects.exists()
    opened = api.post(path, {"address_id": address_id}, user=buyer)
    assert opened.status_code == 201, opened.content
    assert Order.objects.get(buyer=buyer).ship_recipient == "收件人"


def test_joining_with_a_foreign_address_is_404_and_takes_nothing(api, opened, buyers):
    path = f"/deals/groups/groups/{opened.public_id}/join"
    answer = api.post(path, {"address_id": address_id_for(buyers[1])}, user=buyers[0])
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "address_not_found"
    _nothing_taken(opened.campaign, groups=1, seats=1)
