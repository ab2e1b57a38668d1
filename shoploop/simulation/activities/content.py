"""Attention: members post, comment, reply and like in their communities at rates drawn per
community; buyers review what they received and sometimes share the review into a community.

The rates are the ground truth the insights app should recover: ``world.content_rates`` (one entry
per community) goes to var/world.json. This activity draws from its own random generator, seeded
from the world's seed, so adding it leaves everything else the world does unchanged.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

from shoploop.content import services as content
from shoploop.content.models import Post
from shoploop.simulation.activities.base import Activity, own_stream

REVIEW_WITHIN_DAYS = 3
POST_SNIPPETS = (
    "今天到的新货，**真不错**。",
    "有人试过这个吗？\n\n- 口感\n- 价格\n- 包装",
    "分享一下我的心得，欢迎讨论。",
    "周末一起约吗？",
    "Just tried this — *highly* recommended.",
)
COMMENT_SNIPPETS = ("同意！", "谢谢分享", "求链接", "我也买了", "Nice!", "下次一起")
REVIEW_SNIPPETS = ("很好，会回购", "包装很用心", "一般般", "物流很快", "和描述一致", "")


class Attention(Activity):
    """Posts, comments, replies and likes per community; reviews and 晒单 by buyers."""

    name = "attention"

    def plan(self) -> None:
        world, params = self.world, self.world.params
        self.rng = own_stream(params.seed, "content")
        rates = {}
        for plan in world.communities:
            rates[plan.index] = {
                "community": plan.name,
                "post_rate": round(self.rng.uniform(*params.content_post_rate), 4),
                "comments_per_post": round(self.rng.uniform(*params.content_comments_per_post), 3),
                "like_rate": round(self.rng.uniform(*params.content_like_rate), 4),
            }
        world.content_rates = rates
        self.reviewed_until = None

    def play_day(self, day: int) -> None:
        self._posts(day)
        self._reviews(day)

    # -- community talk ----------------------------------------------------------------------
    def _posts(self, day: int) -> None:
        world, rng = self.world, self.rng
        for plan in world.communities:
            if plan.community is None or not plan.members:
                continue
            rate = world.content_rates[plan.index]
            authors = [m for m in plan.members if rng.random() < rate["post_rate"]]
            moments = world.moments(len(authors), rng=rng)
            for author, moment in zip(authors, moments, strict=True):
                post = world.call(
                    content.create_post,
                    at=moment,
                    outcome="content.post",
                    actor=world.user(author),
                    community=plan.community,
                    body=rng.choice(POST_SNIPPETS),
                )
                if post is not None:
                    self._talk(post, plan, rate, after=moment)

    def _talk(self, post: Post, plan, rate: dict, *, after) -> None:
        """Comments (some of them replies) and likes on a new post, later the same day."""
        world, rng, params = self.world, self.rng, self.world.params
        comments = _poisson(rng, rate["comments_per_post"])
        made = []
        for step in range(comments):
            moment = after + timedelta(minutes=5 * (step + 1) + rng.randint(0, 4))
            parent = (
                rng.choice(made) if made and rng.random() < params.content_reply_share else None
            )
            comment = world.call(
                content.add_comment,
                at=moment,
                outcome="content.reply" if parent else "content.comment",
                actor=world.user(rng.choice(plan.members)),
                post=post,
                body=rng.choice(COMMENT_SNIPPETS),
                parent=parent,
            )
            if comment is not None and comment.parent_id is None:
                made.append(comment)
        visitors = rng.sample(plan.members, min(len(plan.members), params.content_likers_sampled))
        for offset, visitor in enumerate(visitors):
            if rng.random() < rate["like_rate"]:
                world.call(
                    content.like_post,
                    at=after + timedelta(minutes=3 + offset),
                    outcome="content.like",
                    actor=world.user(visitor),
                    post=post,
                )

    # -- reviews -----------------------------------------------------------------------------
    def _reviews(self, day: int) -> None:
        """Lines received since the last look are reviewed (with ``review_rate``) on one of the
        next REVIEW_WITHIN_DAYS days, inside this activity's slice of that day."""
        from shoploop.orders.models import OrderLine

        world, rng, params = self.world, self.rng, self.world.params
        until = world.day_end(day)
        since = self.reviewed_until or world.start
        self.reviewed_until = until
        received = OrderLine.objects.filter(
            order__received_at__gte=since, order__received_at__lt=until
        ).exclude(product_public_id="")
        for line_id in received.order_by("order__received_at", "pk").values_list("pk", flat=True):
            if rng.random() < params.review_rate:
                world.schedule(
                    "content_review", day + rng.randint(0, REVIEW_WITHIN_DAYS - 1), line_id
                )
        due = world.due("content_review", day)
        lines = OrderLine.objects.select_related("order", "order__buyer", "order__shop").in_bulk(
            due
        )
        stars, weights = zip(
            *((int(k), v) for k, v in params.review_star_weights.items()), strict=True
        )
        for line_id, moment in zip(due, world.moments(len(due), rng=rng), strict=True):
            line = lines[line_id]
            review = world.call(
                content.create_review,
                at=moment,
                outcome="content.review",
                actor=line.order.buyer,
                order_line=line,
                stars=rng.choices(stars, weights)[0],
                body=rng.choice(REVIEW_SNIPPETS),
            )
            if review is not None and rng.random() < params.review_share_rate:
                self._share(review, at=moment + timedelta(minutes=2))

    def _share(self, review, *, at) -> None:
        world = self.world
        person = next((p.index for p in world.people if p.user_id == review.author_id), None)
        joined = world.memberships.get(person) if person is not None else None
        if not joined:
            world.outcomes["content.share.no_community"] += 1
            return
        plan = world.communities[self.rng.choice(joined)]
        world.call(
            content.share_review,
            at=at,
            outcome="content.share",
            actor=review.author,
            review=review,
            community=plan.community,
            body="晒单",
        )


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; the means here are small."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
