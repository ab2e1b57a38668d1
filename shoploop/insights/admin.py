"""Operators see how far the rollup has read (read-only: only ``services`` write)."""

from django.contrib import admin

from shoploop.insights.models import Cursor


@admin.register(Cursor)
class CursorAdmin(admin.ModelAdmin):
    list_display = ("name", "last_event_id", "events", "updated_at")
    readonly_fields = ("name", "last_event_id", "events", "updated_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
