"""Operators look at flash sales and their purchases. Read-only: sales change in the merchant's
console, purchases by buying, paying and their pay-by time (all through the services)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from shoploop.deals.admin import ReadOnlyAdmin, fen_column
from shoploop.deals.flash.models import FlashPurchase, FlashSale


@admin.register(FlashSale)
class FlashSaleAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "sku",
        "shop",
        "state",
        "price_fen_display",
        "available",
        "stock",
        "per_user_limit",
        "starts_at",
        "ends_at",
    )
    list_filter = ("state", "starts_at")
    search_fields = ("public_id", "shop__name", "shop__public_id", "sku__product__title")
    list_select_related = ("shop", "sku__product")
    date_hierarchy = "starts_at"
    readonly_fields = ("price_fen_display",)

    price_fen_display = fen_column("price_fen", _("flash price"))


@admin.register(FlashPurchase)
class FlashPurchaseAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "sale",
        "buyer",
        "quantity",
        "state",
        "reserved_until",
        "settled_at",
        "created_at",
    )
    list_filter = ("state",)
    search_fields = ("public_id", "sale__public_id", "buyer__phone", "buyer__public_id")
    list_select_related = ("sale", "buyer")
    date_hierarchy = "created_at"
