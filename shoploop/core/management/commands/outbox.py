"""``manage.py outbox``: the outbox's backlog, lag and failing subscribers; deliver or retry."""

from django.core.management.base import BaseCommand

from shoploop.core import outbox


class Command(BaseCommand):
    help = "Show the event outbox's backlog and delivery lag; --deliver runs the worker once."

    def add_arguments(self, parser):
        parser.add_argument(
            "--deliver", action="store_true", help="deliver every due event now, then show status"
        )
        parser.add_argument(
            "--retry-parked",
            action="store_true",
            help="give parked subscribers another round of attempts",
        )
        parser.add_argument("--subscriber", help="with --retry-parked: only this subscriber")

    def handle(self, *args, deliver, retry_parked, subscriber, **options):
        if retry_parked:
            count = outbox.retry_parked(subscriber=subscriber)
            self.stdout.write(f"retrying {count} parked deliveries")
        if deliver:
            self.stdout.write(f"delivered {outbox.deliver_pending()} events")
        status = outbox.status()
        oldest = status.oldest_pending_at.isoformat() if status.oldest_pending_at else "-"
        self.stdout.write(
            f"outbox: pending={status.pending} due={status.due} "
            f"lag_seconds={status.lag_seconds:.1f} "
            f"oldest_pending={oldest} last_id={status.last_id} "
            f"last_delivered_id={status.last_delivered_id}"
        )
        for label, rows in (("retrying", status.retrying), ("parked", status.parked)):
            for row in rows:
                self.stdout.write(
                    f"{label}: {row['subscriber']} events={row['events']} "
                    f"oldest_event={row['oldest_event']}"
                )
        if status.parked:
            self.stdout.write("retry parked ones with: manage.py outbox --retry-parked")
