import pytest
from django.contrib.auth.models import AnonymousUser

from shoploop.accounts.models import Block, Follow
from shoploop.communities import selectors, services

pytestmark = pytest.mark.django_db


def test_is_member_and_is_moderator(community, owner, member, moderator, other_user):
    assert selectors.is_member(user=member, community=community)
    assert not selectors.is_moderator(user=member, community=community)
    assert selectors.is_moderator(user=moderator, community=community)
    assert selectors.is_moderator(user=owner, community=community)
    assert not selectors.is_member(user=other_user, community=community)
    assert not selectors.is_member(user=AnonymousUser(), community=community)


def test_for_you_by_shared_tags(make_community, make_user):
    me = make_user()
    mine = make_community(name="Mine", tags=["hiking", "coffee"])
    services.join_community(actor=me, community=mine)
    hiking = make_community(name="Hikers", tags=["hiking"])
    make_community(name="Knitting", tags=["knitting"])
    items = selectors.communities_for_you(user=me, limit=20)
    by_name = {item.community.name: item for item in items}
    assert "Mine" not in by_name
    assert by_name["Hikers"].kind == "tags"
    assert by_name["Hikers"].reason == "because you like #hiking"
    assert by_name["Knitting"].kind == "popular"
    assert items[0].community == hiking


def test_for_you_by_people_followed(make_community, make_user):
    me = make_user()
    friends = [make_user() for _ in range(3)]
    popular = make_community(name="Popular", tags=["x"])
    for _ in range(5):
        services.join_community(actor=make_user(), community=popular)
    cosy = make_community(name="Cosy", tags=["y"])
    for friend in friends:
        Follow.objects.create(follower=me, followee=friend)
        services.join_community(actor=friend, community=cosy)
    items = selectors.communities_for_you(user=me)
    assert items[0].community == cosy
    assert items[0].reason == "3 people you follow are here"
    assert items[1].community == popular and items[1].kind == "popular"


def test_for_you_excludes_invite_only_banned_and_blocking_owner(make_community, make_user):
    me = make_user()
    hidden = make_community(name="Hidden", visibility="invite")
    banned_from = make_community(name="Banned")
    services.ban_member(actor=banned_from.owner, community=banned_from, user=me)
    blocker = make_community(name="Blocker")
    Block.objects.create(blocker=blocker.owner, blocked=me)
    shown = make_community(name="Open")
    names = {item.community.name for item in selectors.communities_for_you(user=me)}
    assert names == {shown.name}
    assert hidden


def test_for_you_anonymous_gets_popular(community):
    items = selectors.communities_for_you(user=AnonymousUser())
    assert [(i.community, i.kind) for i in items] == [(community, "popular")]


def test_search(make_community):
    coffee = make_community(name="Coffee club", tags=["coffee"])
    make_community(name="Tea house", tags=["tea"], description="No coffee here")
    make_community(name="Secret coffee", visibility="invite")
    assert {c.name for c in selectors.search_communities(query="COFFEE")} == {
        "Coffee club",
        "Tea house",
    }
    assert selectors.search_communities(query="coffee", tag="#Coffee") == [coffee]
    assert selectors.search_communities(query="x" * 10_000) == []
    assert selectors.search_communities(query="", tag="nothing") == []
