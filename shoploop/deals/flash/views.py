"""Flash-sale pages: the product-page block, the sale page and its buy button, the buyer's
purchases, and the merchant console. Thin: parse, call a service or selector, render."""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shoploop.accounts.returning import sign_in_then_back
from shoploop.catalog import selectors as catalog_selectors
from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from shoploop.core.money import parse_yuan
from shoploop.deals.flash import selectors, services
from shoploop.deals.views import confirm_page, refused
from shoploop.orders import selectors as order_selectors

# Far beyond any sale the service accepts (it refuses more than 30 days), yet small enough that
# the date arithmetic below cannot overflow: the service gives the precise message.
MAX_MINUTES = 366 * 24 * 60


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _sale_context(sale, now, user=None) -> dict:
    """The sale as a buyer sees it, with what this buyer may still do: ``own_shop`` and
    ``units_left`` (None for a visitor) replace the Buy button by a message when it would fail."""
    units_left = selectors.units_left_for(sale=sale, user=user)
    return {
        "sale": sale,
        "status": sale.status(now),
        "now": now,
        "own_shop": units_left is not None and sale.shop.owner_id == user.pk,
        "units_left": units_left,
        "max_quantity": sale.per_user_limit if units_left is None else units_left,
        "payment_minutes": services.payment_minutes(),
    }


# --- buyers ----------------------------------------------------------------------------------


def product_block(request, product) -> str:
    """Countdown before the start, remaining units and a buy button during it."""
    now = clock.now()
    sale = selectors.current_sale_for_product(product=product, now=now)
    if sale is None:
        return ""
    return render_to_string(
        "deals/flash/_product_block.html",
        _sale_context(sale, now, getattr(request, "user", None)),
        request=request,
    )


def sale_detail(request, sale_id):
    now = clock.now()
    sale = selectors.sale_by_public_id(public_id=sale_id)
    return render(request, "deals/flash/sale_detail.html", _sale_context(sale, now, request.user))


def sale_buy(request, sale_id):
    """GET (``?quantity=``): the confirm step (units, price, address, amount); POST (its
    button): reserve the units, then pay. A visitor signs in first and comes back here."""
    sale = selectors.sale_by_public_id(public_id=sale_id)
    quantity = _int(request.POST.get("quantity") or request.GET.get("quantity") or "1")
    here = (
        f"{reverse('deals_flash:buy', args=[sale.public_id])}?{urlencode({'quantity': quantity})}"
    )
    if not request.user.is_authenticated:
        return sign_in_then_back(here)
    back = reverse("deals_flash:detail", args=[sale.public_id])
    if request.method != "POST":
        try:
            return confirm_page(
                request,
                heading=_("Confirm your flash-sale order"),
                quote_of=lambda address_id: selectors.buy_quote(
                    sale=sale, user=request.user, quantity=quantity, address_id=address_id
                ),
                action_url=here,
                back_url=back,
                hidden=[("quantity", quantity)],
            )
        except DomainError as error:
            _show_error(request, error)
            return redirect(back)
    try:
        purchase = services.buy(
            sale=sale,
            user=request.user,
            quantity=quantity,
            address_id=request.POST.get("address", ""),
        )
    except DomainError as error:
        return refused(request, error, confirm=here, back=back, show=_show_error)
    next_url = reverse("deals_flash:mine")
    return redirect(order_selectors.pay_url(checkout=purchase.order.checkout, next_url=next_url))


def _show_error(request, error: DomainError) -> None:
    if isinstance(error, NotFound | PermissionDenied):
        raise error
    messages.error(request, error.message)


@login_required
def mine(request):
    purchases = selectors.buyer_purchases(buyer=request.user)[:100]
    return render(request, "deals/flash/mine.html", {"purchases": purchases, "nav_active": "me"})


# --- merchant console ------------------------------------------------------------------------


def _console_shop(request):
    shop = catalog_selectors.shop_of(user=request.user)
    if shop is None:
        raise PermissionDenied(_("Open a shop first."))
    return shop


def _console_rows(shop, now) -> list[dict]:
    return [
        {
            "sale": sale,
            "status": sale.status(now),
            "status_label": sale.status_label(now),
            "counts": selectors.counts(sale=sale),
        }
        for sale in selectors.shop_sales(shop=shop)[:50]
    ]


def _create_from_form(request, shop):
    post = request.POST
    sku = (
        SKU.objects.select_related("product")
        .filter(public_id=post.get("sku_id", "")[:40], product__shop=shop)
        .first()
    )
    if sku is None:
        raise ValidationFailed(_("Choose one of your SKUs."), fields={"sku_id": "required"})
    starts_in = _int(post.get("starts_in_minutes", "0"))
    minutes = _int(post.get("duration_minutes", ""))
    if (
        starts_in is None
        or minutes is None
        or not 0 <= starts_in <= MAX_MINUTES
        or not 1 <= minutes <= MAX_MINUTES
    ):
        raise ValidationFailed(_("Enter the start and the duration in minutes."))
    starts_at = clock.now() + timedelta(minutes=starts_in)
    return services.create_sale(
        shop=shop,
        actor=request.user,
        sku=sku,
        price_fen=parse_yuan(post.get("price", ""), field="price_fen"),
        stock=_int(post.get("stock", "")),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        per_user_limit=_int(post.get("per_user_limit", "1")),
    )


@login_required
def console(request):
    shop = _console_shop(request)
    if request.method == "POST":
        try:
            _create_from_form(request, shop)
        except DomainError as error:
            if isinstance(error, NotFound | PermissionDenied):
                raise
            messages.error(request, error.message)
        else:
            messages.success(request, _("The flash sale was created."))
            return redirect("deals_flash:console")
    skus = (
        SKU.objects.select_related("product")
        .filter(product__shop=shop, is_active=True)
        .order_by("product__title", "pk")
    )
    now = clock.now()
    return render(
        request,
        "deals/flash/console.html",
        {
            "shop": shop,
            "rows": _console_rows(shop, now),
            "skus": skus,
            "nav_active": "me",
            "form": request.POST if request.method == "POST" else {},
        },
    )


@login_required
def console_counts(request):
    """The live counts table, polled by htmx every few seconds."""
    shop = _console_shop(request)
    return render(
        request, "deals/flash/_console_rows.html", {"rows": _console_rows(shop, clock.now())}
    )


_ACTIONS = {
    "pause": (services.pause_sale, gettext_lazy("The sale is paused.")),
    "resume": (services.resume_sale, gettext_lazy("The sale is running again.")),
    "end": (
        services.end_sale,
        gettext_lazy("The sale has ended; the leftovers are back in stock."),
    ),
}


@login_required
@require_POST
def console_action(request, sale_id, action):
    if action not in _ACTIONS:
        raise NotFound()
    sale = selectors.sale_by_public_id(public_id=sale_id)
    service, success = _ACTIONS[action]
    try:
        service(sale=sale, actor=request.user)
        messages.success(request, success)
    except DomainError as error:
        if isinstance(error, NotFound | PermissionDenied):
            raise
        messages.error(request, error.message)
    return redirect("deals_flash:console")
