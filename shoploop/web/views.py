"""Pages of the shell: home, me, the coming-soon pages and the error pages.

Data comes only through other apps' selectors; this module never touches their models.
"""

import logging

from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.selectors import products_for_user, shop_of
from shoploop.communities.selectors import (
    communities_for_you,
    my_communities,
    popular_communities,
)
from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.deals.crowdfunding.selectors import live_projects
from shoploop.deals.flash.selectors import live_sales
from shoploop.feed.presenters import card
from shoploop.feed.selectors import ORDERS as FEED_ORDERS
from shoploop.feed.selectors import RANKED, feed_page, well_reviewed_products
from shoploop.orders.selectors import BUYER_TABS, buyer_tab_counts
from shoploop.web.context_processors import shell

logger = logging.getLogger(__name__)

HOME_COMMUNITIES = 6
MY_COMMUNITY_CHIPS = 12
HOME_PRODUCTS = 12
HOME_DEALS = 3
MORE_PRODUCTS_STEP = 12
MAX_PRODUCTS = 60
HOME_REVIEWED_PRODUCTS = 6


def home(request):
    # "Show more" through htmx asks only for the product grid; without JavaScript it is a link.
    partial = request.htmx and request.GET.get("products")
    if request.user.is_authenticated:
        context = _member_home_context(request)
        if not partial:
            context.update(_feed_context(request))
    else:
        context = _visitor_home_context()
    context["nav_active"] = "home"
    context.update(_live_deals())
    response = render(request, "web/_home_products.html" if partial else "web/home.html", context)
    patch_vary_headers(response, ["HX-Request"])  # the same URL answers two shapes
    return response


def _member_home_context(request) -> dict:
    product_limit = _requested_product_count(request)
    products = products_for_user(user=request.user, limit=product_limit + 1)
    suggestions = communities_for_you(user=request.user, limit=HOME_COMMUNITIES)
    return {
        "my_communities": my_communities(user=request.user)[:MY_COMMUNITY_CHIPS],
        "community_entries": [{"community": s.community, "reason": s.reason} for s in suggestions],
        "products": products[:product_limit],
        # One extra product fetched tells whether a "show more" link is worth showing.
        "more_products": product_limit + MORE_PRODUCTS_STEP
        if len(products) > product_limit and product_limit < MAX_PRODUCTS
        else None,
    }


def _visitor_home_context() -> dict:
    communities = popular_communities(limit=HOME_COMMUNITIES)
    return {
        "community_entries": [{"community": c, "reason": None} for c in communities],
        "well_reviewed": well_reviewed_products(limit=HOME_REVIEWED_PRODUCTS),
    }


def _feed_context(request) -> dict:
    """The reader's feed (ranked unless ``?order=latest``), one page from ``?cursor=``; a cursor
    that is not valid shows the first page with a word about it."""
    order = request.GET.get("order") if request.GET.get("order") in FEED_ORDERS else RANKED
    context = {"feed_order": order, "feed_error": None}
    try:
        page = feed_page(user=request.user, cursor=request.GET.get("cursor"), order=order)
    except DomainError as error:
        context["feed_error"] = error.message
        page = feed_page(user=request.user, order=order)
    context["feed_cards"] = [{"item": item, "card": card(item)} for item in page.items]
    context["feed_next"] = page.next_cursor
    context["feed_continued"] = bool(request.GET.get("cursor")) and not context["feed_error"]
    return context


def _live_deals() -> dict:
    """Live crowdfunding projects and running or upcoming flash sales, for everyone."""
    return {
        "live_projects": list(live_projects()[:HOME_DEALS]),
        "flash_sales": live_sales(limit=HOME_DEALS),
        "now": clock.now(),
    }


def _requested_product_count(request) -> int:
    """?products=N (from "show more"), clamped to a sane range; junk means the default."""
    try:
        count = int(request.GET.get("products", HOME_PRODUCTS))
    except (TypeError, ValueError):
        return HOME_PRODUCTS
    return max(HOME_PRODUCTS, min(count, MAX_PRODUCTS))


def me(request):
    context = {"nav_active": "me"}
    if request.user.is_authenticated:
        context["menu"] = _me_menu(request.user)
        context["order_shortcuts"] = _order_shortcuts(request.user)
    return render(request, "web/me.html", context)


def _order_shortcuts(user) -> list[dict]:
    """待付款 待发货 待收货 待评价 退款/售后: each with its count and its filtered order list."""
    from shoploop.content.selectors import lines_awaiting_review

    counts = buyer_tab_counts(buyer=user)
    orders_url = reverse("orders:list")
    shortcuts = [
        {"key": tab, "label": label, "count": counts[tab], "url": f"{orders_url}?tab={tab}"}
        for tab, label in BUYER_TABS.items()
    ]
    # 待评价 lists the received order lines still waiting for a review (the content app).
    for shortcut in shortcuts:
        if shortcut["key"] == "to_review":
            shortcut["count"] = lines_awaiting_review(user=user).count()
            shortcut["url"] = reverse("content:to_review")
    return shortcuts


