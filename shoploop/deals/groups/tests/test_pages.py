"""Group buying pages: product block, group page, join, my groups, merchant console."""

import re
from datetime import timedelta

import pytest

from shoploop.accounts.tests.images import image_upload
from shoploop.catalog import services as catalog_services
from shoploop.deals.groups import services
from shoploop.deals.groups.models import GroupCampaign, Seat
from shoploop.orders.tests.conftest import address_id_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_product_page_offers_to_open_a_group_and_lists_open_groups(client, campaign, opened, sku):
    html = client.get(f"/p/{sku.product.public_id}/").content.decode()
    assert 'data-testid="group-block"' in html
    assert "¥39.00" in html
    assert f"/groups/c/{campaign.public_id}/open/" in html
    assert f"/groups/g/{opened.public_id}/" in html


def test_open_groups_are_listed_nearly_full_first(client, make_campaign, sku, buyers, pay):
    campaign = make_campaign(sku=sku, group_size=4)
    groups = []
    for leader in buyers[:2]:
        seat = services.open_group(
            campaign=campaign, user=leader, address_id=address_id_for(leader)
        )
        pay(seat.order.checkout)
        groups.append(seat.group)
    pay(
        services.join_group(
            group=groups[1], user=buyers[5], address_id=address_id_for(buyers[5])
        ).order.checkout
    )
    html = client.get(f"/p/{sku.product.public_id}/").content.decode()
    assert html.index(groups[1].public_id) < html.index(groups[0].public_id)


