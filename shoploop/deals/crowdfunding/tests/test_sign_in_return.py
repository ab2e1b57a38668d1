"""A signed-out person who backs a tier signs up and comes back to the tier's confirm page,
where "Confirm and pay" waits for their click (a pledge is money: never made without it)."""

from urllib.parse import quote

from django.urls import reverse

from shoploop.accounts.testing import sign_up_through_the_pages
from shoploop.deals.crowdfunding.models import Pledge


def test_backing_signed_out_comes_back_to_the_confirm_page(client, project):
    tier = project.tiers.first()
    page = reverse("deals_crowdfunding:back", args=[tier.public_id])
    response = client.get(page)
    assert response["Location"] == f"/accounts/sign-in/?next={quote(page, safe='')}"
    landed = sign_up_through_the_pages(client, phone="+8613212345672", next_url=page)
    assert landed["Location"] == page
    assert 'data-testid="confirm-and-pay"' in client.get(page).content.decode()
    assert not Pledge.objects.exists()