def _me_menu(user) -> list[dict]:
    """The links on the Me page, in the order a person looks for them."""
    links = [
        _link(_("My profile"), reverse("accounts:profile", args=[user.public_id])),
        _link(_("Edit profile"), reverse("accounts:edit_profile")),
        # The communities page has a "my communities" section.
        _link(_("My communities"), reverse("communities:list") + "#my-communities"),
        _link(_("My orders"), reverse("orders:list")),
        _link(_("My deals"), reverse("deals:mine")),
        _link(_("My coupons"), reverse("coupons:mine")),
        _link(_("My task entries"), reverse("crowdtasks:mine")),
        _link(_("My favourites"), reverse("content:favourites")),
        _link(_("My reviews"), reverse("content:to_review")),
        *_leader_links(user),
        _link(_("My shares"), reverse("referrals:mine")),
        *_merchant_links(user),
        _link(_("API tokens"), reverse("accounts:tokens")),
    ]
    if user.is_staff:
        links.append(_link(_("Operations admin"), reverse("admin:index")))
        links.append(_link(_("Reported content"), reverse("content:operator_reports")))
        links.append(_link(_("Suspicious referral clusters"), reverse("referrals:clusters")))
    return links


def _leader_links(user) -> list[dict]:
    """A 团长 (or someone who ran a pickup point) finds their points and earnings here."""
    from shoploop.communities.models import CommunityLeader

    if not CommunityLeader.objects.filter(user=user).exists():
        return []
    return [_link(_("My pickup points"), reverse("orders:pickup_home"))]


def _merchant_links(user) -> list[dict]:
    shop = shop_of(user=user)
    if shop is None:
        return [_link(_("Open a shop"), reverse("catalog:shop_apply"))]
    # A shop under review (or turned down) says so; the console explains what to do next.
    note = "" if shop.is_approved else shop.get_status_display()
    return [
        _link(_("My shop"), reverse("catalog:shop", args=[shop.public_id]), note=note),
        _link(_("Merchant console"), reverse("catalog:console")),
        _link(_("Orders to ship"), reverse("orders:merchant_to_ship")),
        _link(_("After-sale requests"), reverse("orders:merchant_after_sales")),
        _link(_("Wallet"), reverse("ledger:wallet")),
        _link(_("Commissions"), reverse("referrals:console")),
    ]


def _link(label, url: str, *, note: str = "") -> dict:
    return {"label": label, "url": url, "note": note}


# Error pages (handler400/403/404/500 in shoploop/urls.py).

ERRORS = {
    400: (_("Bad request"), _("We could not understand that request. Please check and try again.")),
    403: (_("Not allowed"), _("You are not allowed to see this page.")),
    404: (_("Page not found"), _("This page does not exist or has been removed.")),
    500: (_("Something went wrong"), _("Sorry, an error happened on our side. Please try again.")),
}
CSRF_FAILED = (
    _("Please try again"),
    _("This form has expired or came from another site. Reload the page and send it again."),
)


def _error_page(request, status: int):
    title, message = ERRORS[status]
    context = {"status": status, "title": title, "message": message}
    return render(request, "web/error.html", context, status=status)


def bad_request(request, exception=None):
    return _error_page(request, 400)


def permission_denied(request, exception=None):
    return _error_page(request, 403)


def page_not_found(request, exception=None):
    return _error_page(request, 404)


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: a stale or foreign form gets a page a person understands."""
    title, message = CSRF_FAILED
    context = {"status": 403, "title": title, "message": message}
    return render(request, "web/error.html", context, status=403)


# Used when even the layout cannot be rendered; deliberately without template or database.
PLAIN_500 = (
    '<!doctype html><html><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>500 · Shoploop</title></head><body><h1>500</h1>"
    '<p>Something went wrong. 出错了。</p><p><a href="/">Home · 首页</a></p></body></html>'
)


def server_error(request):
    """Render without the request: no context processors, no session, no database reads, so a
    failing middleware or database cannot break the error page too."""
    title, message = ERRORS[500]
    try:
        context = {
            **shell(None),
            "status": 500,
            "title": title,
            "message": message,
        }
        html = loader.render_to_string("web/error.html", context)
    except Exception:
        logger.exception("the 500 page could not be rendered; answering with plain HTML")
        html = PLAIN_500
    return HttpResponseServerError(html)
