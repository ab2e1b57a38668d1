from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GroupsConfig(AppConfig):
    name = "shoploop.deals.groups"
    label = "deals_groups"
    verbose_name = _("Group buying")

    def ready(self):
        from shoploop.deals.groups import handlers

        handlers.register()
