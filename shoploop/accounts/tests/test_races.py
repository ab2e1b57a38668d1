"""Races on PostgreSQL: real threads started together by a barrier."""

import pytest

from shoploop.accounts import services
from shoploop.accounts.models import OneTimeCode, User
from shoploop.accounts.selectors import latest_debug_code
from shoploop.core import errors
from shoploop.core.testing import race

PHONE = "+8613512345678"


def _race(count, work):
    """Outcomes as values or DomainError codes, which is what these assertions compare."""
    outcomes = race(lambda _index: work(), count)
    return [o.code if isinstance(o, errors.DomainError) else o for o in outcomes]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_wrong_guesses_cost_at_most_five_tries():
    services.send_code(phone=PHONE)
    code = latest_debug_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    outcomes = _race(10, lambda: services.verify_code(accept_terms=True, phone=PHONE, code=wrong))
    assert len(outcomes) == 10
    assert outcomes.count("code_wrong") <= 5
    assert set(outcomes) <= {"code_wrong", "code_exhausted"}
    assert OneTimeCode.objects.get().wrong_tries == 5
    with pytest.raises(errors.ValidationFailed) as caught:
        services.verify_code(accept_terms=True, phone=PHONE, code=code)
    assert caught.value.code == "code_exhausted"
    assert not User.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_code_signs_in_once_and_makes_one_account():
    services.send_code(phone=PHONE)
    code = latest_debug_code(PHONE)
    outcomes = _race(
        8, lambda: services.verify_code(accept_terms=True, phone=PHONE, code=code).user.pk
    )
    assert User.objects.count() == 1
    assert sum(1 for outcome in outcomes if isinstance(outcome, int)) == 1
    assert set(outcomes) - {User.objects.get().pk} <= {"code_used", "code_exhausted"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_respect_the_resend_interval():
    outcomes = _race(8, lambda: services.send_code(phone=PHONE, ip="10.0.0.1").pk)
    assert OneTimeCode.objects.count() == 1
    assert sorted(map(str, outcomes)).count("rate_limited") == 7
