"""A signed-out friend who presses "Help" on a shared bargain signs up and comes back to the
bargain, where "Help cut the price" waits for their click."""

from urllib.parse import quote

from django.urls import reverse

from shoploop.accounts.models import User
from shoploop.accounts.testing import sign_up_through_the_pages
from shoploop.deals.bargains import services
from shoploop.deals.bargains.models import Help

NEW_PHONE = "+8613212345670"


def test_help_signed_out_goes_to_sign_up_and_back_to_the_bargain(client, campaign, buyer):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    page = reverse("deals_bargains:detail", args=[bargain.public_id])
    response = client.post(reverse("deals_bargains:help", args=[bargain.public_id]))
    assert response["Location"] == f"/accounts/sign-in/?next={quote(page, safe='')}"
    landed = sign_up_through_the_pages(client, phone=NEW_PHONE, next_url=page)
    assert landed["Location"] == page
    assert "data-help" in client.get(page).content.decode()
    assert not Help.objects.filter(helper=User.objects.get(phone=NEW_PHONE)).exists()
