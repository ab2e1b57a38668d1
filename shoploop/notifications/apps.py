from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "shoploop.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from shoploop.notifications import handlers

        handlers.register()
