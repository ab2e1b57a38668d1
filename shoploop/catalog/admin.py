"""Operators' view of the catalog. State changes go through services: reviewing a shop,
taking a product off sale. Stock is read-only here; it changes only through services."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shoploop.catalog import services
from shoploop.catalog.forms import RejectShopForm
from shoploop.catalog.models import BPS_PER_WHOLE, SKU, Product, ProductImage, Shop
from shoploop.core.errors import DomainError
from shoploop.core.money import format_fen


def _report(modeladmin, request, done: int, failures: list[str]) -> None:
    if done:
        modeladmin.message_user(
            request, gettext("%(count)d done.") % {"count": done}, messages.SUCCESS
        )
    for failure in failures:
        modeladmin.message_user(request, failure, messages.ERROR)


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "status", "fee_rate_display", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "public_id", "owner__phone", "owner__display_name", "contact")
    fields = (
        "public_id",
        "owner",
        "name",
        "contact",
        "description",
        "logo",
        "status",
        "fee_rate_display",
        "rejection_reason",
        "reviewed_at",
        "reviewed_by",
        "created_at",
    )
    # Read-only: shops change through services (the owner's console, these review actions).
    readonly_fields = fields
    actions = ("approve", "reject")
    list_select_related = ("owner",)

    def has_add_permission(self, request):
        return False  # shops are opened by applying, through the service

    @admin.display(description=_("platform fee"))
    def fee_rate_display(self, shop: Shop) -> str:
        whole, rest = divmod(shop.fee_rate_bps, BPS_PER_WHOLE // 100)
        return f"{whole}.{rest:02d}%"

    @admin.action(description=_("Approve selected shop applications"))
    def approve(self, request, queryset):
        done, failures = 0, []
        for shop in queryset:
            try:
                services.approve_shop(shop=shop, actor=request.user)
                done += 1
            except DomainError as error:
                failures.append(f"{shop}: {error.message}")
        _report(self, request, done, failures)

    @admin.action(description=_("Reject selected shop applications…"))
    def reject(self, request, queryset):
        form = RejectShopForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            done, failures = 0, []
            for shop in queryset:
                try:
                    services.reject_shop(
                        shop=shop, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                    done += 1
                except DomainError as error:
                    failures.append(f"{shop}: {error.message}")
            _report(self, request, done, failures)
            return None
        return TemplateResponse(
            request,
            "catalog/admin/reject_shops.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Reject shop applications"),
                "shops": queryset,
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


class SKUInline(admin.TabularInline):
    model = SKU
    extra = 0
    fields = ("public_id", "options", "price_display", "list_price_display", "stock", "is_active")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("price"))
    def price_display(self, sku: SKU) -> str:
        return format_fen(sku.price_fen)

    @admin.display(description=_("list price"))
    def list_price_display(self, sku: SKU) -> str:
        return format_fen(sku.list_price_fen) if sku.list_price_fen else "—"


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ("public_id", "image", "width", "height", "position")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("title", "shop", "category", "is_published", "created_at")
    list_filter = ("is_published", "category", "shop__status")
    search_fields = ("title", "public_id", "shop__name")
    list_select_related = ("shop",)
    readonly_fields = (
        "public_id",
        "shop",
        "title",
        "description",
        "category",
        "is_published",
        "published_at",
        "created_at",
        "updated_at",
    )
    exclude = ("description_html", "tags", "communities")
    inlines = (SKUInline, ProductImageInline)
    actions = ("unpublish",)

    def has_add_permission(self, request):
        return False  # merchants create products in their console

    @admin.action(description=_("Take selected products off sale"))
    def unpublish(self, request, queryset):
        done, failures = 0, []
        for product in queryset.select_related("shop"):
            try:
                services.unpublish_product(product=product, actor=request.user)
                done += 1
            except DomainError as error:
                failures.append(f"{product}: {error.message}")
        _report(self, request, done, failures)


@admin.register(SKU)
class SKUAdmin(admin.ModelAdmin):
    list_display = ("__str__", "price_display", "stock", "is_active")
    list_filter = ("is_active",)
    search_fields = ("public_id", "product__title", "product__public_id")
    list_select_related = ("product",)
    readonly_fields = (
        "public_id",
        "product",
        "options",
        "price_display",
        "list_price_display",
        "stock",
        "is_active",
        "created_at",
    )
    exclude = ("options_key", "price_fen", "list_price_fen")

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("price"))
    def price_display(self, sku: SKU) -> str:
        return format_fen(sku.price_fen)

    @admin.display(description=_("list price"))
    def list_price_display(self, sku: SKU) -> str:
        return format_fen(sku.list_price_fen) if sku.list_price_fen else "—"