def test_group_page_shows_members_more_needed_countdown_share_and_join(client, opened, buyers):
    client.force_login(buyers[0])
    page = client.get(f"/groups/g/{opened.public_id}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "买家小王" in html
    assert 'data-testid="more-needed"' in html and "2 more needed" in html
    assert "data-countdown" in html
    assert f"http://testserver/groups/g/{opened.public_id}/" in html
    assert 'data-testid="join"' in html
    assert "never add invented members" in html


def test_no_join_button_on_ones_own_group(client, opened, buyer, sku):
    client.force_login(buyer)  # the leader
    html = client.get(f"/p/{sku.product.public_id}/").content.decode()
    assert f"/groups/g/{opened.public_id}/join/" not in html
    assert 'data-testid="join-refused"' in html and "You opened this group" in html
    page = client.get(f"/groups/g/{opened.public_id}/").content.decode()
    assert 'data-testid="join"' not in page


def test_join_and_open_give_way_to_a_message_once_the_limit_is_held(
    client, campaign, opened, buyers, pay, sku
):
    other = services.open_group(
        campaign=campaign, user=buyers[1], address_id=address_id_for(buyers[1])
    )
    pay(other.order.checkout)
    services.join_group(
        group=opened, user=buyers[0], address_id=address_id_for(buyers[0])
    )  # the limit is 1 seat per buyer
    client.force_login(buyers[0])
    html = client.get(f"/p/{sku.product.public_id}/").content.decode()
    assert f"/groups/g/{other.group.public_id}/join/" not in html
    assert f"/groups/c/{campaign.public_id}/open/" not in html
    assert 'data-testid="open-refused"' in html
    assert "You already hold as many seats in this campaign as a buyer may." in html
    page = client.get(f"/groups/g/{other.group.public_id}/").content.decode()
    assert 'data-testid="join"' not in page and 'data-testid="join-refused"' in page
    assert "as many seats in this campaign as a buyer may" in page


def test_the_merchant_sees_no_join_or_open_button_on_their_campaign(
    client, opened, merchant, campaign, sku
):
    client.force_login(merchant)
    html = client.get(f"/p/{sku.product.public_id}/").content.decode()
    assert f"/groups/c/{campaign.public_id}/open/" not in html
    assert f"/groups/g/{opened.public_id}/join/" not in html
    assert "You cannot buy from your own shop." in html


def test_the_seat_hold_on_the_page_is_the_setting(client, opened, buyers, settings):
    settings.DEALS_GROUP_SEAT_HOLD_MINUTES = 9
    seat = services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    assert seat.reserved_until == seat.created_at + timedelta(minutes=9)
    client.force_login(buyers[0])
    html = client.get(f"/groups/g/{opened.public_id}/").content.decode()
    assert "Your seat is held for 9 minutes." in html


def test_group_page_shows_the_picture_what_each_member_pays_and_the_empty_seats(
    client, make_campaign, sku, buyers, pay, merchant, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    catalog_services.add_product_image(product=sku.product, actor=merchant, upload=image_upload())
    campaign = make_campaign(sku=sku, group_size=4, leader_price_fen=2900)
    leader = services.open_group(
        campaign=campaign, user=buyers[0], address_id=address_id_for(buyers[0])
    )
    pay(leader.order.checkout)
    services.join_group(group=leader.group, user=buyers[1], address_id=address_id_for(buyers[1]))
    html = client.get(f"/groups/g/{leader.group.public_id}/").content.decode()
    assert 'data-testid="group-cover"' in html and "/media/products/" in html
    prices = re.findall(r'data-testid="member-price">([^<]+)<', html)
    assert prices == ["¥29.00", "¥39.00"]  # the leader first, at the leader price
    assert html.count('data-testid="empty-seat"') == 2 and "Open seat" in html


def test_a_failed_group_shows_no_empty_seats_and_nobody_paid(
    client, opened, buyers, pay, committed
):
    pay(
        services.join_group(
            group=opened, user=buyers[0], address_id=address_id_for(buyers[0])
        ).order.checkout
    )
    with committed():
        services.settle_groups(opened.deadline)
    html = client.get(f"/groups/g/{opened.public_id}/").content.decode()
    assert "every member was refunded in full" in html
    assert 'data-testid="empty-seat"' not in html and 'data-testid="member-price"' not in html


def test_group_page_says_when_the_k_rule_applies(client, make_campaign, sku, buyer, pay):
    campaign = make_campaign(sku=sku, group_size=4, min_paid_to_complete=2)
    seat = services.open_group(campaign=campaign, user=buyer, address_id=address_id_for(buyer))
    html = client.get(f"/groups/g/{seat.group.public_id}/").content.decode()
    assert 'data-testid="k-rule"' in html and "at least 2 members" in html


def test_joining_from_the_page_goes_to_the_cashier(client, opened, buyers):
    client.force_login(buyers[0])
    answer = client.post(
        f"/groups/g/{opened.public_id}/join/", {"address": address_id_for(buyers[0])}
    )
    assert answer.status_code == 302
    seat = Seat.objects.get(user=buyers[0])
    assert f"next=/groups/g/{opened.public_id}/" in answer["Location"].replace("%2F", "/")
    page = client.get(f"/groups/g/{opened.public_id}/").content.decode()
    assert 'data-testid="pay-seat"' in page
    assert seat.state == Seat.State.RESERVED


def test_join_error_is_shown_on_the_page(client, opened, buyer):
    client.force_login(buyer)
    page = client.post(
        f"/groups/g/{opened.public_id}/join/", {"address": address_id_for(buyer)}, follow=True
    )
    assert "You opened this group" in page.content.decode()


def test_opening_from_the_product_page(client, campaign, buyer):
    client.force_login(buyer)
    answer = client.post(
        f"/groups/c/{campaign.public_id}/open/", {"address": address_id_for(buyer)}
    )
    assert answer.status_code == 302
    assert Seat.objects.get(user=buyer).is_leader


def test_my_groups_page(client, opened, buyer):
    client.force_login(buyer)
    html = client.get("/groups/mine/").content.decode()
    assert 'data-testid="my-group"' in html and "手冲咖啡豆" in html
    hub = client.get("/deals/mine/").content.decode()
    assert "/groups/mine/" in hub


def test_console_creates_pauses_and_polls_live_counts(client, merchant, sku):
    client.force_login(merchant)
    page = client.get("/console/groups/")
    assert page.status_code == 200
    client.post(
        "/console/groups/",
        {
            "sku_id": sku.public_id,
            "group_price": "39",
            "group_size": "3",
            "group_minutes": "60",
            "stock": "4",
            "per_user_limit": "1",
            "starts_in_minutes": "0",
            "duration_days": "7",
        },
    )
    campaign = GroupCampaign.objects.get()
    assert (campaign.group_price_fen, campaign.stock, campaign.group_minutes) == (3900, 4, 60)
    rows = client.get("/console/groups/rows/").content.decode()
    assert 'hx-trigger="every 5s"' in rows and "open groups 0" in rows
    client.post(f"/console/groups/{campaign.public_id}/pause/")
    campaign.refresh_from_db()
    assert campaign.state == "paused"
    assert "/console/groups/" in client.get("/console/campaigns/").content.decode()


def test_console_shows_bad_input_and_creates_nothing(client, merchant, sku):
    client.force_login(merchant)
    page = client.post(
        "/console/groups/",
        {"sku_id": sku.public_id, "group_price": "99", "group_size": "3", "stock": "4"},
        follow=True,
    )
    assert "below the normal price" in page.content.decode()
    assert not GroupCampaign.objects.exists()


def test_other_merchant_cannot_act_on_a_campaign(client, other_merchant, other_shop, campaign):
    client.force_login(other_merchant)
    answer = client.post(f"/console/groups/{campaign.public_id}/end/")
    assert answer.status_code == 403
    campaign.refresh_from_db()
    assert campaign.state == "active"


def test_community_page_lists_open_groups_of_its_campaigns(client, make_campaign, sku, buyers, pay):
    from shoploop.communities import services as community_services

    community = community_services.create_community(actor=buyers[5], name="茶友会", tags=["茶"])
    community_services.join_community(actor=buyers[0], community=community)
    campaign = make_campaign(sku=sku, communities=[community])
    seat = services.open_group(
        campaign=campaign, user=buyers[0], address_id=address_id_for(buyers[0])
    )
    html = client.get(f"/c/{community.public_id}/").content.decode()
    assert f"/groups/g/{seat.group.public_id}/" not in html  # the leader has not paid yet
    pay(seat.order.checkout)
    html = client.get(f"/c/{community.public_id}/").content.decode()
    assert 'data-testid="group-block"' in html
    assert f"/groups/g/{seat.group.public_id}/" in html
