"""Coupon template helpers: a coupon's terms in words, and the shop page's claimable coupons."""

from django import template
from django.utils.translation import gettext

from shoploop.core.money import format_fen
from shoploop.coupons import selectors
from shoploop.coupons.models import Coupon

register = template.Library()


@register.simple_tag
def coupon_terms(coupon: Coupon) -> str:
    """``¥10.00 off orders from ¥50.00`` / ``15% off, at most ¥20.00`` (escaped by the template)."""
    if coupon.kind == Coupon.Kind.PERCENT:
        terms = gettext("%(percent)d%% off, at most %(cap)s") % {
            "percent": coupon.percent_off,
            "cap": format_fen(coupon.max_discount_fen),
        }
    else:
        terms = gettext("%(amount)s off") % {"amount": format_fen(coupon.amount_off_fen)}
    if coupon.min_spend_fen:
        terms = gettext("%(terms)s on orders from %(minimum)s") % {
            "terms": terms,
            "minimum": format_fen(coupon.min_spend_fen),
        }
    return terms


@register.inclusion_tag("coupons/_shop_coupons.html", takes_context=True)
def shop_coupons(context, shop):
    """``{% shop_coupons shop %}``: the shop's claimable coupons with a claim button each."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "coupons": list(selectors.claimable_coupons(shop=shop, user=user)),
        "user": user,
        "next": request.get_full_path() if request else "",
        "csrf_token": context.get("csrf_token"),
    }
