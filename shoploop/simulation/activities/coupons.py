"""Coupons: shops create a few (fixed amount or percentage off); interested people claim them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shoploop.core.money import FEN_PER_YUAN
from shoploop.coupons import services as coupons
from shoploop.simulation.activities.base import Activity
from shoploop.simulation.world import HeldCoupon, ShopPlan

# Coupons stay valid a month after the simulated period, so the demo's coupons still work today.
VALID_AFTER_WORLD_DAYS = 30
_SOURCES = ("community", "theme")
_PICK_TRIES = 4


@dataclass(slots=True)
class CouponPlan:
    coupon: Any  # the Coupon
    shop: int  # shop plan index
    min_spend_fen: int
    claimed_by: set[int] = field(default_factory=set)  # person indices
    sold_out: bool = False


def whole_yuan(fen: int) -> int:
    """Round down to whole yuan, at least ¥1 (coupon amounts read better round)."""
    return max(FEN_PER_YUAN, fen // FEN_PER_YUAN * FEN_PER_YUAN)


def zhe_label(percent_off: int) -> str:
    """15 % off is "8.5折", 10 % off "9折" (integer arithmetic only)."""
    tenths = 100 - percent_off
    whole, rest = divmod(tenths, 10)
    return f"{whole}.{rest}折" if rest else f"{whole}折"


class CreateCoupons(Activity):
    """Once a shop has something on sale, its merchant creates ``coupons_per_shop`` coupons."""

    name = "coupon_create"

    def play_day(self, day: int) -> None:
        world = self.world
        ready = [
            index
            for index in world.approved_shops
            if not world.shops[index].coupons_made and world.shops[index].offers
        ]
        for index in ready:
            plan = world.shops[index]
            plan.coupons_made = True
            count = world.rng.randint(*world.params.coupons_per_shop)
            for moment in world.moments(count):
                self._create(index, plan, at=moment)

    def _create(self, index: int, plan: ShopPlan, *, at) -> None:
        world, rng = self.world, self.world.rng
        typical = sorted(world.offers[offer].price_fen for offer in plan.offers)[
            len(plan.offers) // 2
        ]
        if rng.random() < world.params.percent_coupon_share:
            percent = rng.choice((5, 10, 15, 20))
            terms = {
                "kind": "percent",
                "name": f"全店{zhe_label(percent)}券",
                "percent_off": percent,
                "max_discount_fen": whole_yuan(typical * rng.choice((20, 30, 50)) // 100),
                "min_spend_fen": 0,
            }
        else:
            amount = whole_yuan(typical * rng.choice((5, 10, 15)) // 100)
            min_spend = whole_yuan(typical * rng.choice((100, 150, 200)) // 100)
            terms = {
                "kind": "fixed",
                "name": f"满{min_spend // FEN_PER_YUAN}减{amount // FEN_PER_YUAN}",
                "amount_off_fen": amount,
                "min_spend_fen": min_spend,
            }
        ends_at = world.day_start(world.params.days + VALID_AFTER_WORLD_DAYS)
        coupon = world.call(
            coupons.create_coupon,
            at=at,
            outcome=f"coupon.created.{terms['kind']}",
            actor=world.user(plan.owner),
            shop=plan.shop,
            starts_at=at - timedelta(minutes=1),
            ends_at=ends_at,
            total_quantity=rng.randint(*world.params.coupon_quantity),
            per_user_limit=1,
            **terms,
        )
        if coupon is not None:
            world.coupons.append(
                CouponPlan(coupon=coupon, shop=index, min_spend_fen=terms["min_spend_fen"])
            )


class ClaimCoupons(Activity):
    """Each day a few people interested in a shop (its communities, its theme) claim a coupon."""

    name = "coupon_claim"

    def play_day(self, day: int) -> None:
        world = self.world
        wanted = []
        for coupon in world.coupons:
            if coupon.sold_out:
                continue
            for _ in range(world.geometric(world.params.coupon_claims_per_coupon_day)):
                claimant = self._claimant(coupon)
                if claimant is not None:
                    coupon.claimed_by.add(claimant)
                    wanted.append((coupon, claimant))
        for (coupon, person_index), moment in zip(wanted, world.moments(len(wanted)), strict=True):
            self._claim(coupon, person_index, at=moment)

    def _claimant(self, coupon: CouponPlan) -> int | None:
        """Someone interested who has not claimed it yet and does not own the shop."""
        world = self.world
        shop = world.shops[coupon.shop]
        for _ in range(_PICK_TRIES):
            source = world.rng.choice(_SOURCES)
            if source == "community" and shop.listed:
                members = world.communities[world.rng.choice(shop.listed)].members
                candidate = world.rng.choice(members) if members else None
            else:
                pool = world.pool_by_theme[shop.theme]
                candidate = world.rng.choice(pool) if pool else None
            if (
                candidate is not None
                and candidate != shop.owner
                and candidate not in coupon.claimed_by
            ):
                return candidate
        return None

    def _claim(self, coupon: CouponPlan, person_index: int, *, at) -> None:
        world = self.world
        claim = world.call(
            coupons.claim_coupon,
            at=at,
            outcome="coupon.claimed",
            coupon=coupon.coupon,
            user=world.user(person_index),
        )
        if claim is None:
            # Sold out (or paused): nobody else tries today's leftovers of it again.
            coupon.sold_out = True
            return
        world.held_coupons.setdefault((person_index, coupon.shop), []).append(
            HeldCoupon(claim_public_id=claim.public_id, min_spend_fen=coupon.min_spend_fen)
        )
