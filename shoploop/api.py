"""The JSON API at /api/v1: one NinjaAPI, one router per app, one error shape.

Every error answers ``{"error": {"code": …, "message": …, "fields"?: {…}}}`` with a 4xx status.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from shoploop.accounts.api import router as accounts_router
from shoploop.accounts.auth import api_auth
from shoploop.catalog.api import router as catalog_router
from shoploop.chat.api import router as chat_router
from shoploop.communities.api import router as communities_router
from shoploop.content.api import router as content_router
from shoploop.core.errors import DomainError
from shoploop.coupons.api import router as coupons_router
from shoploop.crowdtasks.api import router as crowdtasks_router
from shoploop.deals.api import router as deals_router
from shoploop.feed.api import router as feed_router
from shoploop.ideas.api import router as ideas_router
from shoploop.insights.api import router as insights_router
from shoploop.ledger.api import router as ledger_router
from shoploop.notifications.api import router as notifications_router
from shoploop.orders.api import router as orders_router
from shoploop.referrals.api import router as referrals_router

APP_PACKAGE = "shoploop."
COMPONENTS = "#/components/schemas/{model}"


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(Schema):
    """Every 4xx answer of the API has this shape."""

    error: ErrorDetail


# What each error status means for a client; every operation may answer these.
ERROR_STATUSES = {
    400: "The request is malformed (unparsable body, characters that are not allowed).",
    403: "Not allowed for the caller.",
    404: "Something named in the request does not exist (or is not visible to the caller).",
    405: "This path answers other methods only (``Allow`` lists them): ``method_not_allowed``.",
    409: "Conflicts with the current state (already done, sold out, key reused...).",
    422: "Some input is not valid; ``fields`` says which.",
    503: "A provider (payments, SMS) cannot be reached right now; try again later.",
}
SIGN_IN_STATUS = {401: "Sign in first (a bearer token or the session)."}
RATE_LIMIT_STATUS = {429: "Too many requests; ``rate_limited``."}


def _routers_of(api_: NinjaAPI):
    """Every router, nested ones included, once each. (ninja lists the nested routers in
    ``_routers`` only after it has built its URLs, so walk the tree instead.)"""
    seen: set[int] = set()
    stack = [router for _prefix, router in api_._routers]
    while stack:
        router = stack.pop()
        if id(router) in seen:
            continue
        seen.add(id(router))
        yield router
        stack.extend(child for _prefix, child, *_tags in router._routers)


def operations_of(api_: NinjaAPI):
    """Every operation of every router (ninja keeps them per path, per router)."""
    for router in _routers_of(api_):
        for path_operation in router.path_operations.values():
            yield from path_operation.operations


class ShoploopAPI(NinjaAPI):
    """The document says what the API does:

    - operation ids are one readable scheme, ``<app>_<function>`` (``catalog_list_products``,
      ``deals_groups_join_group``), so generated clients get stable, meaningful method names;
    - every operation declares its error answers with the one error schema.
    """

    def get_openapi_operation_id(self, operation) -> str:
        module = operation.view_func.__module__.removeprefix(APP_PACKAGE)
        app = module.removesuffix(".api").replace(".", "_")
        return f"{app}_{operation.view_func.__name__}"

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorOut.model_json_schema(ref_template=COMPONENTS)
        schemas.update(error_schema.pop("$defs", {}))
        schemas["ErrorOut"] = error_schema
        money = {
            self.get_openapi_operation_id(op)
            for op in operations_of(self)
            if getattr(op.view_func, "money_endpoint", False)
            or getattr(op.view_func, "rate_limited", False)
        }
        for methods in document["paths"].values():
            for operation in methods.values():
                responses = operation.setdefault("responses", {})
                statuses = dict(ERROR_STATUSES)
                if operation.get("security"):  # ninja lists the schemes of signed-in operations
                    statuses.update(SIGN_IN_STATUS)
                if operation["operationId"] in money:
                    statuses.update(RATE_LIMIT_STATUS)
                for status, description in statuses.items():
                    responses.setdefault(status, _error_response(description))
        return document


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": COMPONENTS.format(model="ErrorOut")}}},
    }


api = ShoploopAPI(
    title="Shoploop API",
    version="1",
    description="Community commerce: attention → communication → transaction → sharing.",
    urls_namespace="api-1",
    auth=api_auth,
)


def error_response(request, *, status: int, code: str, message: str, fields=None):
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return api.create_response(request, {"error": body}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, {"error": exc.as_dict()}, status=exc.status)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    fields = {}
    for err in exc.errors:
        location = [
            str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")
        ]
        fields[".".join(location) or "request"] = err.get("msg", "invalid")
    return error_response(
        request,
        status=422,
        code="invalid",
        message=_("Some request parameters are not valid."),
        fields=fields,
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return error_response(
        request, status=401, code="not_authenticated", message=_("Please sign in first.")
    )


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error_response(request, status=404, code="not_found", message=_("Not found."))


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return error_response(
        request, status=exc.status_code, code=f"http_{exc.status_code}", message=str(exc)
    )


api.add_router("/accounts", accounts_router)
api.add_router("/communities", communities_router)
api.add_router("/catalog", catalog_router)
api.add_router("/ledger", ledger_router)
api.add_router("/orders", orders_router)
api.add_router("/coupons", coupons_router)
api.add_router("/deals", deals_router)
api.add_router("/notifications", notifications_router)
api.add_router("/chat", chat_router)
api.add_router("/content", content_router)
api.add_router("/referrals", referrals_router)
api.add_router("/feed", feed_router)
api.add_router("/ideas", ideas_router)
api.add_router("/crowdtasks", crowdtasks_router)
api.add_router("/insights", insights_router)
