import pytest

from shoploop.accounts import selectors, services
from shoploop.accounts.models import Block, Follow
from shoploop.core import errors
from shoploop.core.events import recorded_events


def test_following_publishes_and_shows_in_selectors(user, other_user):
    with recorded_events() as events:
        services.follow(follower=user, followee=other_user)
    assert [(e.name, e.payload) for e in events] == [
        (
            "accounts.user.followed",
            {"follower_public_id": user.public_id, "followee_public_id": other_user.public_id},
        )
    ]
    assert selectors.following_ids(user) == {other_user.pk}
    assert selectors.following_ids(other_user) == set()
    assert [link.follower for link in selectors.follower_links(other_user)] == [user]
    assert [link.followee for link in selectors.following_links(user)] == [other_user]
    assert list(selectors.followers(other_user)) == [user]
    assert list(selectors.followed_users(user)) == [other_user]


def test_following_twice_is_an_error_and_changes_nothing(user, other_user):
    services.follow(follower=user, followee=other_user)
    with pytest.raises(errors.Conflict) as caught, recorded_events() as events:
        services.follow(follower=user, followee=other_user)
    assert caught.value.code == "already_following"
    assert Follow.objects.count() == 1
    assert events == []


def test_one_cannot_follow_oneself(user):
    with pytest.raises(errors.ValidationFailed) as caught:
        services.follow(follower=user, followee=user)
    assert caught.value.code == "cannot_follow_self"
    assert not Follow.objects.exists()


def test_a_blocked_user_cannot_follow_the_blocker_and_vice_versa(user, other_user):
    services.block(blocker=user, blocked=other_user)
    for follower, followee in ((other_user, user), (user, other_user)):
        with pytest.raises(errors.PermissionDenied) as caught:
            services.follow(follower=follower, followee=followee)
        assert caught.value.code == "blocked"
    assert not Follow.objects.exists()


def test_blocking_removes_follows_both_ways(user, other_user, make_user):
    bystander = make_user()
    services.follow(follower=user, followee=other_user)
    services.follow(follower=other_user, followee=user)
    services.follow(follower=bystander, followee=user)
    with recorded_events() as events:
        services.block(blocker=user, blocked=other_user)
    assert [e.name for e in events] == ["accounts.user.blocked"]
    assert list(Follow.objects.values_list("follower", "followee")) == [(bystander.pk, user.pk)]


def test_block_selectors(user, other_user, make_user):
    third = make_user()
    services.block(blocker=user, blocked=other_user)
    assert selectors.is_blocked(blocker=user, user=other_user)
    assert not selectors.is_blocked(blocker=other_user, user=user)
    assert selectors.blocked_either_way(user, other_user)
    assert selectors.blocked_either_way(other_user, user)
    assert not selectors.blocked_either_way(user, third)
    assert selectors.blocked_ids(other_user) == {user.pk}


def test_blocking_twice_self_and_unblocking(user, other_user):
    services.block(blocker=user, blocked=other_user)
    with pytest.raises(errors.Conflict) as caught:
        services.block(blocker=user, blocked=other_user)
    assert caught.value.code == "already_blocked"
    with pytest.raises(errors.ValidationFailed) as caught:
        services.block(blocker=user, blocked=user)
    assert caught.value.code == "cannot_block_self"
    services.unblock(blocker=user, blocked=other_user)
    assert not Block.objects.exists()
    with pytest.raises(errors.Conflict) as caught:
        services.unblock(blocker=user, blocked=other_user)
    assert caught.value.code == "not_blocked"
    services.follow(follower=other_user, followee=user)


def test_unfollowing(user, other_user):
    services.follow(follower=user, followee=other_user)
    services.unfollow(follower=user, followee=other_user)
    assert not Follow.objects.exists()
    with pytest.raises(errors.Conflict) as caught:
        services.unfollow(follower=user, followee=other_user)
    assert caught.value.code == "not_following"


def test_banned_people_cannot_be_followed_and_leave_the_lists(user, other_user, operator):
    services.follow(follower=user, followee=other_user)
    services.ban_user(user=user, actor=operator)
    assert list(selectors.follower_links(other_user)) == []
    with pytest.raises(errors.ValidationFailed) as caught:
        services.follow(follower=other_user, followee=user)
    assert caught.value.code == "user_unavailable"


def test_profile_summary_counts_and_flags(user, other_user, make_user):
    services.follow(follower=user, followee=other_user)
    services.follow(follower=make_user(), followee=other_user)
    summary = selectors.profile_summary(user=other_user, viewer=user)
    assert (summary.follower_count, summary.following_count) == (2, 0)
    assert summary.viewer_follows and not summary.is_self and not summary.viewer_blocked
    assert selectors.profile_summary(user=user, viewer=user).is_self
