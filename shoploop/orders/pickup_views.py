"""Pickup pages: a 团长's points, the orders at a point and their collection, the 团长's
earnings; a shop's pickup settings. Thin: the services decide who may and what happens."""

import uuid
from decimal import Decimal, InvalidOperation
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.communities import selectors as community_selectors
from shoploop.core.errors import DomainError, NotFound, PermissionDenied
from shoploop.ledger.services import payouts
from shoploop.orders import pickup_selectors, selectors, services
from shoploop.orders.models import Order

LIST_LIMIT = 200


def _point_form(data=None, point=None) -> dict:
    """What the point form shows: what was typed, else the point's values."""
    if data is not None:
        return {
            "name": data.get("name", ""),
            "address": data.get("address", ""),
            "hours": data.get("hours", ""),
            "is_active": bool(data.get("is_active")),
        }
    if point is not None:
        return {
            "name": point.name,
            "address": point.address,
            "hours": point.hours,
            "is_active": point.is_active,
        }
    return {"name": "", "address": "", "hours": "", "is_active": True}


@login_required
def pickup_home(request):
    """The 团长's page: the communities they lead, their points, their earnings in short."""
    return render(
        request,
        "orders/pickup_home.html",
        {
            "communities": community_selectors.led_communities(user=request.user),
            "points": list(pickup_selectors.points_of_leader(user=request.user)),
            "summary": pickup_selectors.earnings_summary(user=request.user),
            "nav_active": "me",
        },
    )


@login_required
def pickup_point_new(request):
    community_id = request.POST.get("community") or request.GET.get("community", "")
    community = community_selectors.get_community(public_id=community_id[:40])
    form, error = _point_form(), None
    if request.method == "POST":
        form = _point_form(request.POST)
        try:
            point = services.create_pickup_point(actor=request.user, community=community, **form)
        except DomainError as exc:
            if isinstance(exc, PermissionDenied | NotFound):
                raise
            error = exc.message
        else:
            messages.success(request, _("Pickup point opened."))
            return redirect("orders:pickup_point", point_id=point.public_id)
    return render(
        request,
        "orders/pickup_point_form.html",
        {"community": community, "form": form, "error": error, "point": None, "nav_active": "me"},
        status=422 if error else 200,
    )


@login_required
def pickup_point_edit(request, point_id):
    point = pickup_selectors.point_for_leader(user=request.user, public_id=point_id)
    form, error = _point_form(point=point), None
    if request.method == "POST":
        form = _point_form(request.POST)
        try:
            services.update_pickup_point(actor=request.user, point=point, **form)
        except DomainError as exc:
            if isinstance(exc, PermissionDenied | NotFound):
                raise
            error = exc.message
        else:
            messages.success(request, _("Pickup point saved."))
            return redirect("orders:pickup_point", point_id=point.public_id)
    return render(
        request,
        "orders/pickup_point_form.html",
        {
            "community": point.community,
            "form": form,
            "error": error,
            "point": point,
            "nav_active": "me",
        },
        status=422 if error else 200,
    )


def _point_page(request, point, *, code: str = "", error: str = "", status: int = 200):
    return render(
        request,
        "orders/pickup_point.html",
        {
            "point": point,
            "arriving": list(pickup_selectors.orders_at_point(point=point)[:LIST_LIMIT]),
            "collected": list(pickup_selectors.orders_at_point(point=point, collected=True)[:20]),
            "code": code,
            "error": error,
            "nav_active": "me",
        },
        status=status,
    )


@login_required
def pickup_point(request, point_id):
    """The orders for the point and the collect form; ``?code=`` (the buyer's QR code opens
    this page) fills the code in, and nothing happens until the 团长 presses "Collected"."""
    point = pickup_selectors.point_for_leader(user=request.user, public_id=point_id)
    code = services.normalize_pickup_code(request.GET.get("code", ""))
    return _point_page(request, point, code=code)


