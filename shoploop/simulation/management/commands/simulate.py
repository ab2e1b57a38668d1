"""``manage.py simulate``: build the seeded demo world through services (simulation.world)."""

import dataclasses
import json
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from shoploop.ledger.verification import verify_ledger
from shoploop.simulation.engine import (
    demo_login_rows,
    plan_world,
    play_world,
    total_steps,
    world_summary,
    write_world_file,
)
from shoploop.simulation.parameters import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_USERS,
    WorldParameters,
)

LOGIN_NOTE = "sign in with the console code: in DEBUG the sign-in page shows it"


def default_world_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "world.json"


def parse_params(pairs: list[str]) -> dict[str, float | int]:
    """``["feed_open_rate=0"]`` → ``{"feed_open_rate": 0.0}``: numeric knobs only, by their
    declared type."""
    fields = {f.name: f.type for f in dataclasses.fields(WorldParameters)}
    found: dict[str, float | int] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        kind = fields.get(name.strip())
        if kind not in ("int", "float", int, float):
            raise CommandError(f"--param {pair}: not a numeric parameter of the world.")
        try:
            found[name.strip()] = int(value) if kind in ("int", int) else float(value)
        except ValueError:
            raise CommandError(f"--param {pair}: {value!r} is not a number.") from None
    return found


class Command(BaseCommand):
    help = "Build the seeded demo world by calling services only; print three demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=DEFAULT_USERS)
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if there are users already."
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bar or summary.")
        parser.add_argument(
            "--world-file", type=Path, default=None, help="Where to write world.json."
        )
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="Override a number in WorldParameters (e.g. feed_open_rate=0); repeatable.",
        )

    def handle(self, *args, users, days, seed, if_empty, quiet, world_file, param, **options):
        if users < 1 or days < 1:
            raise CommandError("--users and --days must be at least 1.")
        params = WorldParameters(seed=seed, users=users, days=days, **parse_params(param))
        world_file = Path(world_file or default_world_file())
        if if_empty and get_user_model().objects.exists():
            if not quiet:
                self.stderr.write("Users exist already: the world is left as it is.")
            self._print_logins(self._stored_logins(world_file) or self._planned_logins(params))
            return
        started = time.perf_counter()
        world, activities = plan_world(params)
        progress = tqdm(
            total=total_steps(world, activities),
            desc="simulate",
            unit="step",
            file=sys.stderr,
            disable=quiet,
            dynamic_ncols=True,
        )
        # Log records (a warning from a library, a failed deadline handler) are printed above the
        # bar through tqdm instead of being torn into it.
        with progress, logging_redirect_tqdm(tqdm_class=tqdm):
            world.progress = progress
            play_world(world, activities)
        ledger = verify_ledger()
        summary = world_summary(world, seconds=time.perf_counter() - started, ledger=ledger)
        write_world_file(world_file, summary)
        if not quiet:
            self.stderr.write(
                f"World built in {summary['seconds']} s: {users} users over {days} days "
                f"(seed {seed}); parameters and outcomes in {world_file}"
            )
        self._print_logins(summary["demo_logins"])
        # Always printed: a world whose money does not add up must not pass silently.
        self.stdout.write(ledger.summary())
        if not ledger.ok:
            for problem in ledger.problems[:20]:
                self.stderr.write(f"  {problem}")
            raise CommandError("The ledger does not verify: the simulated world is broken.")

    def _stored_logins(self, world_file: Path) -> list[dict] | None:
        try:
            return json.loads(world_file.read_text(encoding="utf-8"))["demo_logins"]
        except (OSError, ValueError, KeyError):
            return None

    def _planned_logins(self, params: WorldParameters) -> list[dict]:
        # Without world.json the logins are re-derived from the seed: planning touches no database.
        world, _activities = plan_world(params)
        return demo_login_rows(world)

    def _print_logins(self, rows: list[dict]) -> None:
        self.stdout.write(f"Demo logins ({LOGIN_NOTE}):")
        for row in rows:
            where = "  (operator area: /admin/)" if row["role"] == "operator" else ""
            self.stdout.write(f"  {row['role']:<9}{row['phone']}  {row['name']}{where}")
