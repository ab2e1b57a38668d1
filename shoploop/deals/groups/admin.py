"""Operators look at group-buying campaigns, groups and seats. Read-only: campaigns change in the
merchant's console and groups by joining, paying and their deadline (all through the services)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from shoploop.deals.admin import ReadOnlyAdmin, ReadOnlyInline, fen_column
from shoploop.deals.groups.models import Group, GroupCampaign, GroupCampaignSKU, Seat


class VariantInline(ReadOnlyInline):
    model = GroupCampaignSKU
    fields = ("sku", "group_price_fen_display", "leader_price_fen", "stock", "stock_total")
    readonly_fields = fields

    group_price_fen_display = fen_column("group_price_fen", _("group price"))


@admin.register(GroupCampaign)
class GroupCampaignAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "product",
        "shop",
        "state",
        "group_price_fen_display",
        "group_size",
        "stock",
        "stock_total",
        "starts_at",
        "ends_at",
    )
    list_filter = ("state", "group_size", "ends_at")
    search_fields = ("public_id", "shop__name", "shop__public_id", "sku__product__title")
    list_select_related = ("shop", "sku__product")
    readonly_fields = ("group_price_fen_display",)
    date_hierarchy = "created_at"
    inlines = (VariantInline,)

    group_price_fen_display = fen_column("group_price_fen", _("group price"))

    @admin.display(description=_("product"), ordering="sku__product__title")
    def product(self, campaign: GroupCampaign) -> str:
        return campaign.sku.product.title


class SeatInline(ReadOnlyInline):
    model = Seat
    fields = (
        "user",
        "is_leader",
        "variant",
        "state",
        "price_fen_display",
        "reserved_until",
        "paid_at",
    )
    readonly_fields = fields

    price_fen_display = fen_column("price_fen", _("price"))


@admin.register(Group)
class GroupAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "campaign",
        "leader",
        "state",
        "seats_taken",
        "paid_count",
        "size",
        "deadline",
    )
    list_filter = ("state", "size", "deadline")
    search_fields = ("public_id", "campaign__public_id", "leader__phone", "leader__public_id")
    list_select_related = ("campaign", "leader")
    date_hierarchy = "created_at"
    inlines = (SeatInline,)


@admin.register(Seat)
class SeatAdmin(ReadOnlyAdmin):
    list_display = (
        "group",
        "user",
        "is_leader",
        "state",
        "price_fen_display",
        "reserved_until",
        "paid_at",
    )
    list_filter = ("state", "is_leader")
    search_fields = ("group__public_id", "user__phone", "user__public_id")
    list_select_related = ("group", "user")
    date_hierarchy = "created_at"

    price_fen_display = fen_column("price_fen", _("price"))
