"""The demo world plays sharing: links, visits, attributed purchases, commissions frozen and
released through the ledger, and the ledger verifies."""

import pytest
from django.core.management import call_command
from django.db.models import F

from shoploop.ledger.verification import verify_ledger
from shoploop.referrals.models import Attribution, Commission, ShareLink, ShareVisit
from shoploop.simulation.engine import plan_world, play_world
from shoploop.simulation.outcomes import sharing_outcomes
from shoploop.simulation.parameters import WorldParameters

SHARING = WorldParameters(
    seed=11,
    users=50,
    days=18,
    purchase_propensity=0.08,
    share_rate=0.25,
    share_visits_per_link=3.0,
    share_conversion=0.4,
    promoter_share=0.8,
    commission_shop_share=1.0,
    confirm_receipt_rate=1.0,
    payment_outcome_shares={"approve": 0.9, "decline": 0.05, "never_pay": 0.05},
)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        try:
            built, activities = plan_world(SHARING)
            play_world(built, activities)
            yield built
        finally:
            call_command("flush", interactive=False, verbosity=0)


pytestmark = pytest.mark.django_db


def test_people_share_friends_visit_and_some_buy(world):
    assert ShareLink.objects.exists() and ShareVisit.objects.exists()
    assert Attribution.objects.exists()
    # Never the buyer themself.
    assert not Attribution.objects.filter(sharer=F("order__buyer")).exists()
    outcomes = sharing_outcomes()
    assert outcomes["attributed_orders"] == Attribution.objects.count()


def test_promoters_earn_frozen_then_available_and_the_ledger_verifies(world):
    states = set(Commission.objects.values_list("state", flat=True))
    assert "frozen" in states or "available" in states
    assert Commission.objects.filter(level=1).exists()
    report = verify_ledger()
    assert report.ok, report.problems
    # Every commission row is reconciled: promoters' and 团长s' (pickup) alike.
    from shoploop.orders.models import LeaderCommission

    rows = Commission.objects.count() + LeaderCommission.objects.count()
    assert report.checked["commissions"] == rows
