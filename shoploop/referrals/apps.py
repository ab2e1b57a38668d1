from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "shoploop.referrals"
    verbose_name = _("Sharing and referrals")

    def ready(self) -> None:
        from shoploop.referrals import handlers  # noqa: F401  (subscribers, deadlines)
