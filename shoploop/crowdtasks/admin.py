"""Operators' view of crowdsourcing tasks: read-only rows (they change only through services)."""

from django.contrib import admin

from shoploop.crowdtasks.models import Entry, Task, Winner


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False  # made by merchants and members, through services

    def has_delete_permission(self, request, obj=None):
        return False  # rewards were paid against these rows; history stays

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = (
        "title",
        "shop",
        "kind",
        "state",
        "reward_kind",
        "reserved_fen",
        "paid_fen",
        "refunded_fen",
        "winners_picked",
        "winners_count",
        "entries_count",
        "deadline",
    )
    list_filter = ("state", "kind", "reward_kind", "audience")
    search_fields = ("title", "public_id", "shop__name", "shop__public_id")
    list_select_related = ("shop",)


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "task", "author", "created_at")
    search_fields = ("public_id", "task__public_id", "author__public_id")
    list_select_related = ("task", "author")


@admin.register(Winner)
class WinnerAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "task",
        "user",
        "amount_fen",
        "coupon_claim_public_id",
        "picked_at",
    )
    search_fields = ("public_id", "task__public_id", "user__public_id")
    list_select_related = ("task", "user")
