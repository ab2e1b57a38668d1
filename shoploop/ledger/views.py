"""Ledger pages: the sandbox cashier, the providers' webhook, the merchant's wallet. Thin: parse,
call a service or selector, render; a DomainError's message is shown on the page."""

import logging
from uuid import uuid4

import qrcode
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from qrcode.image.svg import SvgPathImage

from shoploop.core.client_ip import client_ip
from shoploop.core.deployment import SANDBOX_PAYMENT_PROVIDER, sandbox_allowed
from shoploop.core.errors import DomainError
from shoploop.core.money import parse_yuan
from shoploop.ledger import selectors
from shoploop.ledger.errors import PaymentStateConflict
from shoploop.ledger.forms import WithdrawalForm
from shoploop.ledger.models import Payment
from shoploop.ledger.providers import get_provider
from shoploop.ledger.services import payments, payouts, wechat

logger = logging.getLogger(__name__)

LINES_PER_PAGE = 20
RECENT_WITHDRAWALS = 20


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


@login_required
def cashier(request, payment_id):
    """The sandbox cashier, where buyers approve their own payments (never in production), and
    for a real provider's payment the page the buyer lands on after paying: its state."""
    payment = payments.payment_for_payer(public_id=payment_id, actor=request.user)
    if payment.provider == SANDBOX_PAYMENT_PROVIDER and not sandbox_allowed():
        raise Http404(_("No such page."))
    if payment.provider != "sandbox" and payment.state == Payment.State.REQUIRES_PAYMENT:
        return redirect(payments.payment_start_url(payment))
    error = None
    if request.method == "POST" and payment.provider == SANDBOX_PAYMENT_PROVIDER:
        approve = request.POST.get("action") == "confirm"
        try:
            payments.respond_in_sandbox(payment=payment, actor=request.user, approve=approve)
        except DomainError as failure:
            error = failure.message
        else:
            target = reverse("ledger:cashier", kwargs={"payment_id": payment.public_id})
            next_url = _safe_next(request)
            return redirect(f"{target}?next={next_url}" if next_url else target)
        payment.refresh_from_db()
    return render(
        request,
        "ledger/cashier.html",
        {"payment": payment, "error": error, "next": _safe_next(request)},
    )


@csrf_exempt  # a provider cannot send our CSRF token; the body's signature authenticates it
@require_POST
def webhook(request, provider):
    """A provider's notification. Whatever is wrong with it (an unknown, disabled or unconfigured
    provider, a bad signature, a malformed body) answers 4xx and logs one line; never 500."""
    if provider == SANDBOX_PAYMENT_PROVIDER and not sandbox_allowed():
        return _refuse_callback(provider, "provider_disabled", status=404)
    try:
        handler = get_provider(provider)
        payments.handle_callback(provider=provider, body=request.body, headers=request.headers)
    except (ImproperlyConfigured, OSError):  # no app id, or a key file that cannot be read
        return _refuse_callback(provider, "provider_not_configured", status=404)
    except DomainError as refused:
        status = 404 if refused.code == "unknown_provider" else 400
        return _refuse_callback(provider, refused.code, status=status)
    return HttpResponse(handler.ack_body, content_type=handler.ack_content_type)


WECHAT_OPENID_SESSION_KEY = "ledger:wechat-openid"


PHONE_MARKERS = ("mobi", "android", "iphone", "ipad")


def _in_wechat(request) -> bool:
    return "micromessenger" in request.headers.get("User-Agent", "").lower()


def _on_phone(request) -> bool:
    agent = request.headers.get("User-Agent", "").lower()
    return any(marker in agent for marker in PHONE_MARKERS)


def _qr_svg(link: str) -> str:
    """The link as an inline SVG QR code (drawn here from our own data: safe to embed)."""
    return qrcode.make(link, image_factory=SvgPathImage, box_size=8).to_string(encoding="unicode")


