"""The demo world: deterministic per seed, every state present, domain invariants hold."""

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q

from shoploop.catalog.models import SKU, Product, Shop
from shoploop.communities.models import Community, Membership
from shoploop.ledger.models import Account, AccountKind, Payment
from shoploop.ledger.services import open_account
from shoploop.orders.models import Order
from shoploop.simulation import engine
from shoploop.simulation.digest import money_content, world_digest
from shoploop.simulation.engine import plan_world, play_world
from shoploop.simulation.parameters import WorldParameters

SMALL = {"users": 40, "days": 5}


@pytest.fixture
def simulate(tmp_path):
    """``simulate(seed=…)`` runs the command on a small world and returns (stdout, world.json)."""

    def run(*, seed: int = 7, **options):
        out = io.StringIO()
        world_file = tmp_path / f"world-{seed}.json"
        call_command(
            "simulate",
            seed=seed,
            quiet=True,
            world_file=world_file,
            stdout=out,
            **{**SMALL, **options},
        )
        summary = json.loads(world_file.read_text()) if world_file.exists() else None
        return out.getvalue(), summary

    return run


def _wipe():
    call_command("flush", interactive=False, verbosity=0)


def _login_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("  ")]


# Two weeks with people who buy often, so that orders, payments, coupons and payouts exist.
MONEY_WORLD = {"users": 40, "days": 14, "param": ["purchase_propensity=0.15"]}


@pytest.mark.django_db(transaction=True)
def test_same_seed_builds_the_same_world_and_money_and_another_seed_a_different_one(simulate):
    first_out, _ = simulate(seed=11, **MONEY_WORLD)
    first, money = world_digest(), money_content()
    assert Order.objects.filter(paid_at__isnull=False).exists()
    assert money["payments"] and money["orders"] and money["coupons"]
    _wipe()
    second_out, _ = simulate(seed=11, **MONEY_WORLD)
    assert money_content() == money
    assert world_digest() == first
    assert _login_lines(second_out) == _login_lines(first_out)
    _wipe()
    simulate(seed=12, **MONEY_WORLD)
    assert world_digest() != first
    assert money_content()["orders"] != money["orders"]


@pytest.mark.django_db
def test_world_file_holds_the_parameters_and_the_money_outcomes(simulate):
    stdout, summary = simulate(days=8)
    parameters = summary["parameters"]
    assert parameters["purchase_propensity"] == WorldParameters().purchase_propensity
    assert set(parameters["payment_outcome_shares"]) == {"approve", "decline", "never_pay"}
    money = summary["money"]
    for key in ("orders_by_state", "gmv_fen", "refunds_by_state", "platform_fees_fen"):
        assert key in money
    assert money["coupon_redemptions"]["count"] >= 0
    assert sum(row["count"] for row in money["orders_by_state"].values()) == Order.objects.count()
    assert money["payments_by_state"].get("succeeded", {}).get("count", 0) == (
        Payment.objects.filter(state="succeeded").count()
    )
    assert summary["ledger"]["ok"] is True
    assert "verify_ledger:" in stdout and "problems=0" in stdout
    events = summary["events"]["by_name"]
    assert events["orders.order.placed"] == Order.objects.count()
    assert events["accounts.user.signed_up"] > 0
    assert all(len(name.split(".")) == 3 for name in events), sorted(events)


@pytest.mark.django_db
def test_a_world_whose_ledger_does_not_verify_fails_the_command(simulate, monkeypatch):
    def play_then_corrupt(world, activities):
        play_world(world, activities)
        # A fen appears from nowhere: the cached balance no longer matches the transfers.
        account = open_account(kind=AccountKind.PLATFORM_FEES)
        Account.objects.filter(pk=account.pk).update(credits_posted=F("credits_posted") + 1)

    monkeypatch.setattr(
        "shoploop.simulation.management.commands.simulate.play_world", play_then_corrupt
    )
    with pytest.raises(CommandError, match="ledger does not verify"):
        simulate(days=8)
    assert engine.play_world is play_world  # only the command's reference was replaced


@pytest.mark.django_db
def test_every_community_state_and_visibility_appears(simulate):
    simulate()
    states = set(Community.objects.values_list("state", flat=True))
    visibilities = set(Community.objects.values_list("visibility", flat=True))
    assert states == set(Community.State.values)
    assert visibilities == set(Community.Visibility.values)
    assert (
        Membership.objects.filter(role=Membership.Role.OWNER).count() == Community.objects.count()
    )
    assert Membership.objects.filter(state=Membership.State.REJECTED).exists()


@pytest.mark.django_db
def test_moderators_are_promoted_in_bigger_communities(simulate):
    simulate(users=120, days=4)
    assert Membership.objects.filter(role=Membership.Role.MODERATOR).exists()


