"""A queryset compiled once and then only executed (shoploop/core/prepared.py)."""

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from shoploop.accounts.models import User
from shoploop.core.prepared import PreparedQuery

pytestmark = pytest.mark.django_db


def _active_by_phone(phone):
    return User.objects.filter(phone=phone, is_active=True).values_list("pk", "display_name")[:1]


def test_it_returns_what_the_queryset_returns_for_each_value(make_user):
    first = make_user(display_name="甲")
    second = make_user(display_name="乙")
    make_user(display_name="停用", is_active=False)
    prepared = PreparedQuery(_active_by_phone)
    for user in (first, second):
        assert prepared.first(user.phone) == (user.pk, user.display_name)
        assert prepared.rows(user.phone) == list(_active_by_phone(user.phone))
    inactive = User.objects.get(display_name="停用")
    assert prepared.first(inactive.phone) is None  # the other parameters are kept
    assert prepared.first("+8619999999999") is None
    assert prepared.first("' OR 1=1 --") is None  # a value is a parameter, never SQL


def test_the_queryset_is_built_and_compiled_once_and_then_only_executed(make_user):
    users = [make_user() for _ in range(3)]
    built = []

    def build(phone):
        built.append(phone)
        return _active_by_phone(phone)

    prepared = PreparedQuery(build)
    with CaptureQueriesContext(connection) as queries:
        for user in users:
            assert prepared.first(user.phone)[0] == user.pk
    assert len(built) == 1
    assert len(queries) == 3
    assert (
        len(
            {
                query["sql"].replace(str(u.phone), "?")
                for query, u in zip(queries, users, strict=True)
            }
        )
        == 1
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda value: User.objects.filter(phone="+8613800000001")[:1],
        lambda value: User.objects.filter(Q(phone=value) | Q(display_name=value))[:1],
    ],
    ids=["value unused", "value twice"],
)
def test_a_query_must_take_its_value_exactly_once(build):
    with pytest.raises(ValueError, match="exactly once"):
        PreparedQuery(build).rows("x")
