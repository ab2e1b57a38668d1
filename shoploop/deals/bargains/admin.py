"""Operators look at campaigns and bargains; every change goes through the services."""

from django.contrib import admin

from shoploop.deals.bargains.models import Bargain, BargainCampaign, Help


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BargainCampaign)
class BargainCampaignAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "title",
        "shop",
        "state",
        "start_price_fen",
        "floor_price_fen",
        "helpers_needed",
        "stock_left",
        "stock_total",
        "ends_at",
    )
    list_filter = ("state",)
    search_fields = ("public_id", "title", "shop__name")


class HelpInline(admin.TabularInline):
    model = Help
    fields = ("position", "helper", "cut_fen", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Bargain)
class BargainAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "campaign",
        "initiator",
        "state",
        "current_price_fen",
        "helps_count",
        "deadline",
    )
    list_filter = ("state",)
    search_fields = ("public_id", "initiator__phone", "campaign__title")
    exclude = ("seed",)
    inlines = (HelpInline,)
