"""Group buying pages: the group page (members, "N more needed", countdown, share link, join),
the product- and community-page blocks, "my groups", and the merchant console. Thin: parse, call
a service or selector, render or redirect; a DomainError's message is shown on the page."""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.accounts.returning import sign_in_then_back
from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from shoploop.core.money import parse_yuan
from shoploop.deals.groups import selectors, services
from shoploop.deals.groups.models import DEFAULT_GROUP_MINUTES, Group, Seat
from shoploop.deals.views import confirm_page, refused
from shoploop.orders import selectors as order_selectors

BLOCK_GROUPS = 5
EXTRA_VARIANT_ROWS = 3  # "another SKU of the same product" rows on the console form


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _group_url(group) -> str:
    return reverse("deals_groups:group", args=[group.public_id])


def _pay_url(seat: Seat) -> str:
    if seat.state != Seat.State.RESERVED or seat.order is None:
        return ""
    if not seat.order.checkout.payment_public_id:
        return ""
    return order_selectors.pay_url(checkout=seat.order.checkout, next_url=_group_url(seat.group))


def _with_sku(url: str, sku_id: str) -> str:
    """The confirm page again with the variant the buyer had chosen."""
    return f"{url}?{urlencode({'sku': sku_id})}" if sku_id else url


def _after_seat(request, seat: Seat):
    """Straight to the cashier; back on the group page afterwards."""
    return redirect(_pay_url(seat) or _group_url(seat.group))


# --- blocks on other pages --------------------------------------------------------------------


def _with_refusals(user, *, campaigns=(), groups=()) -> None:
    """Each campaign's ``open_refusal`` and each group's ``join_refusal`` for this user: the
    templates show that message instead of a button the service would refuse."""
    campaign_ids = {c.pk for c in campaigns} | {g.campaign_id for g in groups}
    standing = selectors.buyer_standing(user=user, campaign_ids=campaign_ids)
    for campaign in campaigns:
        campaign.open_refusal = selectors.open_refusal(campaign=campaign, standing=standing)
    for group in groups:
        group.join_refusal = selectors.join_refusal(group=group, standing=standing)


def product_block(request, product) -> str:
    campaigns = list(selectors.running_campaigns_of_product(product=product)[:3])
    if not campaigns:
        return ""
    groups = list(selectors.open_groups_of_product(product=product)[:BLOCK_GROUPS])
    _with_refusals(getattr(request, "user", None), campaigns=campaigns, groups=groups)
    return render_to_string(
        "deals/groups/_product_block.html",
        {"campaigns": campaigns, "groups": groups},
        request=request,
    )


def community_block(request, community) -> str:
    groups = list(selectors.open_groups_of_community(community=community)[:BLOCK_GROUPS])
    if not groups:
        return ""
    _with_refusals(getattr(request, "user", None), groups=groups)
    return render_to_string(
        "deals/groups/_community_block.html", {"groups": groups}, request=request
    )


# --- buyers -----------------------------------------------------------------------------------


def group_detail(request, group_id):
    group = selectors.group_by_public_id(public_id=group_id)
    my_seat = selectors.seat_of(group=group, user=request.user)
    share_url = request.build_absolute_uri(_group_url(group))
    _with_refusals(request.user, groups=[group])
    return render(
        request,
        "deals/groups/group.html",
        {
            "group": group,
            "campaign": group.campaign,
            "members": selectors.members(group=group),
            "cover": selectors.cover_image(product=group.campaign.sku.product),
            # Placeholders for the seats nobody holds yet (never invented members).
            "empty_seats": range(group.seats_left if group.state == Group.State.OPEN else 0),
            "my_seat": my_seat,
            "my_pay_url": _pay_url(my_seat) if my_seat else "",
            "share_url": share_url,
            "is_leader": request.user.is_authenticated and group.leader_id == request.user.pk,
            "join_refusal": group.join_refusal,
            "seat_hold_minutes": services.seat_hold_minutes(),
        },
    )


def group_join(request, group_id):
    """GET: the confirm step (price, address, amount); POST (its button): take the seat and go
    to the cashier. A visitor signs in first and comes back to this page."""
    group = selectors.group_by_public_id(public_id=group_id)
    here = reverse("deals_groups:join", args=[group.public_id])
    if not request.user.is_authenticated:
        return sign_in_then_back(here)
    if request.method != "POST":
        sku_id = request.GET.get("sku", "")[:40]
        return confirm_page(
            request,
            heading=_("Join the group"),
            quote_of=lambda address_id: selectors.join_quote(
                group=group, user=request.user, address_id=address_id, sku_id=sku_id
            ),
            action_url=here,
            back_url=_group_url(group),
        )
    sku_id = request.POST.get("sku", "")[:40]
    try:
        seat = services.join_group(
            group=group,
            user=request.user,
            address_id=request.POST.get("address", ""),
            sku_id=sku_id,
        )
    except DomainError as error:
        return refused(request, error, confirm=_with_sku(here, sku_id), back=_group_url(group))
    return _after_seat(request, seat)


