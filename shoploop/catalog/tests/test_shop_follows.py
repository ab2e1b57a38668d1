"""Following a shop (粉丝): once per person, never one's own shop, announced after commit."""

import pytest

from shoploop.catalog import services
from shoploop.catalog.models import ShopFollow
from shoploop.core.errors import Conflict, NotAuthenticated, ValidationFailed
from shoploop.core.events import recorded_events

pytestmark = pytest.mark.django_db


def test_a_buyer_follows_a_shop_once_and_it_is_announced(shop, user):
    with recorded_events() as events:
        services.follow_shop(actor=user, shop=shop)
    assert [(e.name, e.payload) for e in events] == [
        (
            "catalog.shop.followed",
            {"user_public_id": user.public_id, "shop_public_id": shop.public_id},
        )
    ]
    with pytest.raises(Conflict) as error:
        services.follow_shop(actor=user, shop=shop)
    assert error.value.code == "already_following"
    assert ShopFollow.objects.filter(shop=shop).count() == 1


def test_unfollowing_removes_the_link_and_a_second_unfollow_is_refused(shop, user):
    services.follow_shop(actor=user, shop=shop)
    with recorded_events() as events:
        services.unfollow_shop(actor=user, shop=shop)
    assert [e.name for e in events] == ["catalog.shop.unfollowed"]
    assert not ShopFollow.objects.exists()
    with pytest.raises(Conflict) as error:
        services.unfollow_shop(actor=user, shop=shop)
    assert error.value.code == "not_following"


def test_an_owner_cannot_follow_their_own_shop(shop, merchant):
    with pytest.raises(ValidationFailed) as error:
        services.follow_shop(actor=merchant, shop=shop)
    assert error.value.code == "cannot_follow_own_shop"
    assert not ShopFollow.objects.exists()


def test_signed_out_visitors_cannot_follow(shop):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        services.follow_shop(actor=AnonymousUser(), shop=shop)
    assert not ShopFollow.objects.exists()