@pytest.mark.django_db
def test_the_world_keeps_the_domain_invariants(simulate):
    simulate()
    counted = Community.objects.annotate(
        active=Count("memberships", filter=Q(memberships__state=Membership.State.ACTIVE))
    )
    assert [(c.name, c.member_count) for c in counted] == [(c.name, c.active) for c in counted]
    assert not SKU.objects.filter(stock__lt=0).exists()
    assert Product.objects.exists()
    assert not Product.objects.exclude(shop__status=Shop.Status.APPROVED).exists()
    assert not Product.objects.filter(is_published=True, skus__isnull=True).exists()
    # A product is only offered where its shop is listed.
    for product in Product.objects.prefetch_related("communities", "shop__communities"):
        assert set(product.communities.all()) <= set(product.shop.communities.all())


@pytest.mark.django_db
def test_timestamps_fall_on_the_simulated_days(simulate):
    _, summary = simulate()
    start = plan_world(WorldParameters(seed=7, **SMALL))[0].start
    end = start + timedelta(days=SMALL["days"])
    joined = get_user_model().objects.values_list("date_joined", flat=True)
    assert all(start <= moment < end for moment in joined)
    created = Community.objects.values_list("created_at", flat=True)
    assert all(start <= moment < end for moment in created)
    assert summary["start"] == start.isoformat()


@pytest.mark.django_db
def test_demo_logins_are_a_buyer_a_merchant_with_an_approved_shop_and_an_owner(simulate):
    stdout, summary = simulate()
    assert "sign in with the console code" in stdout
    assert len(_login_lines(stdout)) == 4
    logins = {row["role"]: row["phone"] for row in summary["demo_logins"]}
    users = get_user_model().objects
    operator_line = _login_lines(stdout)[-1]
    assert operator_line.split()[:2] == ["operator", logins["operator"]]
    assert "/admin/" in operator_line
    assert users.get(phone=logins["operator"]).is_staff
    merchant = users.get(phone=logins["merchant"])
    assert Shop.objects.get(owner=merchant).status == Shop.Status.APPROVED
    owner = users.get(phone=logins["owner"])
    assert Community.objects.filter(owner=owner, state=Community.State.ACTIVE).exists()
    buyer = users.get(phone=logins["buyer"])
    assert not Shop.objects.filter(owner=buyer).exists()
    assert Membership.objects.filter(user=buyer, state=Membership.State.ACTIVE).exists()
    assert users.filter(is_staff=True).count() == 1


@pytest.mark.django_db
def test_if_empty_leaves_a_populated_world_alone_and_prints_the_same_logins(simulate, tmp_path):
    first_out, _ = simulate()
    before = world_digest()
    counts = (get_user_model().objects.count(), Community.objects.count(), SKU.objects.count())
    again_out, _ = simulate(if_empty=True)
    assert world_digest() == before
    assert (get_user_model().objects.count(), Community.objects.count(), SKU.objects.count()) == (
        counts
    )
    assert _login_lines(again_out) == _login_lines(first_out)


@pytest.mark.django_db
def test_if_empty_without_world_file_re_derives_the_logins_from_the_seed(simulate, tmp_path):
    first_out, _ = simulate()
    (tmp_path / "world-7.json").unlink()
    again_out, summary = simulate(if_empty=True)
    assert summary is None  # nothing was written: the world was left alone
    assert _login_lines(again_out) == _login_lines(first_out)


@pytest.mark.django_db
def test_if_empty_on_an_empty_database_builds_the_world(simulate):
    simulate(if_empty=True)
    assert get_user_model().objects.count() == SMALL["users"] + 1  # and the operator


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [{"users": 0}, {"days": 0}, {"users": -5}])
def test_absurd_sizes_are_refused_and_nothing_is_written(simulate, bad):
    with pytest.raises(CommandError):
        simulate(**bad)
    assert not get_user_model().objects.exists()


def test_planning_is_pure_and_follows_the_seed():
    params = WorldParameters(seed=3, users=200, days=10)
    first, _ = plan_world(params)
    second, _ = plan_world(params)
    other, _ = plan_world(WorldParameters(seed=4, users=200, days=10))
    people = [(p.phone, p.name, p.interests, p.join_day) for p in first.people]
    assert people == [(p.phone, p.name, p.interests, p.join_day) for p in second.people]
    assert people != [(p.phone, p.name, p.interests, p.join_day) for p in other.people]
    assert len({p.phone for p in first.people} | {first.operator.phone}) == 201
    english = sum(person.locale == "en" for person in first.people)
    assert 0 < english < 60  # about 10 %


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(("from_users", "analyzed"), [(5, 2), (6, 0)])
def test_a_big_world_refreshes_the_planners_statistics_after_each_day(
    monkeypatch, from_users, analyzed
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(engine, "ANALYZE_FROM_USERS", from_users)
    world, activities = plan_world(WorldParameters(seed=7, users=5, days=2))
    with CaptureQueriesContext(connection) as queries:
        play_world(world, activities)
    assert sum(query["sql"] == "ANALYZE" for query in queries.captured_queries) == analyzed
