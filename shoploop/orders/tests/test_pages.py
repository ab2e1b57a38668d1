"""Pages: cart, checkout with a one-time token, order pages for buyers and merchants."""

import pytest
from django.urls import reverse

from shoploop.catalog.models import SKU
from shoploop.orders import selectors, services
from shoploop.orders.models import AfterSale, Checkout, Order

pytestmark = pytest.mark.django_db


def test_cart_page_replaces_coming_soon(client, buyer, sku):
    client.force_login(buyer)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    page = client.get("/cart/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "手冲咖啡豆" in html and "¥118.00" in html and reverse("orders:confirm") in html


def test_anonymous_cart_page_works_and_asks_to_sign_in(client, sku):
    client.post("/cart/add/", {"sku_id": sku.public_id, "quantity": "1"})
    html = client.get("/cart/").content.decode()
    assert "手冲咖啡豆" in html and "/accounts/" in html


def test_add_with_bad_quantity_shows_the_message(client, buyer, sku):
    client.force_login(buyer)
    page = client.post("/cart/add/", {"sku_id": sku.public_id, "quantity": "abc"}, follow=True)
    assert page.status_code == 200
    assert list(page.context["messages"])
    assert not selectors.cart_view(user=buyer).groups


def test_update_and_remove_line(client, buyer, sku):
    client.force_login(buyer)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    client.post(f"/cart/lines/{sku.public_id}/", {"quantity": "4"})
    assert selectors.cart_view(user=buyer).count == 4
    client.post(f"/cart/lines/{sku.public_id}/", {"quantity": "100"})
    assert selectors.cart_view(user=buyer).count == 4
    client.post(f"/cart/lines/{sku.public_id}/", {"remove": "1"})
    assert selectors.cart_view(user=buyer).is_empty


def test_double_click_on_checkout_makes_one_checkout(client, buyer, sku, ship_to):
    client.force_login(buyer)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    form = {"token": "tok-1", "address": ship_to(buyer)}
    first = client.post("/cart/checkout/", form)
    second = client.post("/cart/checkout/", form)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Checkout.objects.count() == 1 and SKU.objects.get(pk=sku.pk).stock == 9


def test_checkout_out_of_stock_shows_message(client, buyer, sku, ship_to):
    client.force_login(buyer)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=3)
    SKU.objects.filter(pk=sku.pk).update(stock=1)
    form = {"token": "tok-2", "address": ship_to(buyer)}
    page = client.post("/cart/checkout/", form, follow=True)
    assert "手冲咖啡豆" in " ".join(str(m) for m in page.context["messages"])
    assert not Checkout.objects.exists()


def test_confirm_page_shows_lines_options_address_and_amount(client, buyer, sku, make_address):
    client.force_login(buyer)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    make_address(buyer)
    other = make_address(buyer, recipient_name="李四", street="第二街 2 号")
    response = client.get("/cart/confirm/")
    html = response.content.decode()
    assert "手冲咖啡豆" in html and "250g" in html and "¥118.00" in html
    assert "王小明" in html and "李四" in html
    assert response.context["quote"].address.recipient_name == "王小明"  # the default
    chosen = client.get("/cart/confirm/", {"chosen": "1", "address": other.public_id})
    assert chosen.context["quote"].address == other
    assert f'name="address" value="{other.public_id}"' in chosen.content.decode()
    assert not Checkout.objects.exists() and SKU.objects.get(pk=sku.pk).stock == 10


def test_confirm_page_without_an_address_links_to_add_one_and_back(client, buyer, sku, english):
    client.force_login(buyer)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    response = client.get("/cart/confirm/")
    html = response.content.decode()
    assert "Add a delivery address to continue." in html
    assert f"{reverse('orders:address_add')}?next=" in html
    assert response.context["quote"].can_confirm is False


def test_confirm_with_another_users_address_starts_again(client, buyer, other_user, sku, ship_to):
    client.force_login(buyer)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    theirs = ship_to(other_user)
    response = client.get("/cart/confirm/", {"chosen": "1", "address": theirs})
    assert response.status_code == 302 and response.url == reverse("orders:confirm")
    posted = client.post("/cart/checkout/", {"token": "t", "address": theirs})
    assert posted.url == reverse("orders:confirm")
    assert not Checkout.objects.exists()


def test_confirm_with_an_empty_cart_goes_back_to_the_cart(client, buyer):
    client.force_login(buyer)
    response = client.get("/cart/confirm/")
    assert response.status_code == 302 and response.url == reverse("orders:cart")


