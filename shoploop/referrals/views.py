"""Pages: the share action, the short link, the share sheet, the poster, the sharer's page, the
shop's commission console and the operators' cluster list. Thin: services and selectors."""

import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from shoploop.accounts.returning import requested_next, sign_in_then_back
from shoploop.catalog.selectors import shop_of
from shoploop.core.client_ip import client_ip
from shoploop.core.errors import DomainError
from shoploop.ledger.services import payouts
from shoploop.referrals import posters, selectors, services
from shoploop.referrals.handlers import remember_visit
from shoploop.referrals.models import ProductCommission, Promoter, ShopCommission, ShopPromoter
from shoploop.referrals.targets import resolve


def _error_page(request, failure: DomainError):
    return render(
        request,
        "web/error.html",
        {"title": _("Share link"), "message": failure.message},
        status=failure.status,
    )


@require_POST
def share(request):
    """The share action of every shareable page: make (or find) the link, show the share sheet."""
    back = requested_next(request) or "/"
    if not request.user.is_authenticated:
        return sign_in_then_back(back)
    try:
        link = services.create_share_link(
            sharer=request.user,
            kind=request.POST.get("kind", ""),
            target_public_id=request.POST.get("target", ""),
            community_public_id=request.POST.get("community", ""),
        )
    except DomainError as failure:
        return _error_page(request, failure)
    return redirect("referrals:sheet", code=link.code)


@require_GET
def follow_link(request, code):
    """``/s/<code>/``: record the visit and go to what was shared."""
    try:
        _link, visit, url = services.record_visit(
            code=code, visitor=request.user, ip=client_ip(request)
        )
    except DomainError as failure:
        return _error_page(request, failure)
    response = redirect(url)
    if not request.user.is_authenticated:
        # Signing in or up later in this browser claims the visit (handlers.py); the sign-in
        # page brings the person back to the page they were on (accounts/returning.py).
        remember_visit(response, visit)
    return response


def _own_link(request, code):
    try:
        link = services.link_by_code(code)
    except DomainError:
        raise Http404 from None
    if link.sharer_id != request.user.pk:
        raise Http404
    return link


@login_required
@require_GET
def sheet(request, code):
    link = _own_link(request, code)
    target = resolve(link.kind, link.target_public_id)
    if target is None:
        raise Http404
    short_url = request.build_absolute_uri(reverse("referrals:follow", args=[link.code]))
    return render(
        request,
        "referrals/sheet.html",
        {"link": link, "target": target, "short_url": short_url},
    )


@require_GET
def poster(request, code):
    """Anyone holding the link may see its poster (it shows only what the link shows)."""
    try:
        link = services.link_by_code(code)
    except DomainError:
        raise Http404 from None
    try:
        stored = posters.poster_for(
            link=link,
            short_url=request.build_absolute_uri(reverse("referrals:follow", args=[link.code])),
        )
    except DomainError as failure:
        return _error_page(request, failure)
    response = FileResponse(stored, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
def my_shares(request):
    if request.method == "POST" and request.POST.get("action") == "withdraw":
        _withdraw(request)
        return redirect("referrals:mine")
    if request.method == "POST":
        services.become_promoter(user=request.user)
        messages.success(request, _("You are a promoter now: share links to earn commissions."))
        return redirect("referrals:mine")
    return render(
        request,
        "referrals/mine.html",
        {
            "links": selectors.links_of(user=request.user)[:100],
            "totals": selectors.totals_of(user=request.user),
            "commissions": selectors.commissions_of(user=request.user)[:50],
            "is_promoter": Promoter.objects.filter(user=request.user).exists(),
            "withdrawals": selectors.withdrawals_of(user=request.user)[:20],
            "request_key": uuid.uuid4().hex,
        },
    )


def _withdraw(request) -> None:
    """Withdraw available commissions through the payouts (amount typed in yuan)."""
    try:
        amount = round(Decimal(request.POST.get("amount_yuan", "")) * 100)
    except (InvalidOperation, ValueError, OverflowError):  # "Infinity" overflows
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


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
def console(request):
    shop = shop_of(user=request.user)
    if shop is None:
        raise Http404
    if request.method == "POST":
        try:
            _console_action(request)
        except DomainError as failure:
            messages.error(request, failure.message)
        else:
            messages.success(request, _("Saved."))
        return redirect("referrals:console")
    scheme = ShopCommission.objects.filter(shop=shop).first()
    return render(
        request,
        "referrals/console.html",
        {
            "shop": shop,
            "scheme": scheme,
            "overrides": ProductCommission.objects.filter(product__shop=shop).select_related(
                "product"
            ),
            "applications": ShopPromoter.objects.filter(
                shop=shop, state=ShopPromoter.State.PENDING
            ).select_related("promoter__user"),
        },
    )


def _console_action(request):
    action = request.POST.get("action")
    post = request.POST
    if action == "scheme":
        services.set_shop_commission(
            actor=request.user,
            enabled=post.get("enabled") == "on",
            level1_bps=_int_or_none(post.get("level1_bps")),
            level2_bps=_int_or_none(post.get("level2_bps")),
            requires_approval=post.get("requires_approval") == "on",
        )
    elif action == "product":
        clear = post.get("clear") == "on"
        services.set_product_commission(
            actor=request.user,
            product_public_id=post.get("product", ""),
            level1_bps=None if clear else _int_or_none(post.get("level1_bps")),
            level2_bps=None if clear else _int_or_none(post.get("level2_bps")),
        )
    elif action in ("approve", "reject"):
        services.decide_application(
            actor=request.user,
            application_id=_int_or_none(post.get("application")) or 0,
            approve=action == "approve",
        )
    else:
        raise DomainError(_("Unknown action."), code="unknown_action")


@staff_member_required
def clusters(request):
    return render(request, "referrals/clusters.html", {"clusters": selectors.suspicious_clusters()})
