"""``simulate``'s progress bar ends exactly at its total, a log line is printed above it instead
of into it, and every demo product has a picture."""

import logging
import re
import sys

import pytest
from django.core.management import call_command

from shoploop.catalog.models import Product
from shoploop.simulation.activities import DEFAULT_ACTIVITIES

USERS, DAYS = 40, 5


@pytest.mark.django_db
def test_the_bar_counts_activity_days_to_exactly_its_total_without_a_kombu_warning(
    capsys, caplog, tmp_path
):
    caplog.set_level(logging.WARNING)
    call_command("simulate", users=USERS, days=DAYS, world_file=tmp_path / "world.json")
    bar = capsys.readouterr().err.replace("\r", "\n")
    total = DAYS * len(DEFAULT_ACTIVITIES)
    counts = [(int(done), int(of)) for done, of in re.findall(r"\| (\d+)/(\d+) \[", bar)]
    assert counts, bar
    assert {of for _done, of in counts} == {total}
    assert max(done for done, _of in counts) == total == counts[-1][0]
    assert re.search(rf"{total}/{total} .* \d+ calls\]", bar)
    # The embedded broker URL names a host: kombu has nothing to warn about, in the bar or the log.
    assert "kombu" not in bar
    assert not [r for r in caplog.records if r.name.startswith("kombu")]
    assert Product.objects.exists()
    assert not Product.objects.filter(images__isnull=True).exists()


@pytest.mark.django_db
def test_a_warning_logged_while_the_world_plays_is_printed_above_the_bar(
    capsys, monkeypatch, tmp_path
):
    from shoploop.simulation.world import World

    flush = World.flush

    def flush_and_warn(world):
        flush(world)
        logging.getLogger("shoploop.simulation").warning("a real problem on day end")

    monkeypatch.setattr(World, "flush", flush_and_warn)
    # The root console handler writes to the stream the bar uses (both captured here).
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:
            monkeypatch.setattr(handler, "stream", sys.stderr)
    call_command("simulate", users=USERS, days=2, world_file=tmp_path / "world.json")
    lines = capsys.readouterr().err.replace("\r", "\n").splitlines()
    warnings = [line for line in lines if "a real problem on day end" in line]
    assert warnings
    assert all(line.startswith(tuple("0123456789")) for line in warnings), warnings
