"""Coupon pages: parse the form, call a service or selector, render. A DomainError's message is
shown on the page; 'not found' and 'not yours' become the site's 404 and 403 pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.catalog.selectors import shop_of
from shoploop.core.errors import DomainError, NotFound, PermissionDenied
from shoploop.coupons import forms, selectors, services

MY_COUPONS_LIMIT = 200


def _run(request, action, *, success: str) -> None:
    """Run a POST action; its DomainError message is shown as a flash on the next page."""
    try:
        action()
    except (NotFound, PermissionDenied):
        raise
    except DomainError as failure:
        messages.error(request, failure.message)
    else:
        messages.success(request, success)


def _safe_next(request, fallback: str):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


# --- buyers -----------------------------------------------------------------------------------


@login_required
def my_coupons(request):
    claims = selectors.my_claims(user=request.user)[:MY_COUPONS_LIMIT]
    return render(request, "coupons/mine.html", {"claims": claims, "nav_active": "me"})


@require_POST
@login_required
def claim(request, coupon_id):
    coupon = selectors.visible_coupon(public_id=coupon_id)
    _run(
        request,
        lambda: services.claim_coupon(coupon=coupon, user=request.user),
        success=_("Coupon claimed. It is waiting in My coupons."),
    )
    return _safe_next(request, "coupons:mine")


# --- merchants --------------------------------------------------------------------------------


def _own_shop(request):
    shop = shop_of(user=request.user)
    if shop is None:
        raise Http404(_("You do not have a shop yet."))
    return shop


@login_required
def console_coupons(request):
    shop = _own_shop(request)
    coupons = selectors.shop_coupons_with_counts(shop=shop)
    return render(
        request,
        "coupons/console/list.html",
        {"shop": shop, "coupons": coupons, "nav_active": "me"},
    )


@login_required
def console_coupon_new(request):
    shop = _own_shop(request)
    form = forms.CouponForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            services.create_coupon(actor=request.user, shop=shop, **form.service_arguments())
        except DomainError as failure:
            if isinstance(failure, PermissionDenied):
                raise DjangoPermissionDenied(str(failure.message)) from None
            error = failure.message
        else:
            messages.success(request, _("Coupon created."))
            return redirect("coupons:console")
    return render(
        request,
        "coupons/console/new.html",
        {"shop": shop, "form": form, "error": error, "nav_active": "me"},
    )


@require_POST
@login_required
def console_coupon_pause(request, coupon_id):
    coupon = selectors.merchant_coupon(public_id=coupon_id, actor=request.user)
    _run(
        request,
        lambda: services.pause_coupon(coupon=coupon, actor=request.user),
        success=_("Coupon paused."),
    )
    return redirect("coupons:console")


@require_POST
@login_required
def console_coupon_resume(request, coupon_id):
    coupon = selectors.merchant_coupon(public_id=coupon_id, actor=request.user)
    _run(
        request,
        lambda: services.resume_coupon(coupon=coupon, actor=request.user),
        success=_("Coupon resumed."),
    )
    return redirect("coupons:console")
