"""Races on PostgreSQL: a like and a review raced by many threads leave exactly one row."""

import threading

import pytest
from django.db import connection

from shoploop.content import services
from shoploop.content.models import Post, PostLike, Review
from shoploop.core.errors import DomainError

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 6


def _race(action) -> list:
    barrier = threading.Barrier(THREADS)
    outcomes = []

    def run():
        try:
            barrier.wait()
            outcomes.append(action())
        except DomainError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_like_raced_is_one_row(member, owner, community):
    post = services.create_post(actor=member, community=community, body="x")
    outcomes = _race(lambda: services.like_post(actor=owner, post=post).pk)
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["already_liked"] * (THREADS - 1)
    assert PostLike.objects.filter(post=post).count() == 1
    assert Post.objects.get(pk=post.pk).like_count == 1


def test_a_review_raced_is_one_row(buyer, received_line):
    outcomes = _race(
        lambda: services.create_review(actor=buyer, order_line=received_line, stars=5).pk
    )
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["already_reviewed"] * (THREADS - 1)
    assert Review.objects.filter(order_line=received_line).count() == 1
