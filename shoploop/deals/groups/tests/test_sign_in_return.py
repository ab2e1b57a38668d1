"""A signed-out person who presses "Join" (or "Open a group") signs up and comes back to the
deal's confirm page, where "Confirm and pay" waits for their click (money is never moved
without it)."""

from urllib.parse import quote

from django.urls import reverse

from shoploop.accounts.models import User
from shoploop.accounts.testing import sign_up_through_the_pages
from shoploop.deals.groups.models import Seat
from shoploop.orders.tests.conftest import address_id_for

NEW_PHONE = "+8613212345678"


def test_join_signed_out_goes_to_sign_in_and_back_to_the_confirm_page(client, opened):
    confirm = reverse("deals_groups:join", args=[opened.public_id])
    response = client.get(confirm)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/sign-in/?next={quote(confirm, safe='')}"
    landed = sign_up_through_the_pages(client, phone=NEW_PHONE, next_url=confirm)
    assert landed.status_code == 302 and landed["Location"] == confirm
    page = client.get(confirm).content.decode()
    assert 'data-testid="confirm-and-pay"' in page
    newcomer = User.objects.get(phone=NEW_PHONE)
    assert not Seat.objects.filter(user=newcomer).exists()  # offered, not taken
    client.post(confirm, {"address": address_id_for(newcomer)})
    assert Seat.objects.filter(user=newcomer, group=opened).exists()


def test_a_signed_out_post_also_goes_to_sign_in_and_takes_nothing(client, opened):
    confirm = reverse("deals_groups:join", args=[opened.public_id])
    response = client.post(confirm)
    assert response["Location"] == f"/accounts/sign-in/?next={quote(confirm, safe='')}"
    assert Seat.objects.filter(group=opened).count() == 1  # the leader's only


def test_open_a_group_signed_out_comes_back_to_its_confirm_page(client, campaign):
    confirm = reverse("deals_groups:open", args=[campaign.public_id])
    response = client.get(confirm)
    assert response["Location"] == f"/accounts/sign-in/?next={quote(confirm, safe='')}"
    landed = sign_up_through_the_pages(client, phone=NEW_PHONE, next_url=confirm)
    assert landed["Location"] == confirm
    assert 'data-testid="confirm-and-pay"' in client.get(confirm).content.decode()
    assert not Seat.objects.exists()
