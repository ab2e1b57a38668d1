from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "shoploop.accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from shoploop.accounts import services
        from shoploop.core.deadlines import register_deadline_handler

        register_deadline_handler("accounts.purge_expired_codes")(services.purge_expired_codes)