@login_required
def wechat_checkout(request, payment_id):
    """WeChat Pay's start: JSAPI inside WeChat's browser, H5 in other phone browsers, a Native QR
    code on desktop. The buyer
        comes back here (``?returned=1``); "I have paid" asks WeChat at once instead of waiting for
        the notification."""
    cashier_url = reverse("ledger:cashier", kwargs={"payment_id": payment_id})
    context = {"payment_id": payment_id, "cashier_url": cashier_url}
    try:
        if request.method == "POST":
            payments.refresh_payment(public_id=payment_id, actor=request.user)
            return redirect(f"{request.path}?returned=1")
        if request.GET.get("returned"):
            payment = payments.payment_for_payer(public_id=payment_id, actor=request.user)
            if payment.state != Payment.State.REQUIRES_PAYMENT:
                return redirect(cashier_url)
            return render(request, "ledger/wechat_checkout.html", {**context, "returned": True})
        # Checked before any round trip to WeChat: only the payer, only an open payment.
        wechat.open_wechat_payment(public_id=payment_id, actor=request.user)
        if _in_wechat(request):
            return _wechat_jsapi(request, payment_id, context)
        if not _on_phone(request):
            link = wechat.native_checkout_link(public_id=payment_id, actor=request.user)
            qr = mark_safe(_qr_svg(link))  # our own drawing of WeChat's code_url
            return render(request, "ledger/wechat_checkout.html", {**context, "qr": qr})
        return redirect(
            wechat.h5_checkout_url(
                public_id=payment_id,
                actor=request.user,
                client_ip=client_ip(request) or "",
                return_url=request.build_absolute_uri(f"{request.path}?returned=1"),
            )
        )
    except PaymentStateConflict as answered:
        if answered.code == "payment_already_answered":
            return redirect(cashier_url)
        context["error"] = answered.message
        status = answered.status
    except DomainError as failure:
        context["error"] = failure.message
        status = failure.status
    return render(request, "ledger/wechat_checkout.html", context, status=status)


def _wechat_jsapi(request, payment_id, context):
    openid = request.session.get(WECHAT_OPENID_SESSION_KEY)
    if not openid and request.GET.get("code"):
        openid = wechat.wechat_openid(code=request.GET["code"])
        request.session[WECHAT_OPENID_SESSION_KEY] = openid
    if not openid:
        return redirect(
            wechat.wechat_oauth_url(
                redirect_uri=request.build_absolute_uri(request.path), state=payment_id[:32]
            )
        )
    params = wechat.jsapi_checkout_params(public_id=payment_id, actor=request.user, openid=openid)
    return render(request, "ledger/wechat_checkout.html", {**context, "jsapi": params})


def _refuse_callback(provider: str, code: str, *, status: int) -> HttpResponse:
    logger.warning("webhook %s refused: %s", provider[:40], code)
    response = HttpResponse(f"fail: {code}", status=status, content_type="text/plain")
    response._has_been_logged = True  # the line above says it all; django.request adds no second
    return response


@login_required
def wallet(request):
    wallet_now = selectors.wallet_of(actor=request.user)
    form = WithdrawalForm(initial={"request_key": uuid4().hex})
    error = None
    if request.method == "POST":
        form = WithdrawalForm(request.POST)
        if form.is_valid():
            error = _withdraw(request, form.cleaned_data)
            if error is None:
                messages.success(request, _("Withdrawal requested. It is on its way to your bank."))
                return redirect("ledger:wallet")
        # A corrected form is a new request: it gets a fresh one-time key.
        form.data = form.data.copy()
        form.data["request_key"] = uuid4().hex
    lines = Paginator(selectors.wallet_lines(actor=request.user), LINES_PER_PAGE)
    return render(
        request,
        "ledger/wallet.html",
        {
            "wallet": wallet_now,
            "lines": lines.get_page(request.GET.get("page")),
            "withdrawals": selectors.withdrawals_of(actor=request.user)[:RECENT_WITHDRAWALS],
            "form": form,
            "error": error,
            "minimum": payouts.MIN_WITHDRAWAL_FEN,
            "nav_active": "me",
        },
    )


def _withdraw(request, data) -> str | None:
    try:
        payouts.request_withdrawal(
            actor=request.user,
            amount=parse_yuan(data["amount"], field="amount"),
            account_holder=data["account_holder"],
            account_number=data["account_number"],
            request_key=data["request_key"],
        )
    except DomainError as failure:
        return failure.message
    return None
