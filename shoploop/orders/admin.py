"""Orders in the admin: read-mostly; state changes go through services (admin actions)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import DomainError
from shoploop.orders import selectors, services
from shoploop.orders.models import (
    AfterSale,
    AfterSaleLine,
    AfterSalePhoto,
    Cart,
    CartLine,
    Checkout,
    EscalatedAfterSale,
    Order,
    OrderEvent,
    OrderLine,
    PickupPoint,
    ShopPickupSettings,
)


class CartLineInline(admin.TabularInline):
    model = CartLine
    extra = 0
    raw_id_fields = ("sku",)


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "session_key", "created_at")
    raw_id_fields = ("user",)
    inlines = [CartLineInline]


@admin.register(Checkout)
class CheckoutAdmin(admin.ModelAdmin):
    list_display = ("public_id", "buyer", "total_fen", "payment_public_id", "expires_at")
    search_fields = ("public_id", "payment_public_id")
    readonly_fields = [f.name for f in Checkout._meta.fields]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in OrderLine._meta.fields]


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "actor", "note", "created_at")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "shop",
        "buyer",
        "state",
        "total_fen",
        "refunded_fen",
        "created_at",
    )
    list_filter = ("state",)
    search_fields = ("public_id", "tracking_number", "buyer__phone", "shop__name")
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderLineInline, OrderEventInline]

    def has_add_permission(self, request):
        return False


class AfterSaleLineInline(admin.TabularInline):
    model = AfterSaleLine
    extra = 0
    can_delete = False
    readonly_fields = ("order_line", "quantity", "amount_fen")


class AfterSalePhotoInline(admin.TabularInline):
    model = AfterSalePhoto
    extra = 0
    can_delete = False
    readonly_fields = ("image", "width", "height", "position", "created_at")


@admin.register(AfterSale)
class AfterSaleAdmin(admin.ModelAdmin):
    list_display = ("public_id", "order", "kind", "state", "amount_fen", "due_at", "created_at")
    list_filter = ("state", "kind", "reason_code", "escalation")
    search_fields = ("public_id", "order__public_id")
    readonly_fields = [f.name for f in AfterSale._meta.fields]
    inlines = [AfterSaleLineInline, AfterSalePhotoInline]
    actions = ["refund_escalated", "close_escalated"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _decide(self, request, queryset, *, refund: bool):
        """Each request through ``decide_escalated_after_sale`` (its own transaction); one
        refusal is reported and the others still go through."""
        done = 0
        for after_sale in queryset.select_related("order"):
            try:
                services.decide_escalated_after_sale(
                    after_sale=after_sale, actor=request.user, refund=refund
                )
                done += 1
            except DomainError as error:
                self.message_user(
                    request, f"{after_sale.public_id}: {error.message}", level=messages.ERROR
                )
        if done:
            self.message_user(request, _("%(count)d request(s) decided.") % {"count": done})

    @admin.action(description=_("Decide escalated requests: refund the buyer"))
    def refund_escalated(self, request, queryset):
        self._decide(request, queryset, refund=True)

    @admin.action(description=_("Decide escalated requests: close without refund"))
    def close_escalated(self, request, queryset):
        self._decide(request, queryset, refund=False)


@admin.register(EscalatedAfterSale)
class EscalatedAfterSaleAdmin(AfterSaleAdmin):
    """The queue: only escalated requests, the longest waiting first."""

    list_display = (
        "public_id",
        "order",
        "kind",
        "reason_code",
        "escalation",
        "amount_fen",
        "escalated_at",
    )
    list_filter = ("escalation", "kind", "reason_code")
    ordering = ("escalated_at", "pk")

    def get_queryset(self, request):
        return selectors.escalated_after_sales()


@admin.register(PickupPoint)
class PickupPointAdmin(admin.ModelAdmin):
    """Read-only: its 团长 edits a point; an operator collects an order on the point's page."""

    list_display = ("public_id", "name", "community", "leader", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("public_id", "name", "address")
    readonly_fields = [f.name for f in PickupPoint._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ShopPickupSettings)
class ShopPickupSettingsAdmin(admin.ModelAdmin):
    list_display = ("shop", "offers_pickup", "leader_commission_fen", "updated_at")
    readonly_fields = [f.name for f in ShopPickupSettings._meta.fields]

    def has_add_permission(self, request):
        return False
