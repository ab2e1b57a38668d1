"""Privacy: "show my purchases and deals to my followers" is off until the person turns it on,
from the profile page (a plain checkbox) or the API (``PATCH /accounts/me``)."""

import pytest
from django.urls import reverse

from shoploop.accounts import services

pytestmark = [pytest.mark.django_db]


def test_sharing_is_off_by_default_and_the_service_turns_it_on_and_off(user):
    assert user.share_activity_with_followers is False
    services.update_profile(actor=user, share_activity_with_followers=True)
    user.refresh_from_db()
    assert user.share_activity_with_followers is True
    services.update_profile(actor=user, bio="tea")  # other changes leave the choice alone
    user.refresh_from_db()
    assert user.share_activity_with_followers is True
    services.update_profile(actor=user, share_activity_with_followers=False)
    user.refresh_from_db()
    assert user.share_activity_with_followers is False


@pytest.mark.usefixtures("english")
def test_the_profile_page_explains_the_choice_and_saves_it(client, user):
    client.force_login(user)
    url = reverse("accounts:edit_profile")
    html = client.get(url).content.decode()
    assert 'name="share_activity_with_followers"' in html
    assert "Show my purchases and deals to my followers" in html
    assert "never shown" in html
    box = 'name="share_activity_with_followers" aria-describedby="share-activity-help"'
    assert f"{box} checked" not in html
    form = {"display_name": "小王", "bio": "", "locale": "", "share_activity_with_followers": "on"}
    assert client.post(url, form).status_code == 302
    user.refresh_from_db()
    assert user.share_activity_with_followers is True
    assert "checked" in client.get(url).content.decode()
    del form["share_activity_with_followers"]  # an unticked box sends nothing: off
    client.post(url, form)
    user.refresh_from_db()
    assert user.share_activity_with_followers is False


def test_the_api_shows_and_changes_the_choice(api, user):
    assert api.get("/accounts/me", user=user).json()["share_activity_with_followers"] is False
    answer = api.patch("/accounts/me", {"share_activity_with_followers": True}, user=user)
    assert answer.status_code == 200 and answer.json()["share_activity_with_followers"] is True
    answer = api.patch("/accounts/me", {"bio": "hi"}, user=user)
    assert answer.json()["share_activity_with_followers"] is True
    bad = api.patch("/accounts/me", {"share_activity_with_followers": "maybe"}, user=user)
    assert bad.status_code == 422
    user.refresh_from_db()
    assert user.share_activity_with_followers is True
