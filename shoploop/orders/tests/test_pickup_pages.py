"""Pickup pages: the confirm step offers the point, the buyer's code and QR, the 团长's list
and collect form, earnings, shop settings, the community's leaders page."""

import pytest
from django.urls import reverse

from shoploop.orders import services
from shoploop.orders.models import Order

pytestmark = pytest.mark.usefixtures("english")


def test_confirm_offers_the_point_and_checks_out_for_pickup(client, member_buyer, point, sku):
    services.add_to_cart(user=member_buyer, sku_public_id=sku.public_id, quantity=1)
    client.force_login(member_buyer)
    page = client.get(reverse("orders:confirm"))
    assert page.status_code == 200
    assert f'value="pickup:{point.public_id}"' in page.content.decode()
    chosen = client.get(
        reverse("orders:confirm"), {"chosen": "1", "address": f"pickup:{point.public_id}"}
    )
    html = chosen.content.decode()
    assert f'name="pickup_point" value="{point.public_id}"' in html
    assert "disabled" not in html.split("Confirm and pay")[0].rsplit("<button", 1)[1]
    placed = client.post(
        reverse("orders:checkout"),
        {
            "token": "t1",
            "chosen": "1",
            "delivery_method": "pickup",
            "pickup_point": point.public_id,
        },
    )
    assert placed.status_code == 302
    order = Order.objects.get(buyer=member_buyer)
    assert order.is_pickup and order.pickup_point == point


def test_the_buyer_sees_the_code_and_a_qr(client, pickup_checkout, pay, member_buyer, merchant):
    checkout = pickup_checkout()
    pay(checkout)
    order = checkout.orders.get()
    client.force_login(member_buyer)
    html = client.get(reverse("orders:detail", args=[order.public_id])).content.decode()
    assert order.pickup_code in html and "<svg" in html and "<script" not in html.split("<main")[-1]
    client.force_login(merchant)
    html = client.get(reverse("orders:detail", args=[order.public_id])).content.decode()
    assert order.pickup_code not in html
    assert 'data-testid="send-to-pickup"' in html
    sent = client.post(
        reverse("orders:ship", args=[order.public_id]), {"carrier": "", "tracking_number": ""}
    )
    assert sent.status_code == 302
    order.refresh_from_db()
    assert order.state == Order.State.SHIPPED


def test_the_leader_collects_on_the_point_page(client, shipped_pickup_order, leader, point):
    order = shipped_pickup_order
    client.force_login(leader)
    page = client.get(
        reverse("orders:pickup_point", args=[point.public_id]), {"code": order.pickup_code}
    )
    assert page.status_code == 200
    assert f'value="{order.pickup_code}"' in page.content.decode()
    wrong = client.post(reverse("orders:pickup_collect", args=[point.public_id]), {"code": "WRONG"})
    assert wrong.status_code == 422
    assert "No order at this pickup point has that code" in wrong.content.decode()
    done = client.post(
        reverse("orders:pickup_collect", args=[point.public_id]), {"code": order.pickup_code}
    )
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.state == Order.State.RECEIVED
    twice = client.post(
        reverse("orders:pickup_collect", args=[point.public_id]), {"code": order.pickup_code}
    )
    assert twice.status_code == 409


def test_another_person_cannot_open_the_point_page(client, point, member_buyer):
    client.force_login(member_buyer)
    assert client.get(reverse("orders:pickup_point", args=[point.public_id])).status_code == 404


def test_leader_home_new_point_and_earnings(client, leadership, leader, community):
    client.force_login(leader)
    home = client.get(reverse("orders:pickup_home"))
    assert community.name in home.content.decode()
    form = reverse("orders:pickup_point_new") + f"?community={community.public_id}"
    assert client.get(form).status_code == 200
    bad = client.post(
        form, {"community": community.public_id, "name": "", "address": "a", "hours": "h"}
    )
    assert bad.status_code == 422
    made = client.post(
        form,
        {
            "community": community.public_id,
            "name": "南门",
            "address": "南门",
            "hours": "全天",
            "is_active": "1",
        },
    )
    assert made.status_code == 302
    assert client.get(reverse("orders:pickup_earnings")).status_code == 200


def test_shop_pickup_settings_page(client, merchant, shop):
    client.force_login(merchant)
    assert client.get(reverse("orders:shop_pickup_settings")).status_code == 200
    saved = client.post(reverse("orders:shop_pickup_settings"), {"leader_commission_yuan": "1.5"})
    assert saved.status_code == 302
    row = services.shop_pickup_settings(shop=shop)
    assert row.offers_pickup is False and row.leader_commission_fen == 150
    bad = client.post(
        reverse("orders:shop_pickup_settings"),
        {"offers_pickup": "1", "leader_commission_yuan": "abc"},
    )
    assert bad.status_code == 422


def test_community_leaders_page(client, community_owner, community, leader):
    client.force_login(community_owner)
    page = client.get(reverse("communities:leaders", args=[community.public_id]))
    assert page.status_code == 200 and leader.public_id in page.content.decode()
    client.post(
        reverse("communities:leader_appoint", args=[community.public_id]),
        {"user": leader.public_id},
    )
    from shoploop.communities import selectors

    assert selectors.is_leader(user=leader, community=community)
    client.post(reverse("communities:leader_revoke", args=[community.public_id, leader.public_id]))
    assert not selectors.is_leader(user=leader, community=community)


def test_the_me_page_links_a_leader_to_their_points(client, leadership, leader, member_buyer):
    client.force_login(leader)
    assert reverse("orders:pickup_home") in client.get("/me/").content.decode()
    client.force_login(member_buyer)
    assert reverse("orders:pickup_home") not in client.get("/me/").content.decode()


def test_the_ship_queue_and_packing_list_name_the_point(
    client, pickup_checkout, pay, merchant, point
):
    pay(pickup_checkout())
    client.force_login(merchant)
    queue = client.get(reverse("orders:merchant_to_ship")).content.decode()
    assert 'data-testid="pickup-destination"' in queue and point.name in queue
    assert point.name in client.get(reverse("orders:merchant_packing_list")).content.decode()
    csv_text = client.get(reverse("orders:merchant_packing_list_csv")).content.decode()
    assert point.name in csv_text
