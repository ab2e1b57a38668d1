"""PostgreSQL races: many people join at the same moment; the count must stay exact."""

import pytest

from shoploop.communities import services
from shoploop.communities.models import Community, Membership
from shoploop.core.testing import race

THREADS = 30


def _run_together(workers):
    """Run each zero-argument callable in its own thread at once; return what they raised."""
    outcomes = race(lambda index: workers[index](), len(workers))
    return [outcome for outcome in outcomes if isinstance(outcome, Exception)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_people_join_at_once(make_user):
    community = services.create_community(actor=make_user(), name="Crowd", tags=["crowd"])
    people = [make_user() for _ in range(THREADS)]

    def joiner(person):
        return lambda: services.join_community(actor=person, community=community)

    errors = _run_together([joiner(p) for p in people])
    assert errors == []
    community.refresh_from_db()
    assert Membership.objects.filter(community=community, state="active").count() == THREADS + 1
    assert community.member_count == THREADS + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_person_joins_thirty_times_at_once(make_user):
    community = services.create_community(actor=make_user(), name="Crowd", tags=["crowd"])
    person = make_user()
    errors = _run_together(
        [lambda: services.join_community(actor=person, community=community)] * THREADS
    )
    assert len(errors) == THREADS - 1
    assert {getattr(e, "code", None) for e in errors} == {"already_member"}
    assert Community.objects.get(pk=community.pk).member_count == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_invite_with_limited_uses_is_not_overused(make_user):
    owner = make_user()
    community = services.create_community(
        actor=owner, name="Crowd", tags=["crowd"], visibility="invite"
    )
    invite = services.create_invite(actor=owner, community=community, max_uses=5)
    people = [make_user() for _ in range(THREADS)]
    errors = _run_together(
        [lambda p=p: services.join_by_invite(actor=p, code=invite.code) for p in people]
    )
    assert len(errors) == THREADS - 5
    invite.refresh_from_db()
    community.refresh_from_db()
    assert invite.use_count == 5
    assert community.member_count == 6
    assert Membership.objects.filter(community=community, state="active").count() == 6
