"""A signed-out person who presses "Buy" on a flash sale signs up and comes back to its confirm
page, where buying waits for their click."""

from urllib.parse import quote

from django.urls import reverse

from shoploop.accounts.testing import sign_up_through_the_pages
from shoploop.deals.flash.models import FlashPurchase


def test_buy_signed_out_comes_back_to_the_confirm_page(client, sale):
    page = reverse("deals_flash:buy", args=[sale.public_id]) + "?quantity=1"
    response = client.get(page)
    assert response["Location"] == f"/accounts/sign-in/?next={quote(page, safe='')}"
    landed = sign_up_through_the_pages(client, phone="+8613212345671", next_url=page)
    assert landed["Location"] == page
    assert 'data-testid="confirm-and-pay"' in client.get(page).content.decode()
    assert not FlashPurchase.objects.exists()
