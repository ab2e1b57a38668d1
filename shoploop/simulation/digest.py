"""A fingerprint of the world's content (not its random ids or wall-clock times), to prove that the
same seed builds the same world."""

import hashlib
import json

from django.contrib.auth import get_user_model

from shoploop.accounts.models import Block, Follow
from shoploop.catalog.models import SKU, Product, Shop
from shoploop.communities.models import Community, Membership
from shoploop.coupons.models import Coupon, CouponClaim
from shoploop.ledger.models import Payment, Refund, Withdrawal
from shoploop.orders.models import AfterSale, Order, OrderLine


def _rows(queryset, *fields) -> list:
    # repr as the sort key: rows may hold None next to numbers.
    return sorted(queryset.values_list(*fields), key=repr)


def money_content() -> dict[str, list]:
    """Orders, payments, refunds, coupons and payouts by their states and amounts (their public
    ids, keys and timestamps are random or wall-clock and stay out)."""
    order_key = ("order__buyer__phone", "order__shop__owner__phone", "order__total_fen")
    return {
        "orders": _rows(
            Order.objects,
            "buyer__phone",
            "shop__owner__phone",
            "state",
            "subtotal_fen",
            "discount_fen",
            "total_fen",
            "refunded_fen",
            "fee_fen",
            "cancel_reason",
            "carrier",
            "tracking_number",
        ),
        "order_lines": _rows(
            OrderLine.objects,
            *order_key,
            "title",
            "options",
            "unit_price_fen",
            "quantity",
            "paid_fen",
            "refunded_quantity",
            "refunded_fen",
        ),
        "after_sales": _rows(
            AfterSale.objects, *order_key, "kind", "state", "reason", "amount_fen"
        ),
        "payments": _rows(
            Payment.objects, "payer__phone", "amount", "state", "captured_fen", "refunded_fen"
        ),
        "refunds": _rows(Refund.objects, "payment__payer__phone", "amount", "reason", "state"),
        "coupons": _rows(
            Coupon.objects,
            "shop__owner__phone",
            "name",
            "kind",
            "amount_off_fen",
            "percent_off",
            "max_discount_fen",
            "min_spend_fen",
            "total_quantity",
            "claimed_count",
        ),
        "coupon_claims": _rows(
            CouponClaim.objects,
            "coupon__shop__owner__phone",
            "coupon__name",
            "user__phone",
            "discount_fen",
        ),
        "withdrawals": _rows(
            Withdrawal.objects, "shop__owner__phone", "amount", "state", "account_masked"
        ),
    }


def world_content() -> dict[str, list]:
    users = get_user_model().objects
    community_key = ("community__name", "community__owner__phone")
    return {
        **money_content(),
        "users": sorted(users.values_list("phone", "display_name", "locale", "is_staff")),
        "follows": sorted(Follow.objects.values_list("follower__phone", "followee__phone")),
        "blocks": sorted(Block.objects.values_list("blocker__phone", "blocked__phone")),
        "communities": sorted(
            Community.objects.values_list(
                "name", "owner__phone", "visibility", "state", "member_count", "description"
            )
        ),
        "community_tags": sorted(
            Community.tags.through.objects.values_list(*community_key, "interesttag__name")
        ),
        "memberships": sorted(
            Membership.objects.values_list(*community_key, "user__phone", "role", "state")
        ),
        "shops": sorted(Shop.objects.values_list("owner__phone", "name", "status")),
        "shop_listings": sorted(
            Shop.communities.through.objects.values_list("shop__owner__phone", *community_key)
        ),
        "products": sorted(
            Product.objects.values_list(
                "shop__owner__phone", "title", "category", "is_published", "description"
            )
        ),
        "skus": sorted(
            SKU.objects.values_list(
                "product__shop__owner__phone",
                "product__title",
                "options_key",
                "price_fen",
                "list_price_fen",
                "stock",
            ),
            key=repr,
        ),
    }


def world_digest() -> str:
    text = json.dumps(world_content(), ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
