"""``manage.py insights_rollup``: roll the outbox events up now (what the beat task does)."""

from django.core.management.base import BaseCommand

from shoploop.insights import services


class Command(BaseCommand):
    help = "Roll up outbox events after the insights cursor (hourly and daily rollups)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--max-batches", type=int, default=None)
        parser.add_argument(
            "--settle-seconds",
            type=float,
            default=None,
            help="Read only events at least this old (default INSIGHTS_SETTLE_SECONDS).",
        )
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="Read every committed event now (a finished simulated world).",
        )
        parser.add_argument(
            "--rebuild", action="store_true", help="Forget the rollups and start from event 1."
        )

    def handle(self, *args, batch_size, max_batches, settle_seconds, no_wait, rebuild, **options):
        if rebuild:
            services.rebuild()
        result = services.roll_up(
            batch_size=batch_size,
            max_batches=max_batches,
            settle_seconds=settle_seconds,
            wait_to_settle=not no_wait,
        )
        pruned = services.prune()
        self.stdout.write(
            f"insights: {result.events} events in {result.batches} batches; cursor "
            f"{result.cursor}; pruned {pruned['people']} person facts, {pruned['visits']} visits"
        )
