"""Request hygiene that every endpoint needs, applied once at the door."""

from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from shoploop.core.errors import RateLimited
from shoploop.core.ratelimit import limit_money_calls

NUL = "\x00"


def _text_has_nul(values) -> bool:
    return any(NUL in key or any(NUL in v for v in vals) for key, vals in values.lists())


def _body_has_nul(request) -> bool:
    content_type = request.content_type or ""
    if content_type.startswith("multipart/") or content_type.startswith(
        "application/x-www-form-urlencoded"
    ):
        return _text_has_nul(request.POST)  # uploaded files may contain NUL bytes legitimately
    body = request.body
    # JSON can carry NUL only as the escape \u0000 (a raw NUL is invalid JSON anyway).
    return b"\x00" in body or b"\\u0000" in body.lower()


class RejectNulCharactersMiddleware:
    """No person types a NUL character and PostgreSQL text cannot store one: such input is refused
    with a 400 before any view runs, instead of failing deep inside a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if NUL in request.path or _text_has_nul(request.GET) or _body_has_nul(request):
            return self._refuse(request)
        return self.get_response(request)

    def _refuse(self, request):
        message = _("The request contains characters that are not allowed.")
        if request.path.startswith("/api/"):
            body = {"error": {"code": "invalid_characters", "message": message}}
            return JsonResponse(body, status=400, json_dumps_params={"ensure_ascii": False})
        return HttpResponseBadRequest(message)


# Pages that move money, by URL name: a POST to one counts against the same per-user limit as
# the API's money endpoints (core/ratelimit.py).
MONEY_PAGES = frozenset(
    {
        "orders:checkout",
        "orders:pay",  # a new payment attempt
        "ledger:wechat_checkout",  # "I have paid" asks WeChat at once
        "ledger:cashier",
        "ledger:wallet",  # the withdrawal form
        "referrals:mine",  # a promoter's withdrawal form
        "deals_groups:join",
        "deals_groups:open",
        "deals_bargains:buy",
        "deals_flash:buy",
        "deals_crowdfunding:back",
    }
)


class MoneyPagesRateLimitMiddleware:
    """Each signed-in user gets ``MONEY_RATE_PER_MINUTE`` money-moving form posts a minute; past
    that the page answers 429 and nothing happens."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if (
            request.method != "POST"
            or match is None
            or match.view_name not in MONEY_PAGES
            or not request.user.is_authenticated
        ):
            return None
        try:
            limit_money_calls(request.user)
        except RateLimited as refused:
            context = {"status": 429, "title": _("Please slow down"), "message": refused.message}
            return render(request, "web/error.html", context, status=429)
        return None


class ApiMethodNotAllowedMiddleware:
    """A path of the API that only other methods answer gets the API's error shape, not a bare
    405: a literal route and a parameter route can share a path (``/flash-sales/shop/end`` is
    ``GET shop/{sale_id}`` with the id "end"), and clients read every 4xx the same way."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or not request.path.startswith("/api/"):
            return response
        answer = JsonResponse(
            {
                "error": {
                    "code": "method_not_allowed",
                    "message": _("This address does not answer %(method)s.")
                    % {"method": request.method},
                }
            },
            status=405,
        )
        if response.has_header("Allow"):
            answer["Allow"] = response["Allow"]
        return answer
