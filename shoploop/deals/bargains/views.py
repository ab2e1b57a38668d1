"""Bargain pages: the bargain itself (shared with friends), "my bargains", the product-page
block, and the merchant console. Thin: parse, call a service or selector, render."""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shoploop.catalog import selectors as catalog_selectors
from shoploop.core import clock
from shoploop.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from shoploop.core.money import format_fen, parse_yuan
from shoploop.deals.bargains import proof, selectors, services
from shoploop.deals.views import confirm_page, refused
from shoploop.orders import selectors as order_selectors


def _show_error(request, error: DomainError) -> None:
    """A refused action shows its message; a page the user may not see at all is a 403/404
    (an unverified helper is told to verify rather than shown a 403 page)."""
    if isinstance(error, NotFound):
        raise error
    if isinstance(error, PermissionDenied) and error.code != "phone_not_verified":
        raise error
    messages.error(request, error.message)


# --- buyers and helpers -----------------------------------------------------------------------


def product_block(request, product) -> str:
    """The "start a bargain" card on a product page, one per running campaign of the product."""
    campaigns = list(selectors.running_campaigns_for_product(product=product)[:3])
    if not campaigns:
        return ""
    user = getattr(request, "user", None)
    items = [
        {"campaign": campaign, "mine": selectors.open_bargain_of(campaign=campaign, user=user)}
        for campaign in campaigns
    ]
    signed_in = user is not None and user.is_authenticated
    return render_to_string(
        "deals/bargains/_product_block.html",
        {"items": items, "signed_in": signed_in},
        request=request,
    )


@login_required
@require_POST
def start(request, campaign_id):
    campaign = selectors.campaign_by_public_id(public_id=campaign_id)
    try:
        bargain = services.start_bargain(campaign=campaign, user=request.user)
    except DomainError as error:
        _show_error(request, error)
        existing = selectors.open_bargain_of(campaign=campaign, user=request.user)
        if existing is not None:
            return redirect("deals_bargains:detail", bargain_id=existing.public_id)
        return redirect("catalog:product", campaign.sku.product.public_id)
    messages.success(request, _("Your bargain has started. Share it with friends!"))
    return redirect("deals_bargains:detail", bargain_id=bargain.public_id)


def detail(request, bargain_id):
    bargain = selectors.bargain_by_public_id(public_id=bargain_id)
    campaign = bargain.campaign
    user = request.user if request.user.is_authenticated else None
    is_initiator = user is not None and user.pk == bargain.initiator_id
    now = clock.now()
    running = (
        bargain.state == "active"
        and bargain.deadline > now
        and campaign.state != "ended"
        and campaign.ends_at > now
    )
    cut_so_far = campaign.start_price_fen - bargain.current_price_fen
    context = {
        "bargain": bargain,
        "campaign": campaign,
        "helps": selectors.helps_of(bargain=bargain),
        "is_initiator": is_initiator,
        "has_helped": selectors.has_helped(bargain=bargain, user=user),
        "running": running,
        "cut_so_far": cut_so_far,
        "helps_left": bargain.helps_left,
        "can_buy": is_initiator
        and running
        and (campaign.buy_before_floor or bargain.floor_reached),
        "share_url": request.build_absolute_uri(
            reverse("deals_bargains:detail", args=[bargain.public_id])
        ),
        "order": bargain.order,
        "pay_link": _pay_link(bargain) if is_initiator else None,
        "nav_active": "me" if is_initiator else "",
        "commitment": proof.seed_commitment(bargain.seed),
        "seed_revealed": proof.seed_revealed(bargain),
    }
    return render(request, "deals/bargains/detail.html", context)


def verify(request, bargain_id):
    """The fairness proof: the seed's commitment, and once the bargain has ended the seed and
    every help's recorded cut next to the cut recomputed from it."""
    bargain = selectors.bargain_by_public_id(public_id=bargain_id)
    context = {
        "bargain": bargain,
        "campaign": bargain.campaign,
        "proof": proof.bargain_proof(bargain=bargain),
    }
    return render(request, "deals/bargains/verify.html", context)


def _pay_link(bargain) -> str | None:
    order = bargain.order
    if bargain.state != "buying" or order is None or not order.checkout.payment_public_id:
        return None
    page = reverse("deals_bargains:detail", args=[bargain.public_id])
    return order_selectors.pay_url(checkout=order.checkout, next_url=page)


@require_POST
def help_view(request, bargain_id):
    bargain = selectors.bargain_by_public_id(public_id=bargain_id)
    page = reverse("deals_bargains:detail", args=[bargain.public_id])
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:sign_in')}?{urlencode({'next': page})}")
    try:
        help_row = services.help_bargain(bargain=bargain, helper=request.user)
    except DomainError as error:
        _show_error(request, error)
    else:
        messages.success(
            request,
            _("You cut %(amount)s off! Thank you for helping.")
            % {"amount": format_fen(help_row.cut_fen)},
        )
    return redirect("deals_bargains:detail", bargain_id=bargain.public_id)


