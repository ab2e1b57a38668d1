from django.contrib import admin

from shoploop.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("public_id", "recipient", "kind", "created_at", "read_at", "sms")
    list_filter = ("kind", "sms")
    search_fields = ("public_id", "recipient__public_id", "recipient__phone")
    raw_id_fields = ("recipient",)
    readonly_fields = ("public_id", "recipient", "kind", "params", "key", "created_at", "sms")

    def has_add_permission(self, request):
        return False
