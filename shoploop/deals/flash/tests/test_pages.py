"""Flash-sale pages: product block, sale page and buy button, mine, merchant console."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils.timezone import localtime

from shoploop.core import clock
from shoploop.deals.flash import services
from shoploop.deals.flash.models import FlashPurchase, FlashSale
from shoploop.orders.tests.conftest import address_id_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _product_url(sale) -> str:
    return reverse("catalog:product", args=[sale.sku.product.public_id])


def test_product_page_shows_a_countdown_before_the_start(client, make_sale):
    sale = make_sale(starts_in=timedelta(minutes=30))
    html = client.get(_product_url(sale)).content.decode()
    assert 'data-testid="flash-block"' in html
    assert "data-countdown" in html and localtime(sale.starts_at).isoformat()[:16] in html
    assert "Buy now" not in html and "¥19.90" in html


def test_product_page_shows_remaining_stock_and_a_buy_button_during_the_sale(client, make_sale):
    sale = make_sale(stock=7)
    html = client.get(_product_url(sale)).content.decode()
    assert 'data-testid="flash-remaining"' in html and "7 left" in html
    assert reverse("deals_flash:buy", args=[sale.public_id]) in html


def test_product_page_says_sold_out(client, make_sale, buyer):
    sale = make_sale(stock=1)
    services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    html = client.get(_product_url(sale)).content.decode()
    assert 'data-testid="flash-sold-out"' in html and "Buy now" not in html


def test_product_without_a_sale_has_no_block(client, sku):
    html = client.get(reverse("catalog:product", args=[sku.product.public_id])).content.decode()
    assert 'data-testid="flash-block"' not in html


def test_buy_button_goes_to_the_cashier_and_mine_lists_the_order(client, sale, buyer):
    client.force_login(buyer)
    response = client.post(
        reverse("deals_flash:buy", args=[sale.public_id]), {"address": address_id_for(buyer)}
    )
    assert response.status_code == 302
    purchase = FlashPurchase.objects.get(buyer=buyer)
    assert purchase.order.checkout.payment_public_id in response["Location"]
    html = client.get(reverse("deals_flash:mine")).content.decode()
    assert reverse("orders:detail", args=[purchase.order.public_id]) in html


def test_buying_twice_shows_the_limit_message(client, sale, buyer):
    client.force_login(buyer)
    url = reverse("deals_flash:buy", args=[sale.public_id])
    client.post(url, {"address": address_id_for(buyer)})
    page = client.post(url, {"address": address_id_for(buyer)}, follow=True)
    assert page.status_code == 200
    assert "at most 1" in " ".join(str(m) for m in page.context["messages"])
    assert FlashPurchase.objects.filter(buyer=buyer).count() == 1


def test_the_buy_button_gives_way_to_a_message_once_the_limit_is_held(client, make_sale, buyer):
    sale = make_sale(stock=10, limit=2)
    client.force_login(buyer)
    for url in (_product_url(sale), reverse("deals_flash:detail", args=[sale.public_id])):
        html = client.get(url).content.decode()
        assert "Buy now" in html and 'max="2"' in html
    services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    html = client.get(_product_url(sale)).content.decode()
    assert "Buy now" in html and 'data-testid="flash-limit-reached"' not in html  # one more
    services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    for url in (_product_url(sale), reverse("deals_flash:detail", args=[sale.public_id])):
        html = client.get(url).content.decode()
        assert "Buy now" not in html
        assert 'data-testid="flash-limit-reached"' in html
        assert "You hold the limit of 2 per person for this sale." in html
        assert reverse("deals_flash:mine") in html


def test_a_released_reservation_brings_the_buy_button_back(client, sale, buyer):
    purchase = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    client.force_login(buyer)
    assert "Buy now" not in client.get(_product_url(sale)).content.decode()
    services.release_unpaid(purchase.reserved_until)
    assert "Buy now" in client.get(_product_url(sale)).content.decode()


def test_the_merchant_sees_no_buy_button_on_their_own_sale(client, sale, merchant):
    client.force_login(merchant)
    html = client.get(_product_url(sale)).content.decode()
    assert "Buy now" not in html and 'data-testid="flash-own-shop"' in html


def test_the_payment_window_on_the_page_is_the_setting(client, make_sale, buyer, settings):
    settings.DEALS_FLASH_PAYMENT_MINUTES = 12
    sale = make_sale(stock=1)
    assert "Pay within 12 minutes" in client.get(_product_url(sale)).content.decode()
    purchase = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    assert purchase.reserved_until == purchase.created_at + timedelta(minutes=12)
    html = client.get(_product_url(sale)).content.decode()
    assert "Units not paid within 12 minutes come back" in html


def test_anonymous_buy_asks_to_sign_in(client, sale):
    response = client.post(reverse("deals_flash:buy", args=[sale.public_id]))
    assert response.status_code == 302 and "/accounts/" in response["Location"]
    assert not FlashPurchase.objects.exists()


def test_sale_page_and_unknown_sale(client, sale):
    assert client.get(reverse("deals_flash:detail", args=[sale.public_id])).status_code == 200
    assert client.get(reverse("deals_flash:detail", args=["nope"])).status_code == 404


def test_console_creates_and_shows_live_counts(client, merchant, shop, make_sku, buyer):
    sku = make_sku(shop=shop, price_fen=5900, stock=10)
    client.force_login(merchant)
    page = client.get(reverse("deals_flash:console"))
    assert page.status_code == 200 and sku.public_id in page.content.decode()
    response = client.post(
        reverse("deals_flash:console"),
        {
            "sku_id": sku.public_id,
            "price": "19.90",
            "stock": "4",
            "per_user_limit": "1",
            "starts_in_minutes": "0",
            "duration_minutes": "60",
        },
    )
    assert response.status_code == 302
    sale = FlashSale.objects.get()
    assert (sale.price_fen, sale.stock) == (1990, 4)
    services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    counts = client.get(reverse("deals_flash:console_counts")).content.decode()
    assert 'hx-trigger="every 5s"' in counts
    assert "left 3" in counts and "awaiting payment 1" in counts


def test_console_shows_bad_input_and_changes_nothing(client, merchant, shop, make_sku):
    sku = make_sku(shop=shop, price_fen=5900, stock=10)
    client.force_login(merchant)
    page = client.post(
        reverse("deals_flash:console"),
        {"sku_id": sku.public_id, "price": "80", "stock": "4", "duration_minutes": "60"},
        follow=True,
    )
    assert "below the normal price" in page.content.decode()
    assert not FlashSale.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"duration_minutes": "99999999999999999999"},
        {"starts_in_minutes": "99999999999999999999"},
        {"starts_in_minutes": "-5"},
        {"duration_minutes": "0"},
        {"duration_minutes": "abc"},
        {"stock": "x"},
        {"per_user_limit": "0"},
        {"price": "-1"},
    ],
)
def test_console_refuses_nonsense_numbers_with_a_message(client, merchant, shop, make_sku, changes):
    sku = make_sku(shop=shop, price_fen=5900, stock=10)
    client.force_login(merchant)
    form = {
        "sku_id": sku.public_id,
        "price": "19.90",
        "stock": "4",
        "per_user_limit": "1",
        "starts_in_minutes": "0",
        "duration_minutes": "60",
        **changes,
    }
    page = client.post(reverse("deals_flash:console"), form)
    assert page.status_code == 200
    assert list(page.context["messages"])
    assert not FlashSale.objects.exists()


def test_console_pause_and_end_and_403_for_another_merchant(client, sale, merchant, other_merchant):
    client.force_login(other_merchant)
    url = reverse("deals_flash:console_action", args=[sale.public_id, "pause"])
    assert client.post(url).status_code == 403
    client.force_login(merchant)
    assert client.post(url).status_code == 302
    assert FlashSale.objects.get(pk=sale.pk).state == FlashSale.State.PAUSED
    client.post(reverse("deals_flash:console_action", args=[sale.public_id, "end"]))
    assert FlashSale.objects.get(pk=sale.pk).state == FlashSale.State.ENDED
    html = client.get(reverse("deals_flash:console")).content.decode()
    assert "Ended" in html


def test_hub_pages_link_to_flash(client, merchant, buyer):
    client.force_login(buyer)
    assert reverse("deals_flash:mine") in client.get(reverse("deals:mine")).content.decode()
    client.force_login(merchant)
    assert reverse("deals_flash:console") in client.get(reverse("deals:console")).content.decode()


def test_pages_after_the_end(client, make_sale):
    sale = make_sale()
    with clock.frozen_at(sale.ends_at + timedelta(minutes=1)):
        html = client.get(reverse("deals_flash:detail", args=[sale.public_id])).content.decode()
    assert "has ended" in html
