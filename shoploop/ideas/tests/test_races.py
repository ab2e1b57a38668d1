"""Races on PostgreSQL: one person's votes (or wants) raced by many threads count once; many
people voting at once are all counted; a vote raced against the idea's closing is either counted
before it or refused."""

import threading

import pytest
from django.db import connection

from shoploop.catalog import services as catalog
from shoploop.core.errors import DomainError
from shoploop.ideas import services
from shoploop.ideas.models import Idea, IdeaVote, Want, WantedProduct

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 8


def _race(actions) -> list:
    barrier = threading.Barrier(len(actions))
    outcomes = []

    def run(action):
        try:
            barrier.wait()
            outcomes.append(action())
        except DomainError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_one_person_voting_many_times_at_once_is_one_vote(idea, fan):
    outcomes = _race([lambda: services.vote(actor=fan, idea=idea).pk] * THREADS)
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["already_voted"] * (THREADS - 1)
    assert IdeaVote.objects.filter(idea=idea).count() == 1
    assert Idea.objects.get(pk=idea.pk).vote_count == 1


def test_many_people_voting_at_once_are_all_counted(idea, shop, old_user):
    voters = [old_user(f"粉丝{i}") for i in range(THREADS)]
    for voter in voters:
        catalog.follow_shop(actor=voter, shop=shop)
    outcomes = _race(
        [lambda voter=voter: services.vote(actor=voter, idea=idea).pk for voter in voters]
    )
    assert not [o for o in outcomes if isinstance(o, str)]
    assert Idea.objects.get(pk=idea.pk).vote_count == IdeaVote.objects.filter(idea=idea).count()
    assert IdeaVote.objects.filter(idea=idea).count() == THREADS


def test_votes_raced_against_declining_never_count_on_a_closed_idea(idea, shop, merchant, old_user):
    voters = [old_user(f"粉丝{i}") for i in range(THREADS - 1)]
    for voter in voters:
        catalog.follow_shop(actor=voter, shop=shop)

    def decline():
        return services.change_status(
            actor=merchant, idea=idea, status="declined", reason="做不了"
        ).status

    votes = [lambda voter=voter: services.vote(actor=voter, idea=idea).pk for voter in voters]
    outcomes = _race([decline, *votes])
    assert "declined" in outcomes
    closed = Idea.objects.get(pk=idea.pk)
    assert closed.status == "declined"
    assert closed.vote_count == IdeaVote.objects.filter(idea=idea).count()
    assert set(o for o in outcomes if isinstance(o, str)) <= {"declined", "idea_closed"}


def test_one_person_wanting_many_times_at_once_is_one_want(wanted, fan):
    action = lambda: services.add_want(actor=fan, wanted_product=wanted, price_band="50_100").pk  # noqa: E731
    outcomes = _race([action] * THREADS)
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["already_wanted"] * (THREADS - 1)
    assert Want.objects.filter(wanted_product=wanted).count() == 1
    assert WantedProduct.objects.get(pk=wanted.pk).want_count == 1