def test_checkout_needs_sign_in(client, sku):
    response = client.post("/cart/checkout/", {"token": "t"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sign_in"))
    assert not Checkout.objects.exists()


@pytest.fixture
def paid_order(buyer, sku, place, pay):
    checkout = place((sku, 2))
    pay(checkout)
    return Order.objects.get(checkout=checkout)


def test_order_pages_for_buyer(client, buyer, paid_order):
    client.force_login(buyer)
    assert paid_order.public_id in client.get("/orders/").content.decode()
    detail = client.get(f"/orders/{paid_order.public_id}/").content.decode()
    assert "手冲咖啡豆" in detail
    assert f'action="/orders/{paid_order.public_id}/cancel/"' in detail


def test_strangers_get_403_and_unknown_404(client, paid_order, other_user):
    client.force_login(other_user)
    assert client.get(f"/orders/{paid_order.public_id}/").status_code == 403
    assert client.post(f"/orders/{paid_order.public_id}/cancel/").status_code == 403
    assert client.get("/orders/nope/").status_code == 404
    paid_order.refresh_from_db()
    assert paid_order.state == Order.State.PAID


def test_merchant_ships_from_the_queue_then_buyer_receives(client, buyer, paid_order):
    merchant = paid_order.shop.owner
    client.force_login(merchant)
    queue = client.get("/console/orders/").content.decode()
    assert paid_order.public_id in queue
    client.post(
        f"/orders/{paid_order.public_id}/ship/",
        {"carrier": "sf", "tracking_number": "SF123456789012", "next": "queue"},
    )
    paid_order.refresh_from_db()
    assert paid_order.state == Order.State.SHIPPED
    client.force_login(buyer)
    # the first tap only asks (and works without JavaScript); the second one confirms
    asked = client.post(f"/orders/{paid_order.public_id}/receive/")
    assert asked.status_code == 200 and 'name="confirm" value="1"' in asked.content.decode()
    paid_order.refresh_from_db()
    assert paid_order.state == Order.State.SHIPPED
    client.post(f"/orders/{paid_order.public_id}/receive/", {"confirm": "1"})
    paid_order.refresh_from_db()
    assert paid_order.state == Order.State.RECEIVED


def test_after_sale_request_and_merchant_reject_from_pages(client, buyer, paid_order):
    order = paid_order
    services.ship_order(
        order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    services.confirm_receipt(order=order, actor=buyer)
    client.force_login(buyer)
    line = order.lines.get()
    client.post(
        f"/orders/{order.public_id}/after-sale/",
        {
            "kind": "refund_only",
            "reason_code": "other",
            "reason": "<b>坏了</b>",
            f"qty_{line.public_id}": "1",
        },
    )
    after_sale = AfterSale.objects.get()
    detail = client.get(f"/orders/{order.public_id}/").content.decode()
    assert "&lt;b&gt;坏了&lt;/b&gt;" in detail and "<b>坏了</b>" not in detail
    client.force_login(order.shop.owner)
    assert after_sale.public_id in client.get("/console/after-sales/").content.decode()
    client.post(f"/after-sales/{after_sale.public_id}/reject/", {"reason": "不行"})
    after_sale.refresh_from_db()
    assert after_sale.state == "rejected"


def test_merchant_pages_need_a_shop(client, other_user):
    client.force_login(other_user)
    assert client.get("/console/orders/").status_code == 403
    assert client.get("/console/after-sales/").status_code == 403


def test_unpaid_order_page_links_to_the_cashier(client, buyer, sku, place, other_user):
    checkout = place((sku, 1))
    order = checkout.orders.get()
    client.force_login(buyer)
    detail = client.get(f"/orders/{order.public_id}/").content.decode()
    assert f"/orders/{order.public_id}/pay/" in detail
    response = client.get(f"/orders/{order.public_id}/pay/")
    assert response.status_code == 302 and checkout.payment_public_id in response["Location"]
    client.force_login(other_user)
    assert client.get(f"/orders/{order.public_id}/pay/").status_code == 403


def test_from_the_product_page_into_the_cart(client, buyer, sku):
    client.force_login(buyer)
    product_page = client.get(f"/p/{sku.product.public_id}/", HTTP_ACCEPT_LANGUAGE="en")
    html = product_page.content.decode()
    assert 'action="/cart/add/"' in html and f'value="{sku.public_id}"' in html
    added = client.post("/cart/add/", {"sku_id": sku.public_id, "quantity": "2"}, follow=True)
    assert added.status_code == 200
    assert sku.product.title in added.content.decode()


def test_a_sold_out_product_offers_no_add_to_cart(client, buyer, make_sku, shop):
    sold_out = make_sku(shop=shop, stock=0, title="售罄")
    html = client.get(f"/p/{sold_out.product.public_id}/").content.decode()
    assert 'action="/cart/add/"' not in html


def test_a_checkout_post_without_the_confirm_token_goes_back_to_confirm(client, buyer, english):
    from shoploop.orders.models import Checkout

    client.force_login(buyer)
    response = client.post("/cart/checkout/", {})
    assert response.status_code == 302 and response["Location"].endswith("/cart/confirm/")
    assert not Checkout.objects.filter(buyer=buyer).exists()
