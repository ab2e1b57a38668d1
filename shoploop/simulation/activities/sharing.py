"""Sharing: people share what they like as short links; friends open them, some sign in and buy;
shops that pay commissions turn sharers who opted in (推广员) into earners.

Known rates (ground truth in world.json): ``share_rate`` (a person with user shares an offer on a
day), ``share_visits_per_link`` (mean friends who open a new link), ``share_conversion`` (a friend
who opened it buys), ``promoter_share`` (a sharer opts in as a promoter), ``commission_shop_share``
(a shop pays commissions, at ``commission_level1_bps`` / ``commission_level2_bps``). The viral
coefficient the insights should recover is share_rate × visits_per_link × conversion per buyer.
"""

from __future__ import annotations

from datetime import timedelta

from shoploop.orders import services as orders
from shoploop.referrals import services as referrals
from shoploop.simulation.activities.base import Activity
from shoploop.simulation.activities.orders import Shopping


class Sharing(Activity):
    name = "sharing"

    def __init__(self, world):
        super().__init__(world)
        self.schemes_decided: set[int] = set()
        self.promoters: set[int] = set()
        self.shopping = Shopping(world)

    def play_day(self, day: int) -> None:
        world = self.world
        if not world.offers:
            return
        self._shop_schemes()
        sharers = [
            person
            for person in world.people
            if person.user_id is not None and world.rng.random() < world.params.share_rate
        ]
        for person, moment in zip(sharers, world.moments(len(sharers)), strict=True):
            self._share(person, day=day, at=moment)

    def _shop_schemes(self) -> None:
        world, params = self.world, self.world.params
        for index in world.approved_shops:
            plan = world.shops[index]
            if index in self.schemes_decided or not plan.offers:
                continue
            self.schemes_decided.add(index)
            if world.rng.random() < params.commission_shop_share:
                world.call(
                    referrals.set_shop_commission,
                    at=world.moments(1)[0],
                    outcome="referrals.scheme.set",
                    actor=world.user(plan.owner),
                    enabled=True,
                    level1_bps=params.commission_level1_bps,
                    level2_bps=params.commission_level2_bps,
                )

    def _share(self, person, *, day: int, at) -> None:
        world, params = self.world, self.world.params
        offer_index = self.shopping._candidate(person)
        if offer_index is None:
            return
        offer = world.offers[offer_index]
        sharer = world.user(person.index)
        if person.index not in self.promoters and world.rng.random() < params.promoter_share:
            self.promoters.add(person.index)
            world.call(referrals.become_promoter, at=at, outcome="referrals.promoter", user=sharer)
        product_public_id = self._product_of(offer.sku_public_id)
        joined = world.memberships.get(person.index)
        community = world.communities[world.rng.choice(joined)] if joined else None
        link = world.call(
            referrals.create_share_link,
            at=at,
            outcome="referrals.link.created",
            sharer=sharer,
            kind="product",
            target_public_id=product_public_id,
            community_public_id=community.community.public_id
            if community is not None
            and community.community is not None
            and community.fate == "active"
            else "",
        )
        if link is None:
            return
        for _ in range(world.geometric(params.share_visits_per_link)):
            friend = self._friend(person, community)
            if friend is None or world.people[friend].user_id is None:
                continue
            at += timedelta(minutes=world.rng.randint(1, 180))
            visitor = world.user(friend)
            world.call(
                referrals.record_visit,
                at=at,
                outcome="referrals.link.visited",
                code=link.code,
                visitor=visitor,
                ip=f"10.{friend % 250}.{friend // 250 % 250}.{world.rng.randint(1, 250)}",
            )
            if world.rng.random() < params.share_conversion:
                self._buy(world.people[friend], visitor, offer, day=day, at=at)

    def _buy(self, person, buyer, offer, *, day: int, at) -> None:
        world = self.world
        if world.shops[offer.shop].owner == person.index:
            return
        at += timedelta(minutes=world.rng.randint(1, 30))
        line = world.call(
            orders.add_to_cart,
            at=at,
            outcome="referrals.cart.added",
            user=buyer,
            sku_public_id=offer.sku_public_id,
            quantity=1,
        )
        if line is None:
            return
        index = world.offers.index(offer)
        checkout = self.shopping._checkout(person, buyer, [(index, 1)], at=at)
        if checkout is None:
            self.shopping._empty_cart(buyer, [(index, 1)], at=at)
            return
        world.outcomes["referrals.purchase.attempted"] += 1
        self.shopping._pay(person, buyer, checkout, day=day, at=at)

    def _friend(self, person, community) -> int | None:
        world = self.world
        if community is not None and len(community.members) > 1:
            for _ in range(4):
                friend = world.rng.choice(community.members)
                if friend != person.index:
                    return friend
        friend = world.rng.randrange(len(world.people))
        return friend if friend != person.index else None

    @staticmethod
    def _product_of(sku_public_id: str) -> str:
        from shoploop.catalog.models import SKU

        return (
            SKU.objects.filter(public_id=sku_public_id)
            .values_list("product__public_id", flat=True)
            .first()
            or ""
        )
