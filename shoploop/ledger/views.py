"""Ledger pages: the sandbox cashier, the providers' webhook, the merchant's wallet. Thin: parse,
call a service or selector, render; a DomainError's message is shown on the page."""

import logging
from uuid import uuid4

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shoploop.core.deployment import SANDBOX_PAYMENT_PROVIDER, sandbox_allowed
from shoploop.core.errors import DomainError
from shoploop.core.money import parse_yuan
from shoploop.ledger import selectors
from shoploop.ledger.forms import WithdrawalForm
from shoploop.ledger.models import Payment
from shoploop.ledger.providers import get_provider
from shoploop.ledger.services import payments, payouts

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
    if not sandbox_allowed():  # buyers approve their own payments here: never in production
        raise Http404(_("No such page."))
    payment = payments.payment_for_payer(public_id=payment_id, actor=request.user)
    if payment.provider != "sandbox" and payment.state == Payment.State.REQUIRES_PAYMENT:
        return redirect(payments.payment_start_url(payment))
    error = None
    if request.method == "POST":
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