@login_required
def buy_view(request, bargain_id):
    """GET: the confirm step (current price, address, amount); POST (its button): buy, then
    pay at the cashier (a free bargain needs no payment)."""
    bargain = selectors.bargain_by_public_id(public_id=bargain_id)
    here = reverse("deals_bargains:buy", args=[bargain.public_id])
    back = reverse("deals_bargains:detail", args=[bargain.public_id])
    if request.method != "POST":
        try:
            return confirm_page(
                request,
                heading=_("Buy at the bargain price"),
                quote_of=lambda address_id: selectors.buy_quote(
                    bargain=bargain, user=request.user, address_id=address_id
                ),
                action_url=here,
                back_url=back,
            )
        except DomainError as error:
            _show_error(request, error)
            return redirect(back)
    try:
        order = services.buy(
            bargain=bargain, user=request.user, address_id=request.POST.get("address", "")
        )
    except DomainError as error:
        return refused(request, error, confirm=here, back=back, show=_show_error)
    if order.state == "paid":
        messages.success(request, _("It's yours, for free!"))
        return redirect(back)
    return redirect(order_selectors.pay_url(checkout=order.checkout, next_url=back))


@login_required
def mine(request):
    return render(
        request,
        "deals/bargains/mine.html",
        {"bargains": selectors.my_bargains(user=request.user)[:100], "nav_active": "me"},
    )


# --- merchant console -------------------------------------------------------------------------


@login_required
def console(request):
    shop = catalog_selectors.shop_of(user=request.user)
    campaigns = selectors.shop_campaigns(user=request.user)[:100]
    return render(
        request,
        "deals/bargains/console.html",
        {"shop": shop, "campaigns": campaigns, "nav_active": "me"},
    )


def _parse_form(post) -> dict:
    def fen(name, field):
        return parse_yuan(post.get(name) or "", field=field, allow_zero=True)

    def moment(name):
        raw = (post.get(name) or "").strip()
        value = parse_datetime(raw) if raw else None
        if value is None:
            raise ValidationFailed(_("Enter a date and time."), fields={name: "invalid"})
        return timezone.make_aware(value) if timezone.is_naive(value) else value

    return {
        "sku_public_id": post.get("sku_id", ""),
        "start_price_fen": fen("start_price", "start_price_fen"),
        "floor_price_fen": fen("floor_price", "floor_price_fen"),
        "helpers_needed": post.get("helpers_needed", ""),
        "stock": post.get("stock", ""),
        "hours_per_bargain": post.get("hours_per_bargain") or 24,
        "helps_per_day": post.get("helps_per_day") or 3,
        "ends_at": moment("ends_at"),
        "buy_before_floor": post.get("buy_before_floor") == "on",
        "new_users_only": post.get("new_users_only") == "on",
    }


@login_required
def console_new(request):
    shop = catalog_selectors.shop_of(user=request.user)
    if shop is None:
        raise PermissionDenied(_("Only shops can run campaigns."))
    skus = [
        sku
        for product in shop.products.filter(is_published=True).prefetch_related("skus")
        for sku in product.skus.all()
        if sku.is_active
    ]
    if request.method == "POST":
        try:
            campaign = services.create_campaign(actor=request.user, **_parse_form(request.POST))
        except DomainError as error:
            if isinstance(error, PermissionDenied):
                raise
            messages.error(request, error.message)
        else:
            messages.success(request, _("The campaign is running."))
            return redirect("deals_bargains:console_detail", campaign_id=campaign.public_id)
    default_end = timezone.localtime(clock.now() + timedelta(days=7))
    return render(
        request,
        "deals/bargains/console_new.html",
        {
            "skus": skus,
            "form": request.POST if request.method == "POST" else {},
            "default_end": default_end.strftime("%Y-%m-%dT%H:%M"),
            "nav_active": "me",
        },
    )


@login_required
def console_detail(request, campaign_id):
    campaign = selectors.campaign_for_merchant(public_id=campaign_id, user=request.user)
    return render(
        request,
        "deals/bargains/console_detail.html",
        {
            "campaign": campaign,
            "counts": selectors.campaign_counts(campaign=campaign),
            "nav_active": "me",
        },
    )


@login_required
def console_counts(request, campaign_id):
    """The live numbers, polled by htmx every few seconds."""
    campaign = selectors.campaign_for_merchant(public_id=campaign_id, user=request.user)
    return render(
        request,
        "deals/bargains/_counts.html",
        {"campaign": campaign, "counts": selectors.campaign_counts(campaign=campaign)},
    )


# Marked with gettext_lazy here so makemessages extracts them (``_(variable)`` is not found).
_ACTIONS = {
    "pause": (services.pause_campaign, gettext_lazy("The campaign is paused.")),
    "resume": (services.resume_campaign, gettext_lazy("The campaign is running again.")),
    "end": (
        services.end_campaign,
        gettext_lazy("The campaign has ended; its stock is back on the item."),
    ),
}


@login_required
@require_POST
def console_action(request, campaign_id, action):
    campaign = selectors.campaign_for_merchant(public_id=campaign_id, user=request.user)
    if action not in _ACTIONS:
        raise NotFound()
    service, message = _ACTIONS[action]
    try:
        service(campaign=campaign, actor=request.user)
    except DomainError as error:
        _show_error(request, error)
    else:
        messages.success(request, message)
    return redirect("deals_bargains:console_detail", campaign_id=campaign.public_id)
