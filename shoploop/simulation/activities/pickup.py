"""团长 and pickup (自提): some community owners appoint a group leader (themself or a member)
who opens a pickup point; some shops pay 团长 a commission per order; some buyers with a point
in their communities choose to pick up; the 团长 collects those orders (docs/pickup.md).

Draws come from a generator of their own (seeded apart from the world's), so teaching the
world this behaviour leaves every other draw of a seed as it was."""

from __future__ import annotations

import random

from shoploop.communities import leader_services
from shoploop.orders import pickup_selectors
from shoploop.orders import services as orders
from shoploop.simulation.activities.base import Activity, own_stream

# A community is considered for a pickup point once it has this many members.
MIN_MEMBERS_FOR_POINT = 3
_POINT_NAMES = ("菜鸟驿站旁", "小区南门便利店", "3 号楼大堂", "物业服务中心", "社区活动室")
_HOURS = ("每天 9:00–21:00", "工作日 17:00–21:00，周末全天", "每天 8:00–20:00")


def pickup_rng(world, *parts) -> random.Random:
    """A generator for one pickup decision, from (seed, parts): the same world for a seed."""
    return random.Random(":".join([str(world.params.seed), "pickup", *map(str, parts)]))


class PickupPoints(Activity):
    """Once a community has a few members, its owner decides once (``pickup_community_share``)
    to appoint a 团长 (themself or a member, ``pickup_owner_leads_share``) who opens a point; each
    approved shop decides once (``pickup_commission_shop_share``) to pay 团长 a commission."""

    name = "pickup"

    def __init__(self, world):
        super().__init__(world)
        self.rng = own_stream(world.params.seed, "pickup")
        self.decided_communities: set[int] = set()
        self.decided_shops: set[int] = set()

    def play_day(self, day: int) -> None:
        world, params = self.world, self.world.params
        ready = [
            plan
            for plan in world.communities
            if plan.community is not None
            and plan.fate == "active"
            and plan.index not in self.decided_communities
            and len(plan.members) >= MIN_MEMBERS_FOR_POINT
        ]
        for plan, moment in zip(ready, world.moments(len(ready), rng=self.rng), strict=True):
            self.decided_communities.add(plan.index)
            if self.rng.random() < params.pickup_community_share:
                self._open_point(plan, at=moment)
        shops = [i for i in world.approved_shops if i not in self.decided_shops]
        for index, moment in zip(shops, world.moments(len(shops), rng=self.rng), strict=True):
            self.decided_shops.add(index)
            if self.rng.random() < params.pickup_commission_shop_share:
                world.call(
                    orders.update_shop_pickup_settings,
                    at=moment,
                    outcome="pickup.shop_commission_set",
                    actor=world.user(world.shops[index].owner),
                    shop=world.shops[index].shop,
                    offers_pickup=True,
                    leader_commission_fen=self.rng.randrange(*params.pickup_commission_fen, 10),
                )

    def _open_point(self, plan, *, at) -> None:
        world = self.world
        others = [member for member in plan.members if member != plan.owner]
        if others and self.rng.random() >= world.params.pickup_owner_leads_share:
            leader = self.rng.choice(others)
        else:
            leader = plan.owner
        appointed = world.call(
            leader_services.appoint_leader,
            at=at,
            outcome="pickup.leader_appointed",
            actor=world.user(plan.owner),
            community=plan.community,
            user=world.user(leader),
        )
        if appointed is None:
            return
        world.call(
            orders.create_pickup_point,
            at=at,
            outcome="pickup.point_opened",
            actor=world.user(leader),
            community=plan.community,
            name=self.rng.choice(_POINT_NAMES),
            address=f"{plan.name}所在小区 {self.rng.randint(1, 30)} 号楼",
            hours=self.rng.choice(_HOURS),
        )


def pickup_choice(world, buyer, *, at) -> str:
    """The public id of the point this buyer picks up at for this checkout, or "" (delivery):
    a buyer with points in their communities chooses one with ``pickup_choice_rate``."""
    rng = pickup_rng(world, "choice", buyer.phone, at.isoformat())
    if rng.random() >= world.params.pickup_choice_rate:
        return ""
    points = list(pickup_selectors.points_for_buyer(user=buyer).values_list("public_id", flat=True))
    return rng.choice(points) if points else ""


def collect(world, order, *, at):
    """The point's 团长 hands the order over against the buyer's code (counts as receipt)."""
    point = order.pickup_point
    return world.call(
        orders.collect_pickup,
        at=at,
        outcome="pickup.collected",
        point=point,
        actor=point.leader,
        code=order.pickup_code,
    )
