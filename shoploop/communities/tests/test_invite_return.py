"""A signed-out person who presses "Join" on an invite link signs up and is a member when they
come back: they asked to join, so the invite is accepted on their return (once)."""

from django.urls import reverse

from shoploop.accounts.models import User
from shoploop.accounts.testing import sign_up_through_the_pages
from shoploop.communities import services
from shoploop.communities.models import Membership

NEW_PHONE = "+8613212345679"


def test_an_invite_pressed_before_sign_up_is_accepted_after_it(client, community, owner):
    invite = services.create_invite(actor=owner, community=community)
    invite_page = reverse("communities:invite", args=[invite.code])
    response = client.post(invite_page)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/")
    landed = sign_up_through_the_pages(client, phone=NEW_PHONE, next_url=invite_page)
    assert landed["Location"] == invite_page
    back = client.get(invite_page)
    assert back.status_code == 302
    assert back["Location"] == reverse("communities:detail", args=[community.public_id])
    newcomer = User.objects.get(phone=NEW_PHONE)
    membership = Membership.objects.get(user=newcomer, community=community)
    assert membership.state == Membership.State.ACTIVE
    again = client.get(invite_page)  # the remembered action is used up
    assert again.status_code == 200


def test_opening_an_invite_link_alone_never_joins(client, community, owner, make_user):
    invite = services.create_invite(actor=owner, community=community)
    visitor = make_user()
    client.force_login(visitor)
    page = client.get(reverse("communities:invite", args=[invite.code]))
    assert page.status_code == 200
    assert not Membership.objects.filter(user=visitor, community=community).exists()


def test_the_community_page_sign_in_link_comes_back_to_the_community(client, community):
    page = reverse("communities:detail", args=[community.public_id])
    assert f"/accounts/sign-in/?next={page}" in client.get(page).content.decode().replace(
        "%2F", "/"
    )
    landed = sign_up_through_the_pages(client, phone=NEW_PHONE, next_url=page)
    assert landed["Location"] == page
