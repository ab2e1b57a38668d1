from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "shoploop.ledger"
    verbose_name = _("Ledger")

    def ready(self):
        from shoploop.core.deadlines import register_deadline_handler
        from shoploop.ledger import services
        from shoploop.ledger.services import payments, payouts

        register_deadline_handler("ledger.expire_pending")(services.expire_due_pending)
        register_deadline_handler("ledger.retry_refunds")(payments.settle_due_refunds)
        register_deadline_handler("ledger.query_payments")(payments.settle_due_queries)
        register_deadline_handler("ledger.process_withdrawals")(payouts.settle_due_withdrawals)
