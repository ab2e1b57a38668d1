from django.contrib import admin

from shoploop.core.models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("scope", "key", "response_status", "created_at")
    list_filter = ("scope",)
    search_fields = ("key",)
    readonly_fields = (
        "scope",
        "key",
        "fingerprint",
        "response_status",
        "response_body",
        "created_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
