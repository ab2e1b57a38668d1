"""Bargaining (砍价): some shops run a campaign on one of their items; interested people start
bargains and ask friends (community members, people with the same interests) to help; the
finished ones buy at the floor and pay in the sandbox cashier; the rest expire at their deadline
(``deals_bargains.expire`` in the day's settle_due)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shoploop.deals.bargains import services as bargains
from shoploop.ledger.services import payments
from shoploop.simulation.activities.base import Activity, ShopCampaigns
from shoploop.simulation.activities.orders import buyer_address
from shoploop.simulation.world import CUSTOMER_PICK_TRIES, CUSTOMER_SOURCES

# Tunables of this behaviour (the world's parameters do not know bargains yet).
CAMPAIGN_SHARE = 0.6  # of approved shops with something on sale run one campaign
BARGAINS_PER_CAMPAIGN_DAY = 1.5  # mean bargains started per running campaign per day
HELP_RATE = 0.7  # chance that an asked friend helps
BUY_RATE = 0.8  # chance that a buyer with a finished bargain buys (and pays)
ASK_EXTRA = 2  # friends asked beyond the helpers needed


@dataclass(slots=True)
class CampaignPlan:
    campaign: Any  # the BargainCampaign
    shop: int  # shop plan index
    sold_out: bool = False


def _campaigns(world) -> list[CampaignPlan]:
    """The running campaigns, kept on the world so both activities see them."""
    if not hasattr(world, "bargain_campaigns"):
        world.bargain_campaigns = []
    return world.bargain_campaigns


class CreateBargainCampaigns(ShopCampaigns):
    """Once a shop has something on sale, about half of the merchants start one campaign."""

    name = "bargain_campaign"

    share = CAMPAIGN_SHARE

    def start_campaign(self, shop_index: int, *, day: int, at) -> None:
        self._create(shop_index, at=at)

    def _create(self, index: int, *, at) -> None:
        world, rng = self.world, self.world.rng
        plan = world.shops[index]
        offer = world.offers[rng.choice(plan.offers)]
        start = offer.price_fen
        floor = rng.choice((0, start // 10, start // 5, start // 2))
        helpers = rng.randint(2, 5)
        if start - floor < helpers:
            return
        campaign = world.call(
            bargains.create_campaign,
            at=at,
            outcome="bargain.campaign_created",
            actor=world.user(plan.owner),
            sku_public_id=offer.sku_public_id,
            start_price_fen=start,
            floor_price_fen=floor,
            helpers_needed=helpers,
            stock=rng.randint(3, 10),
            ends_at=world.day_start(world.params.days + 30),
            hours_per_bargain=rng.choice((12, 24, 48)),
            buy_before_floor=rng.random() < 0.3,
        )
        if campaign is not None:
            _campaigns(world).append(CampaignPlan(campaign=campaign, shop=index))


class Bargaining(Activity):
    """People start bargains, friends help (some do not, so some bargains expire), finished
    bargains are bought at the floor and paid; the paid orders are shipped like any other."""

    name = "bargaining"

    def play_day(self, day: int) -> None:
        world = self.world
        wanted = []
        for plan in _campaigns(world):
            if plan.sold_out:
                continue
            for _ in range(world.geometric(BARGAINS_PER_CAMPAIGN_DAY)):
                initiator = self.world.shop_customer(plan.shop, exclude=set())
                if initiator is not None:
                    wanted.append((plan, initiator))
        for (plan, initiator), moment in zip(wanted, world.moments(len(wanted)), strict=True):
            self._bargain(plan, initiator, day=day, at=moment)

    def _friend_of(self, initiator: int, plan: CampaignPlan, exclude: set[int]) -> int | None:
        world = self.world
        for _ in range(CUSTOMER_PICK_TRIES):
            candidate = world.candidate_from(world.rng.choice(CUSTOMER_SOURCES), initiator)
            owner = world.shops[plan.shop].owner
            if candidate is not None and candidate not in exclude and candidate != owner:
                return candidate
        return None

    def _bargain(self, plan: CampaignPlan, initiator: int, *, day: int, at) -> None:
        world, rng = self.world, self.world.rng
        buyer = world.user(initiator)
        bargain = world.call(
            bargains.start_bargain,
            at=at,
            outcome="bargain.started",
            campaign=plan.campaign,
            user=buyer,
        )
        if bargain is None:
            plan.campaign.refresh_from_db()
            plan.sold_out = plan.campaign.stock_left == 0 or plan.campaign.state != "active"
            return
        asked = {initiator}
        for _ in range(plan.campaign.helpers_needed + ASK_EXTRA):
            friend = self._friend_of(initiator, plan, asked)
            if friend is None:
                break
            asked.add(friend)
            if rng.random() >= HELP_RATE:
                continue
            at += timedelta(seconds=rng.randint(20, 300))
            world.call(
                bargains.help_bargain,
                at=at,
                outcome="bargain.helped",
                bargain=bargain,
                helper=world.user(friend),
            )
            if bargain.helps_left == 0:
                break
        ready = bargain.helps_left == 0 or (plan.campaign.buy_before_floor and rng.random() < 0.3)
        if ready and rng.random() < BUY_RATE:
            at += timedelta(seconds=rng.randint(30, 600))
            self._buy(plan, bargain, buyer, day=day, at=at)

    def _buy(self, plan: CampaignPlan, bargain, buyer, *, day: int, at) -> None:
        world, rng = self.world, self.world.rng
        order = world.call(
            bargains.buy,
            at=at,
            outcome="bargain.bought" + (".at_floor" if bargain.helps_left == 0 else ".early"),
            bargain=bargain,
            user=buyer,
            address_id=buyer_address(world, buyer, at=at),
        )
        if order is None:
            plan.sold_out = True  # sold out (or ended): nobody starts another one here
            return
        if order.checkout.payment_public_id:
            payment = payments.payment_by_public_id(public_id=order.checkout.payment_public_id)
            answered = world.call(
                payments.respond_in_sandbox,
                at=at + timedelta(minutes=rng.randint(1, 5)),
                outcome="payment.approve",
                payment=payment,
                actor=buyer,
                approve=True,
            )
            world.flush()  # the sandbox callback captures; the bargain's order becomes paid
            if answered is None:
                return
        order.refresh_from_db()
        if order.state == "paid":
            world.outcomes["bargain.paid"] += 1
            world.orders_paid([order.public_id])
            world.schedule("ship", day + rng.randint(1, 2), (order.public_id, plan.shop))
