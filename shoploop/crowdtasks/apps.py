from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrowdtasksConfig(AppConfig):
    name = "shoploop.crowdtasks"
    verbose_name = _("Crowdsourcing tasks")

    def ready(self) -> None:
        from shoploop.crowdtasks import handlers  # noqa: F401  (deadlines, ledger check)