def group_open(request, campaign_id):
    """GET: the confirm step for opening a group (leader price); POST: open it, then pay."""
    campaign = selectors.campaign_by_public_id(public_id=campaign_id)
    here = reverse("deals_groups:open", args=[campaign.public_id])
    product_page = reverse("catalog:product", args=[campaign.sku.product.public_id])
    if not request.user.is_authenticated:
        return sign_in_then_back(here)
    if request.method != "POST":
        sku_id = request.GET.get("sku", "")[:40]
        return confirm_page(
            request,
            heading=_("Open a group"),
            quote_of=lambda address_id: selectors.open_quote(
                campaign=campaign, user=request.user, address_id=address_id, sku_id=sku_id
            ),
            action_url=here,
            back_url=product_page,
        )
    sku_id = request.POST.get("sku", "")[:40]
    try:
        seat = services.open_group(
            campaign=campaign,
            user=request.user,
            address_id=request.POST.get("address", ""),
            sku_id=sku_id,
        )
    except DomainError as error:
        return refused(request, error, confirm=_with_sku(here, sku_id), back=product_page)
    return _after_seat(request, seat)


@login_required
def mine(request):
    seats = list(selectors.my_seats(user=request.user)[:100])
    return render(request, "deals/groups/mine.html", {"seats": seats, "nav_active": "me"})


# --- merchant console -------------------------------------------------------------------------


def _console_context(shop) -> dict:
    return {"campaigns": list(selectors.shop_campaigns(shop=shop)[:100])}


def _shop_sku(shop, public_id: str, *, field: str = "sku_id") -> SKU:
    sku = (
        SKU.objects.select_related("product__shop")
        .filter(public_id=str(public_id)[:40], product__shop=shop)
        .first()
    )
    if sku is None:
        raise ValidationFailed(_("Choose one of your SKUs."), fields={field: "required"})
    return sku


def _more_variants(post, shop) -> list:
    """The optional rows "another SKU of the same product": a SKU, its group price and units
    (rows left blank are skipped)."""
    rows = zip(
        post.getlist("extra_sku_id"),
        post.getlist("extra_group_price"),
        post.getlist("extra_stock"),
        strict=False,
    )
    return [
        services.VariantSpec(
            sku=_shop_sku(shop, sku_id, field="extra_sku_id"),
            group_price_fen=parse_yuan(price, field="extra_group_price"),
            stock=_int(stock),
        )
        for sku_id, price, stock in rows
        if sku_id.strip()
    ]


def _create_from_form(request, shop):
    post = request.POST
    sku = _shop_sku(shop, post.get("sku_id", ""))
    leader_text = post.get("leader_price", "").strip()
    leader_price_fen = (
        parse_yuan(leader_text, field="leader_price", allow_zero=True) if leader_text else None
    )
    group_price_fen = parse_yuan(post.get("group_price", ""), field="group_price")
    more = _more_variants(post, shop)
    variants = (
        [
            services.VariantSpec(
                sku=sku,
                group_price_fen=group_price_fen,
                stock=_int(post.get("stock")),
                leader_price_fen=leader_price_fen,
            ),
            *more,
        ]
        if more
        else []
    )
    k = _int(post.get("min_paid_to_complete", ""))
    starts_in = _int(post.get("starts_in_minutes", "0")) or 0
    duration_days = _int(post.get("duration_days", "7"))
    if duration_days is None:
        raise ValidationFailed(
            _("Give the campaign's length in days."), fields={"duration_days": "invalid"}
        )
    now = clock.now()
    return services.create_campaign(
        actor=request.user,
        sku=sku,
        variants=variants,
        group_price_fen=group_price_fen,
        leader_price_fen=leader_price_fen,
        group_size=_int(post.get("group_size")),
        group_minutes=_int(post.get("group_minutes", DEFAULT_GROUP_MINUTES)),
        starts_at=now + timedelta(minutes=starts_in),
        ends_at=now + timedelta(minutes=starts_in) + timedelta(days=duration_days),
        stock=_int(post.get("stock")),
        per_user_limit=_int(post.get("per_user_limit", "1")),
        min_paid_to_complete=k if k else None,
    )


@login_required
def console(request):
    shop = order_selectors.merchant_shop(user=request.user)
    form = {}
    if request.method == "POST":
        try:
            _create_from_form(request, shop)
            messages.success(request, _("The group campaign is running."))
            return redirect("deals_groups:console")
        except DomainError as error:
            if isinstance(error, PermissionDenied):
                raise
            messages.error(request, error.message)
            form = request.POST
    skus = SKU.objects.filter(product__shop=shop, is_active=True).select_related("product")
    return render(
        request,
        "deals/groups/console.html",
        {
            **_console_context(shop),
            "skus": list(skus.order_by("product__title", "pk")[:200]),
            "form": form,
            "extra_rows": range(EXTRA_VARIANT_ROWS),
            "nav_active": "me",
        },
    )


@login_required
def console_rows(request):
    """The campaign table alone, polled by htmx every 5 s for live counts."""
    shop = order_selectors.merchant_shop(user=request.user)
    return render(request, "deals/groups/_console_rows.html", _console_context(shop))


@login_required
@require_POST
def console_action(request, campaign_id, action):
    campaign = selectors.campaign_for_merchant(public_id=campaign_id, user=request.user)
    act = {
        "pause": (services.pause_campaign, _("Paused: no new groups or joins.")),
        "resume": (services.resume_campaign, _("Running again.")),
        "end": (services.end_campaign, _("Ended; the stock left went back to the SKU.")),
    }.get(action)
    if act is None:
        raise NotFound()
    try:
        act[0](campaign=campaign, actor=request.user)
        messages.success(request, act[1])
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("deals_groups:console")