@login_required
@require_POST
def pickup_collect(request, point_id):
    point = pickup_selectors.point_for_leader(user=request.user, public_id=point_id)
    code = request.POST.get("code", "")
    try:
        order = services.collect_pickup(point=point, actor=request.user, code=code)
    except DomainError as exc:
        if isinstance(exc, PermissionDenied | NotFound):
            raise
        status = exc.status if exc.status in (409, 422) else 400
        return _point_page(
            request,
            point,
            code=services.normalize_pickup_code(code),
            error=exc.message,
            status=status,
        )
    messages.success(
        request,
        _("Order %(order)s collected by %(buyer)s.")
        % {"order": order.public_id, "buyer": order.buyer},
    )
    return redirect("orders:pickup_point", point_id=point.public_id)


@login_required
def pickup_earnings(request):
    """The 团长's commissions; available ones are withdrawn here like a promoter's (the same
    commissions account and beneficiary withdrawals)."""
    if request.method == "POST" and request.POST.get("action") == "withdraw":
        _withdraw(request)
        return redirect("orders:pickup_earnings")
    return render(
        request,
        "orders/pickup_earnings.html",
        {
            "summary": pickup_selectors.earnings_summary(user=request.user),
            "withdrawable_fen": pickup_selectors.withdrawable_fen(user=request.user),
            "commissions": list(pickup_selectors.leader_earnings(user=request.user)[:LIST_LIMIT]),
            "withdrawals": pickup_selectors.withdrawals_of(user=request.user)[:20],
            "request_key": uuid.uuid4().hex,
            "nav_active": "me",
        },
    )


def _withdraw(request) -> None:
    """Withdraw available commissions through the payouts (amount typed in yuan)."""
    try:
        amount = round(Decimal(request.POST.get("amount_yuan", "")) * 100)
    except (InvalidOperation, ValueError):
        messages.error(request, _("Enter an amount in yuan, like 12.50."))
        return
    try:
        payouts.request_beneficiary_withdrawal(
            actor=request.user,
            amount=int(amount),
            account_holder=request.POST.get("account_holder", ""),
            account_number=request.POST.get("account_number", ""),
            request_key=request.POST.get("request_key", ""),
        )
    except DomainError as failure:
        messages.error(request, failure.message)
    else:
        messages.success(request, _("Withdrawal requested."))


@login_required
def shop_pickup_settings(request):
    """The shop console's pickup settings: offer pickup, the 团长 commission per order."""
    shop = selectors.merchant_shop(user=request.user)
    row, error = services.shop_pickup_settings(shop=shop), None
    if request.method == "POST":
        offers = bool(request.POST.get("offers_pickup"))
        raw = request.POST.get("leader_commission_yuan", "").strip()
        try:
            services.update_shop_pickup_settings(
                actor=request.user,
                shop=shop,
                offers_pickup=offers,
                leader_commission_fen=_yuan_to_fen(raw),
            )
        except DomainError as exc:
            if isinstance(exc, PermissionDenied):
                raise
            error = exc.message
        else:
            messages.success(request, _("Pickup settings saved."))
            return redirect("orders:shop_pickup_settings")
    return render(
        request,
        "orders/shop_pickup_settings.html",
        {
            "shop": shop,
            "settings": row,
            "commission_yuan": request.POST.get("leader_commission_yuan", "")
            if error
            else f"{row.leader_commission_fen // 100}.{row.leader_commission_fen % 100:02d}",
            "error": error,
            "nav_active": "me",
        },
        status=422 if error else 200,
    )


def _yuan_to_fen(raw: str):
    """ "1.5" → 150; anything else is passed on as itself for the service to refuse."""
    if not raw:
        return 0
    whole, _dot, cents = raw.partition(".")
    if not whole.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
        return raw
    return int(whole) * 100 + int(cents.ljust(2, "0") or 0)


def pickup_qr_svg(request, order: Order) -> str:
    """An SVG QR code of the 团长's page for this order's point with its code filled in: the
    团长 scans it with the phone's camera and presses "Collected". Inline SVG, no script."""
    url = request.build_absolute_uri(
        reverse("orders:pickup_point", args=[order.pickup_point.public_id])
        + f"?code={order.pickup_code}"
    )
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode("utf-8")
    # Drop the XML declaration so the SVG can sit inside the page.
    # Safe: drawn by qrcode from our own URL; no user text in it.
    return mark_safe(svg[svg.index("<svg") :])
