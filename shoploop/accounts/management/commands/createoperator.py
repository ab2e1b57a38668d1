"""Make a platform operator: ``manage.py createoperator PHONE [--name NAME]``.

Operators sign in to ``/admin/`` with their phone and a one-time code, so no password is asked.
"""

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils.encoding import force_str

from shoploop.accounts import services
from shoploop.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a platform operator (staff) who signs in to /admin/ with a phone code."

    def add_arguments(self, parser):
        parser.add_argument("phone", help="a mainland mobile number, e.g. 13812345678")
        parser.add_argument("--name", default="", help="display name (default: none)")

    def handle(self, *args, phone, name, **options):
        try:
            operator = services.create_operator(phone=phone, display_name=name)
        except DomainError as error:
            raise CommandError(force_str(error.message)) from None
        self.stdout.write(
            f"Operator {operator.phone} created: sign in at {reverse('admin:index')} with this "
            "phone and the code sent by SMS."
        )
