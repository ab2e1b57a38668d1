"""A signed-out person who presses "Join" on a shared group link signs up and comes back to the
group, where "Join" waits for their click (money is never moved without it)."""

from urllib.parse import quote

from django.urls import reverse

from shoploop.accounts.models import User
from shoploop.accounts.testing import sign_up_through_the_pages
from shoploop.deals.groups.models import Seat

NEW_PHONE = "+8613212345678"


def test_join_signed_out_goes_to_sign_in_and_back_to_the_group(client, opened):
    group_page = reverse("deals_groups:group", args=[opened.public_id])
    response = client.post(reverse("deals_groups:join", args=[opened.public_id]))
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/sign-in/?next={quote(group_page, safe='')}"
    landed = sign_up_through_the_pages(client, phone=NEW_PHONE, next_url=group_page)
    assert landed.status_code == 302 and landed["Location"] == group_page
    page = client.get(group_page).content.decode()
    assert 'data-testid="join"' in page
    newcomer = User.objects.get(phone=NEW_PHONE)
    assert not Seat.objects.filter(user=newcomer).exists()  # offered, not taken
    client.post(reverse("deals_groups:join", args=[opened.public_id]))
    assert Seat.objects.filter(user=newcomer, group=opened).exists()


def test_open_a_group_signed_out_comes_back_to_the_product(client, campaign):
    product_page = reverse("catalog:product", args=[campaign.sku.product.public_id])
    response = client.post(reverse("deals_groups:open", args=[campaign.public_id]))
    assert response["Location"] == f"/accounts/sign-in/?next={quote(product_page, safe='')}"
    landed = sign_up_through_the_pages(client, phone=NEW_PHONE, next_url=product_page)
    assert landed["Location"] == product_page
    assert 'data-testid="open-group-button"' in client.get(product_page).content.decode()
    assert not Seat.objects.exists()
