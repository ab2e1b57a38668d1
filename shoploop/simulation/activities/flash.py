"""Flash sales (秒杀): some merchants put one item on a short, cheap, limited sale; a crowd of
interested people rushes in at the start (a few double-tap), the lucky ones pay, some never pay
and their units come back after the payment window (``deals_flash.release_unpaid``), and the
sale ends at its deadline with the leftovers back in stock (``deals_flash.end_sales``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shoploop.deals.flash import selectors as flash_selectors
from shoploop.deals.flash import services as flash
from shoploop.ledger.services import payments
from shoploop.simulation.activities.base import ShopCampaigns
from shoploop.simulation.activities.orders import buyer_address

# Tunables of this behaviour (the world's parameters do not know flash sales yet).
SALE_SHARE = 0.4  # of approved shops with something on sale run one flash sale
CROWD_PER_UNIT = 2.5  # mean rushers per unit on sale
PAY_RATE = 0.8  # chance that a buyer who got a unit pays for it
DOUBLE_TAP = 0.15  # chance that a rusher taps "buy" twice


@dataclass(slots=True)
class FlashPlan:
    sale: Any  # the FlashSale
    shop: int  # shop plan index


class FlashSales(ShopCampaigns):
    """Merchants create a sale starting a few minutes later; the crowd rushes at the start."""

    name = "flash_sale"

    share = SALE_SHARE

    def start_campaign(self, shop_index: int, *, day: int, at) -> None:
        plan = self._create(shop_index, at=at)
        if plan is not None:
            self._rush(plan, day=day)

    def last_day(self, day: int) -> None:
        self._demo_sales(day)

    def _demo_sales(self, day: int) -> None:
        """So the demo shows both faces of the product-page block: the first shop's sale is
        still running after the world ends (remaining stock), and another one starts tonight
        (countdown)."""
        world = self.world
        if not world.shops or 0 not in world.approved_shops or not world.shops[0].offers:
            return
        running_at, upcoming_at = world.moments(2)
        running = self._create(0, at=running_at, lasts=timedelta(days=3), stock=10)
        if running is not None:
            self._rush(running, day=day, crowd_per_unit=0.5)
        self._create(
            0,
            at=upcoming_at,
            starts_at=world.day_start(day + 1) + timedelta(hours=20),
            lasts=timedelta(hours=2),
        )

    def _create(
        self, index: int, *, at, starts_at=None, lasts=None, stock=None
    ) -> FlashPlan | None:
        world, rng = self.world, self.world.rng
        shop_plan = world.shops[index]
        offer = world.offers[rng.choice(shop_plan.offers)]
        price = offer.price_fen * rng.choice((50, 60, 70)) // 100
        if price < 1:
            return None
        starts_at = starts_at or at + timedelta(minutes=rng.randint(2, 10))
        lasts = lasts or timedelta(hours=rng.choice((1, 2, 3)))
        sale = world.call(
            flash.create_sale,
            at=at,
            outcome="flash.created",
            shop=shop_plan.shop,
            actor=world.user(shop_plan.owner),
            sku=flash_selectors.sku_by_public_id(public_id=offer.sku_public_id),
            price_fen=price,
            stock=stock or rng.randint(2, 6),
            starts_at=starts_at,
            ends_at=starts_at + lasts,
            per_user_limit=rng.choice((1, 1, 2)),
        )
        return FlashPlan(sale=sale, shop=index) if sale is not None else None

    def _rush(self, plan: FlashPlan, *, day: int, crowd_per_unit: float = CROWD_PER_UNIT) -> None:
        world, rng = self.world, self.world.rng
        crowd: list[int] = []
        for _ in range(max(1, world.geometric(crowd_per_unit * plan.sale.stock))):
            person = self.world.shop_customer(plan.shop, exclude=set(crowd))
            if person is not None:
                crowd.append(person)
        at = plan.sale.starts_at
        for person in crowd:
            at += timedelta(milliseconds=rng.randint(50, 3000))
            taps = 2 if rng.random() < DOUBLE_TAP else 1
            for _ in range(taps):
                self._buy(plan, person, day=day, at=at)

    def _buy(self, plan: FlashPlan, person: int, *, day: int, at) -> None:
        world, rng = self.world, self.world.rng
        buyer = world.user(person)
        # Each tap reads the sale afresh, as a page or API request would.
        sale = flash_selectors.sale_by_public_id(public_id=plan.sale.public_id)
        purchase = world.call(
            flash.buy,
            at=at,
            outcome="flash.reserved",
            sale=sale,
            user=buyer,
            address_id=buyer_address(world, buyer, at=at),
        )
        if purchase is None or rng.random() >= PAY_RATE:
            return  # refused (sold out, limit) or never paid: the window gives the unit back
        payment = payments.payment_by_public_id(public_id=purchase.order.checkout.payment_public_id)
        answered = world.call(
            payments.respond_in_sandbox,
            at=at + timedelta(seconds=rng.randint(20, 200)),
            outcome="payment.approve",
            payment=payment,
            actor=buyer,
            approve=True,
        )
        world.flush()  # the sandbox callback captures; the purchase's order becomes paid
        if answered is None:
            return
        order = purchase.order
        order.refresh_from_db()
        if order.state == "paid":
            world.outcomes["flash.paid"] += 1
            world.orders_paid([order.public_id])
            world.schedule("ship", day + rng.randint(1, 2), (order.public_id, plan.shop))
