"""Loop truth on a small simulated world: insights, from the events alone, recovers what the
simulation played (exactly for the counts), and the command prints and gates it."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from shoploop.insights import truth
from shoploop.simulation.engine import plan_world, play_world, world_summary
from shoploop.simulation.parameters import WorldParameters

# Small, but with enough sharing that every figure has something to count, and people who shop
# on their own too: a friend who opened a link often buys the same product another way (a flash
# sale, a group) within the day, which insights rightly counts as brought by the link.
PARAMS = WorldParameters(seed=3, users=60, days=8, share_rate=0.3)


@pytest.fixture(scope="module")
def played(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, played once for the module (it commits; flushed when the module is done), and
    its file."""
    with django_db_blocker.unblock():
        try:
            world, activities = plan_world(PARAMS)
            play_world(world, activities)
            path = tmp_path_factory.mktemp("loop_truth") / "world.json"
            path.write_text(json.dumps(world_summary(world), default=str), encoding="utf-8")
            yield path
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def world_file(played, db, tmp_path):
    """A copy of the played world's file for one test (which may edit it); the rollups a test
    writes are rolled back with it."""
    path = tmp_path / "world.json"
    path.write_bytes(played.read_bytes())
    return path


def run(world_file, **options) -> str:
    out = io.StringIO()
    try:
        call_command("loop_truth", world_file=world_file, stdout=out, **options)
    finally:
        print(out.getvalue())  # the table, when a test fails
    return out.getvalue()


def test_insights_recovers_the_played_counts_exactly(world_file):
    output = run(world_file)

    world = json.loads(world_file.read_text())
    rows = {row.name: row for row in truth.compare(world)}
    assert ", 0 outside" in output
    played = world["loop_played"]
    assert played["user_days"] > 0
    for name in (
        "person-days that could share",
        "links shared",
        "visits through links",
        "purchases links brought",
        "share rate (links per person-day)",
        "visits per link",
        "visit → purchase conversion",
        "viral coefficient (purchases brought per person-day)",
    ):
        assert rows[name].recovered == rows[name].played, name
    for name, row in rows.items():
        if name.startswith("community "):
            assert row.recovered == row.played, name
    assert rows["links shared"].played > 20
    small = sum(not row.gated for row in rows.values())
    assert small > 0
    assert f": {small}, {small} exact, {small} within ±5%, 0 outside" in output
    assert rows["purchases links brought"].played > 10


def test_the_rule_counts_purchases_made_another_way_that_the_draws_did_not_cause(world_file):
    caused, brought = truth.caused_by_draws(json.loads(world_file.read_text()))
    assert 0 < caused < brought
    assert f"of the {brought} purchases links brought" in run(world_file)


def test_a_world_played_with_another_link_window_is_refused(world_file, settings):
    settings.INSIGHTS_LINK_PURCHASE_HOURS = 1
    with pytest.raises(CommandError, match=r"24\.0 h link window"):
        run(world_file)


def test_a_figure_off_by_more_than_five_percent_fails(world_file):
    world = json.loads(world_file.read_text())
    world["loop_played"]["user_days"] = int(world["loop_played"]["user_days"] * 1.2)
    world_file.write_text(json.dumps(world), encoding="utf-8")

    with pytest.raises(CommandError, match="more than 5 % off"):
        run(world_file)


def test_a_world_file_without_played_figures_is_an_error(tmp_path, db):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"parameters": {}}), encoding="utf-8")
    with pytest.raises(CommandError, match="no loop_played"):
        run(path)


def test_simulate_param_overrides_numeric_knobs_only():
    from shoploop.simulation.management.commands.simulate import parse_params

    assert parse_params(["feed_open_rate=0", "users_per_community=80"]) == {
        "feed_open_rate": 0.0,
        "users_per_community": 80,
    }
    for bad in ("nothing=1", "visibility_shares=1", "share_rate=lots"):
        with pytest.raises(CommandError):
            parse_params([bad])
