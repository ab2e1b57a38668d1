"""Group buying (拼团): some merchants run a group campaign on one item; people from the shop's
communities and interests open groups and pay (or not), friends and strangers join; groups that
fill succeed and go to shipping, others fail at their deadline and everyone is refunded
(``deals_groups.settle_groups``), unpaid seats are freed after 5 minutes
(``deals_groups.free_unpaid_seats``), and campaigns end with their leftovers back in stock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shoploop.deals.groups import selectors as group_selectors
from shoploop.deals.groups import services as groups
from shoploop.ledger.services import payments
from shoploop.simulation.activities.base import ShopCampaigns
from shoploop.simulation.activities.orders import buyer_address

# Tunables of this behaviour (the world's parameters do not know group buying yet).
CAMPAIGN_SHARE = 0.5  # of approved shops with something on sale run a group campaign
GROUPS_PER_CAMPAIGN = 2.0  # mean groups opened the day it starts
JOINERS_PER_SEAT = 1.2  # mean joiners per open seat (some never pay: some groups fail)
PAY_RATE = 0.85  # chance that someone holding a seat pays for it


@dataclass(slots=True)
class CampaignPlan:
    campaign: Any  # the GroupCampaign
    shop: int  # shop plan index


class GroupBuying(ShopCampaigns):
    """Merchants start campaigns; buyers open groups, share them and fill (or fail) them."""

    name = "group_buying"

    share = CAMPAIGN_SHARE

    def start_campaign(self, shop_index: int, *, day: int, at) -> None:
        plan = self._create(shop_index, at=at)
        if plan is not None:
            self._play(plan, day=day, at=at)

    def last_day(self, day: int) -> None:
        self._demo_group(day)

    def _demo_group(self, day: int) -> None:
        """So the demo shows an open group to join: the first shop's campaign on the last day,
        with a paid leader and a day to go."""
        world = self.world
        if not world.shops or 0 not in world.approved_shops or not world.shops[0].offers:
            return
        (at,) = world.moments(1)
        plan = self._create(0, at=at, group_minutes=24 * 60)
        if plan is None:
            return
        leader = self.world.shop_customer(plan.shop, exclude=set())
        if leader is None:
            return
        seat = world.call(
            groups.open_group,
            at=at,
            outcome="groups.opened",
            campaign=plan.campaign,
            user=world.user(leader),
            address_id=buyer_address(world, world.user(leader), at=at),
        )
        if seat is not None:
            self._pay(seat, leader, at=at, always=True)

    def _create(self, index: int, *, at, group_minutes=None) -> CampaignPlan | None:
        world, rng = self.world, self.world.rng
        shop_plan = world.shops[index]
        offer = world.offers[rng.choice(shop_plan.offers)]
        price = offer.price_fen * rng.choice((70, 80, 85)) // 100
        if price < 1:
            return None
        size = rng.choice((2, 3, 3, 5))
        campaign = world.call(
            groups.create_campaign,
            at=at,
            outcome="groups.campaign_created",
            actor=world.user(shop_plan.owner),
            sku=group_selectors.sku_by_public_id(public_id=offer.sku_public_id),
            group_price_fen=price,
            leader_price_fen=price * 9 // 10 if rng.random() < 0.3 else None,
            group_size=size,
            group_minutes=group_minutes or rng.choice((60, 240, 24 * 60)),
            starts_at=at,
            ends_at=at + timedelta(days=rng.choice((3, 7, 14))),
            stock=rng.randint(6, 20),
            per_user_limit=1,
            min_paid_to_complete=size - 1 if size > 2 and rng.random() < 0.3 else None,
        )
        return CampaignPlan(campaign=campaign, shop=index) if campaign is not None else None

    def _play(self, plan: CampaignPlan, *, day: int, at) -> None:
        world, rng = self.world, self.world.rng
        seen: set[int] = set()
        for _ in range(max(1, world.geometric(GROUPS_PER_CAMPAIGN))):
            leader = self.world.shop_customer(plan.shop, exclude=seen)
            if leader is None:
                continue
            seen.add(leader)
            at += timedelta(minutes=rng.randint(1, 30))
            seat = world.call(
                groups.open_group,
                at=at,
                outcome="groups.opened",
                campaign=group_selectors.campaign_by_public_id(public_id=plan.campaign.public_id),
                user=world.user(leader),
                address_id=buyer_address(world, world.user(leader), at=at),
            )
            if seat is None or not self._pay(seat, leader, at=at):
                continue
            at = self._fill(plan, seat.group.public_id, seen, day=day, at=at)

    def _fill(self, plan: CampaignPlan, group_id: str, seen: set[int], *, day: int, at):
        world, rng = self.world, self.world.rng
        size = plan.campaign.group_size
        for _ in range(world.geometric(JOINERS_PER_SEAT * (size - 1))):
            person = self.world.shop_customer(plan.shop, exclude=seen)
            if person is None:
                continue
            seen.add(person)
            at += timedelta(minutes=rng.randint(1, 20))
            seat = world.call(
                groups.join_group,
                at=at,
                outcome="groups.joined",
                group=group_selectors.group_by_public_id(public_id=group_id),
                user=world.user(person),
                address_id=buyer_address(world, world.user(person), at=at),
            )
            if seat is not None:
                self._pay(seat, person, at=at)
        group = group_selectors.group_by_public_id(public_id=group_id)
        if group.state == "succeeded":
            world.outcomes["groups.succeeded"] += 1
            seats = list(group.seats.filter(state="paid").select_related("order"))
            # Each member's order becomes paid when the group fills, not when the seat paid.
            world.orders_paid([seat.order.public_id for seat in seats], at=group.closed_at)
            for seat in seats:
                world.schedule("ship", day + rng.randint(1, 2), (seat.order.public_id, plan.shop))
        return at

    def _pay(self, seat, person: int, *, at, always: bool = False) -> bool:
        world, rng = self.world, self.world.rng
        if rng.random() >= PAY_RATE and not always:
            world.outcomes["groups.seat_never_paid"] += 1
            return False  # the 5-minute sweep frees the seat
        payment = payments.payment_by_public_id(public_id=seat.order.checkout.payment_public_id)
        answered = world.call(
            payments.respond_in_sandbox,
            at=at + timedelta(seconds=rng.randint(20, 200)),
            outcome="payment.approve",
            payment=payment,
            actor=world.user(person),
            approve=True,
        )
        world.flush()  # the sandbox callback captures; the seat becomes a paid member
        return answered is not None
