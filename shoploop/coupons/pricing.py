"""What a coupon takes off a subtotal: integer fen only.

Rounding: a percentage discount is ``subtotal * percent // 100`` — floor division, so the buyer
never gets a fraction of a fen more than the percentage (the merchant keeps the fraction). Then the
coupon's cap applies, and no discount ever exceeds the subtotal (an order never goes negative).
"""

from shoploop.coupons.models import Coupon


def discount_for(*, coupon: Coupon, subtotal_fen: int) -> int:
    if coupon.kind == Coupon.Kind.PERCENT:
        discount = min(subtotal_fen * coupon.percent_off // 100, coupon.max_discount_fen)
    else:
        discount = coupon.amount_off_fen
    return max(0, min(discount, subtotal_fen))
