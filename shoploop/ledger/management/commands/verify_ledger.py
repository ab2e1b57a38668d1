import sys

from django.core.management.base import BaseCommand

from shoploop.ledger.verification import verify_ledger


class Command(BaseCommand):
    help = "Recompute every ledger balance from transfers; exit non-zero on any discrepancy."

    def handle(self, *args, **options):
        report = verify_ledger()
        for problem in report.problems:
            self.stderr.write(problem)
        self.stdout.write(report.summary())
        if not report.ok:
            sys.exit(1)
