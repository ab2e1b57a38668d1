from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrowdfundingConfig(AppConfig):
    name = "shoploop.deals.crowdfunding"
    label = "deals_crowdfunding"
    verbose_name = _("Crowdfunding")

    def ready(self):
        from shoploop.deals.crowdfunding import handlers  # noqa: F401  (kind, deadlines, links)
