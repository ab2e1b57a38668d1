"""The attention stage in the demo world: posts, comments, replies, likes, reviews and 晒单 happen
at the rates each community drew, and the rates are recorded for insights to recover."""

import pytest
from django.core.management import call_command

from shoploop.content.models import Comment, Post, PostLike, Review
from shoploop.simulation.engine import plan_world, play_world, world_summary
from shoploop.simulation.parameters import WorldParameters

# Eager buyers who confirm quickly and always review, so reviews and shares appear in 12 days.
TALKATIVE = WorldParameters(
    seed=11,
    users=40,
    days=12,
    purchase_propensity=0.2,
    ship_delay_days=(1, 1),
    confirm_receipt_rate=1.0,
    confirm_delay_days=(1, 2),
    after_sale_rate=0.0,
    review_rate=1.0,
    review_share_rate=0.5,
)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        try:
            built, activities = plan_world(TALKATIVE)
            play_world(built, activities)
            yield built
        finally:
            call_command("flush", interactive=False, verbosity=0)


pytestmark = pytest.mark.django_db


def test_rates_are_drawn_per_community_within_the_ranges_and_recorded(world):
    rates = world_summary(world)["content_rates"]
    assert len(rates) == len(world.communities)
    low, high = TALKATIVE.content_post_rate
    assert all(low <= r["post_rate"] <= high for r in rates)
    assert len({r["post_rate"] for r in rates}) > 1


def test_people_post_comment_reply_and_like(world):
    outcomes = world.outcomes
    assert Post.objects.filter(review__isnull=True).count() == outcomes["content.post"] > 0
    assert Comment.objects.filter(parent__isnull=True).count() == outcomes["content.comment"] > 0
    assert Comment.objects.filter(parent__isnull=False).count() == outcomes["content.reply"] > 0
    assert PostLike.objects.count() == outcomes["content.like"] > 0


def test_buyers_review_what_they_received_and_share_some(world):
    assert Review.objects.count() == world.outcomes["content.review"] > 0
    for review in Review.objects.select_related("order_line__order"):
        assert review.order_line.order.buyer_id == review.author_id
        assert review.order_line.order.received_at <= review.created_at
    assert Post.objects.filter(review__isnull=False).count() == world.outcomes["content.share"]


def test_the_same_seed_plays_the_same_talk(world):
    again, _activities = plan_world(TALKATIVE)
    assert again.content_rates == world.content_rates
