"""``manage.py loop_truth``: does insights recover what ``simulate`` played? (docs/insights.md)"""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from shoploop.insights import services, truth


class Command(BaseCommand):
    help = (
        "Roll up the outbox, then compare what insights recovered with what simulate played "
        "(world.json); fails if a figure is more than 5 % off."
    )

    def add_arguments(self, parser):
        parser.add_argument("--world-file", type=Path, default=None)
        parser.add_argument(
            "--min-purchases",
            type=int,
            default=20,
            help="Gate a community's figure only from this many purchases brought.",
        )
        parser.add_argument("--no-rollup", action="store_true")

    def handle(self, *args, world_file, min_purchases, no_rollup, **options):
        path = Path(world_file or Path(settings.BASE_DIR) / "var" / "world.json")
        try:
            world = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as failure:
            raise CommandError(f"Cannot read {path}: {failure}") from None
        if not world.get("loop_played"):
            raise CommandError(f"{path} has no loop_played: run simulate with this version.")
        played_hours = world["loop_played"].get("attribution_hours")
        if played_hours is not None and played_hours != settings.INSIGHTS_LINK_PURCHASE_HOURS:
            raise CommandError(
                f"{path} was played with a {played_hours} h link window; insights here uses "
                f"{settings.INSIGHTS_LINK_PURCHASE_HOURS} h (SHOPLOOP_INSIGHTS_LINK_HOURS)."
            )
        if not no_rollup:
            services.roll_up(wait_to_settle=False)
        rows = truth.compare(world, min_purchases=min_purchases)
        self.stdout.write(f"{'figure':<72} {'played':>10} {'recovered':>10} {'error':>8}  knob")
        for row in rows:
            self.stdout.write(self._line(row))
        self._caused_line(world)
        failed = [row for row in rows if not row.ok]
        gated = sum(row.gated for row in rows)
        self._small_line(rows)
        self.stdout.write(
            f"loop_truth: {gated} figures gated at ±{truth.TOLERANCE:.0%}, {len(failed)} outside"
        )
        if failed:
            raise CommandError(f"{len(failed)} figures are more than 5 % off.")

    def _caused_line(self, world: dict) -> None:
        counts = truth.caused_by_draws(world)
        if counts is None:
            return
        caused, brought = counts
        self.stdout.write(
            f"of the {brought} purchases links brought, the sharing activity's own draws made "
            f"{caused}; the other {brought - caused} bought the linked product another way "
            f"(a flash sale, a group, the cart) within {settings.INSIGHTS_LINK_PURCHASE_HOURS:g} h"
        )

    def _small_line(self, rows: list[truth.TruthRow]) -> None:
        small = [row for row in rows if not row.gated]
        if not small:
            return
        exact = sum(row.error == 0 for row in small)
        within = sum(abs(row.error) <= truth.TOLERANCE for row in small)
        self.stdout.write(
            f"not gated (under the purchases a ±{truth.TOLERANCE:.0%} figure needs): {len(small)}, "
            f"{exact} exact, {within} within ±{truth.TOLERANCE:.0%}, {len(small) - within} outside"
        )

    @staticmethod
    def _line(row: truth.TruthRow) -> str:
        knob = ""
        if row.knob is not None:
            knob = f"{row.knob:.4g} ({row.knob_error:+.1%})"
        mark = "" if row.gated else "  (small, not gated)"
        return (
            f"{row.name:<72} {row.played:>10.4g} {row.recovered:>10.4g} {row.error:>+8.2%}  "
            f"{knob}{mark}"
        )
