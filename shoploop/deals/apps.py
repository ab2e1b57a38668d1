from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    """What the four deal kinds share: payment routing, page hooks, the "my deals" and campaign
    hubs. Each kind is its own app inside this package (groups, bargains, crowdfunding, flash)."""

    name = "shoploop.deals"
    label = "deals"
    verbose_name = _("Deals")

    def ready(self):
        from shoploop.deals import handlers  # noqa: F401  (payment events → the deal kinds)
