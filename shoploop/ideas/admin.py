"""Operator screens: ideas and wanted products, read-only (every change goes through services:
merchants answer ideas, people vote and want)."""

from django.contrib import admin

from shoploop.ideas.models import Idea, IdeaStatusChange, WantedProduct


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StatusChangeInline(admin.TabularInline):
    model = IdeaStatusChange
    fields = ("created_at", "from_status", "to_status", "reason", "product", "actor")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Idea)
class IdeaAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "title", "shop", "community", "status", "vote_count", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("public_id", "title", "shop__name")
    list_select_related = ("shop", "community")
    inlines = (StatusChangeInline,)


@admin.register(WantedProduct)
class WantedProductAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "title", "shop", "state", "want_count", "project", "created_at")
    list_filter = ("state", "created_at")
    search_fields = ("public_id", "title", "shop__name")
    list_select_related = ("shop", "project")
