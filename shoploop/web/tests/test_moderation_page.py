"""The owner's moderation page: members are searched by name or phone suffix and paginated."""

import pytest
from django.urls import reverse

from shoploop.communities import services
from shoploop.web.tests import worlds

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowded(make_user, monkeypatch):
    """A community of an owner, a moderator and 7 members, shown 3 to a page."""
    monkeypatch.setattr("shoploop.communities.views.MEMBERS_PER_PAGE", 3)
    owner = make_user(display_name="Owner Olga", phone="+8613900000001")
    community = worlds.community(owner=owner, name="Tea friends")
    moderator = make_user(display_name="Mod Mei", phone="+8613900000002")
    worlds.join(user=moderator, community=community)
    services.promote_moderator(actor=owner, community=community, user=moderator)
    members = []
    for number in range(7):
        member = make_user(display_name=f"Member {number}", phone=f"+861390000{number:04d}9")
        worlds.join(user=member, community=community)
        members.append(member)
    return community, owner, members


def _members_section(html: str) -> str:
    return html.split('id="members"')[1].split("</ul>")[0]


def _get(client, community, **params):
    url = reverse("communities:moderation", args=[community.public_id])
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def test_members_are_paginated_owner_and_moderators_first(client, english, crowded):
    community, owner, _members = crowded
    client.force_login(owner)
    first = _members_section(_get(client, community))
    assert first.count('<li><div class="row">') == 3
    assert first.index("Owner Olga") < first.index("Mod Mei") < first.index("Member 0")
    html = _get(client, community, page=3)
    assert "Page 3 of 3" in html
    assert "Member 4" in _members_section(html) and "Member 6" in _members_section(html)
    assert 'href="?page=2#members-heading"' in html


def test_search_by_name_keeps_the_query_in_page_links(client, english, crowded):
    community, owner, _members = crowded
    client.force_login(owner)
    html = _get(client, community, q="member")
    assert "7 members match “member”." in html
    assert 'href="?q=member&amp;page=2#members-heading"' in html
    assert "Owner Olga" not in _members_section(html)


def test_search_by_phone_suffix(client, english, crowded):
    community, owner, _members = crowded
    client.force_login(owner)
    section = _members_section(_get(client, community, q="00049"))
    assert "Member 4" in section
    assert section.count('<li><div class="row">') == 1


def test_a_search_without_matches_says_so(client, english, crowded):
    community, owner, _members = crowded
    client.force_login(owner)
    html = _get(client, community, q="nobody")
    assert "No members found." in _members_section(html)
    assert "0 members match “nobody”." in html


def test_a_bad_page_number_shows_the_first_page(client, english, crowded):
    community, owner, _members = crowded
    client.force_login(owner)
    assert "Page 1 of 3" in _get(client, community, page="junk")
