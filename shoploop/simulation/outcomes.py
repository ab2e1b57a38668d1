"""What the money loop did, counted from the database for world.json: ground truth for insights
next to the parameters that produced it. Reads only."""

from django.db.models import Count, Q, Sum

from shoploop.coupons.models import Coupon, CouponClaim
from shoploop.ledger.models import Payment, Refund, Withdrawal
from shoploop.orders.models import AfterSale, Order


def _count_and_sum(queryset, field: str, by: str) -> dict[str, dict[str, int]]:
    rows = queryset.values(by).annotate(count=Count("pk"), fen=Sum(field)).order_by(by)
    return {row[by]: {"count": row["count"], "fen": row["fen"] or 0} for row in rows}


def money_outcomes() -> dict:
    orders = Order.objects.all()
    paid = orders.filter(paid_at__isnull=False)
    paid_totals = paid.aggregate(gmv=Sum("total_fen"), refunded=Sum("refunded_fen"))
    redeemed = CouponClaim.objects.filter(order_ref__isnull=False)
    return {
        "orders_by_state": _count_and_sum(orders, "total_fen", "state"),
        "cancel_reasons": dict(
            orders.exclude(cancel_reason="")
            .values_list("cancel_reason")
            .annotate(count=Count("pk"))
            .order_by("cancel_reason")
        ),
        # GMV: what buyers paid (after coupons) for orders that were paid, refunds not deducted.
        "gmv_fen": paid_totals["gmv"] or 0,
        "paid_orders": paid.count(),
        "refunded_fen_on_orders": paid_totals["refunded"] or 0,
        "platform_fees_fen": orders.aggregate(fees=Sum("fee_fen"))["fees"] or 0,
        "discount_fen": orders.aggregate(discount=Sum("discount_fen"))["discount"] or 0,
        "payments_by_state": _count_and_sum(Payment.objects.all(), "amount", "state"),
        "refunds_by_state": _count_and_sum(Refund.objects.all(), "amount", "state"),
        "refunds_by_reason": _count_and_sum(Refund.objects.all(), "amount", "reason"),
        "after_sales_by_state": _count_and_sum(AfterSale.objects.all(), "amount_fen", "state"),
        "coupons_by_kind": dict(
            Coupon.objects.values_list("kind").annotate(count=Count("pk")).order_by("kind")
        ),
        "coupon_claims": CouponClaim.objects.count(),
        "coupon_redemptions": {
            "count": redeemed.count(),
            "discount_fen": redeemed.aggregate(fen=Sum("discount_fen"))["fen"] or 0,
            "on_paid_orders": orders.filter(
                ~Q(coupon_claim_public_id=""), paid_at__isnull=False
            ).count(),
        },
        "withdrawals_by_state": _count_and_sum(Withdrawal.objects.all(), "amount", "state"),
    }


def sharing_outcomes() -> dict:
    """Links, visits, sign-ups, attributed purchases and commissions by state (referrals), and
    the 团长's pickup commissions by state."""
    from shoploop.orders.models import LeaderCommission
    from shoploop.referrals.models import Attribution, Commission, Promoter, ShareLink, ShareVisit

    links = ShareLink.objects.aggregate(links=Count("pk"), purchases=Sum("purchases_count"))
    return {
        "links": links["links"] or 0,
        "visits": ShareVisit.objects.count(),
        "signed_in_visits": ShareVisit.objects.filter(visitor__isnull=False).count(),
        "attributed_orders": Attribution.objects.count(),
        "attributed_fen": Attribution.objects.aggregate(fen=Sum("total_fen"))["fen"] or 0,
        "promoters": Promoter.objects.count(),
        "commissions_by_state": _count_and_sum(Commission.objects.all(), "amount_fen", "state"),
        "leader_commissions_by_state": _count_and_sum(
            LeaderCommission.objects.all(), "amount_fen", "state"
        ),
        "commissions_by_level": {
            str(level): count
            for level, count in Commission.objects.values_list("level")
            .annotate(count=Count("pk"))
            .order_by("level")
        },
    }


def crowdtask_outcomes() -> dict:
    """Crowdsourcing tasks by state and reward, entries, winners, and the money a task reward
    moved: reserved = paid + refunded + still reserved (open tasks)."""
    from shoploop.crowdtasks.models import Entry, Task, Winner

    money = Task.objects.filter(reward_kind=Task.RewardKind.MONEY).aggregate(
        reserved=Sum("reserved_fen"), paid=Sum("paid_fen"), refunded=Sum("refunded_fen")
    )
    return {
        "tasks_by_state": dict(
            Task.objects.values_list("state").annotate(count=Count("pk")).order_by("state")
        ),
        "tasks_by_reward": dict(
            Task.objects.values_list("reward_kind")
            .annotate(count=Count("pk"))
            .order_by("reward_kind")
        ),
        "entries": Entry.objects.count(),
        "winners": Winner.objects.count(),
        "reserved_fen": money["reserved"] or 0,
        "paid_fen": money["paid"] or 0,
        "refunded_fen": money["refunded"] or 0,
    }
