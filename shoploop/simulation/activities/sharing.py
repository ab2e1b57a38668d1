"""Sharing: people share what they like as short links; friends open them and some buy; shops
that pay commissions turn sharers who opted in (推广员) into earners.

Known rates (ground truth in world.json): ``share_rate`` (a person shares an offer on a day),
``share_visits_per_link`` (mean friends who open a new link), ``share_conversion`` (a friend who
opened it buys), ``promoter_share`` (a sharer opts in as a promoter), ``commission_shop_share``
(a shop pays commissions, at ``commission_level1_bps`` / ``commission_level2_bps``). New buyers
per sharer-day, the viral coefficient, is share_rate × share_visits_per_link × share_conversion.

This activity draws from its own random generator, so the rest of the world plays the same
choices as without it; the orders it brings are then shipped and received like any other.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from shoploop.catalog.models import SKU
from shoploop.insights.batch import attribution_window
from shoploop.ledger.services import payments
from shoploop.orders import services as orders
from shoploop.orders.models import OrderLine
from shoploop.referrals import services as referrals
from shoploop.simulation.activities.base import Activity, own_stream
from shoploop.simulation.activities.orders import PAID, buyer_address, paid_orders

_FRIEND_TRIES = 4


class Sharing(Activity):
    name = "sharing"

    def __init__(self, world):
        super().__init__(world)
        self.rng = own_stream(world.params.seed, "sharing")
        self.schemes_decided: set[int] = set()
        self.promoters: set[int] = set()
        # What was played, for loop truth (world.json "loop_played"): person-days that could
        # share, and per community public id ("" for none) new links, visits, the purchases
        # they brought by insights' rule ("link_purchases") and those this activity's own draws
        # caused ("caused", a subset but for a purchase made before its visit's window).
        self.played = world.loop_played = {
            "user_days": 0,
            "attribution_hours": attribution_window().total_seconds() / 3600,
            "communities": {},
        }
        # (visitor pk, product public id) → [(moment, community public id)], in the order played.
        self.visits: dict[tuple[int, str], list[tuple[datetime, str]]] = defaultdict(list)
        world.on_orders_paid = self._orders_paid

    def _played(self, community_public_id: str) -> dict[str, int]:
        return self.played["communities"].setdefault(
            community_public_id, {"shares": 0, "visits": 0, "link_purchases": 0, "caused": 0}
        )

    def _orders_paid(self, order_public_ids: list[str], at: datetime | None) -> None:
        """Insights' rule (docs/insights.md): each product of a paid order that its buyer opened
        a link to within the attribution window before is a purchase that link brought (the last
        such link). Counted here from what the world played: the visits this activity made and
        the orders every activity saw paid, whichever activity bought them."""
        window = attribution_window()
        lines = (
            OrderLine.objects.filter(order__public_id__in=order_public_ids)
            .exclude(product_public_id="")
            .values_list("order_id", "order__buyer_id", "order__paid_at", "product_public_id")
            .order_by("order_id", "pk")
        )
        for _order, buyer, paid_at, product in dict.fromkeys(lines):
            moment = at or paid_at
            for visited_at, community in reversed(self.visits.get((buyer, product), ())):
                if moment - window <= visited_at <= moment:
                    self._played(community)["link_purchases"] += 1
                    break

    def play_day(self, day: int) -> None:
        world, rng = self.world, self.rng
        if not world.offers:
            return
        self._shop_schemes()
        present = [person for person in world.people if person.user_id is not None]
        # Signed-up person-days, as the events tell them (the operator has signed up too).
        operator = world.operator is not None and world.operator.user_id is not None
        self.played["user_days"] += len(present) + operator
        sharers = [person for person in present if rng.random() < world.params.share_rate]
        for person, moment in zip(sharers, world.moments(len(sharers), rng=rng), strict=True):
            self._share(person, day=day, at=moment)

    def _geometric(self, mean: float) -> int:
        if mean <= 0:
            return 0
        success, count = 1.0 / (1.0 + mean), 0
        while self.rng.random() > success:
            count += 1
        return count

    def _shop_schemes(self) -> None:
        world, params = self.world, self.world.params
        for index in world.approved_shops:
            plan = world.shops[index]
            if index in self.schemes_decided or not plan.offers:
                continue
            self.schemes_decided.add(index)
            if self.rng.random() < params.commission_shop_share:
                world.call(
                    referrals.set_shop_commission,
                    at=world.moments(1, rng=self.rng)[0],
                    outcome="referrals.scheme.set",
                    actor=world.user(plan.owner),
                    enabled=True,
                    level1_bps=params.commission_level1_bps,
                    level2_bps=params.commission_level2_bps,
                )

    def _offer_for(self, person) -> int | None:
        """An offer from one of the person's communities, else any offer."""
        world = self.world
        joined = world.memberships.get(person.index)
        pool = world.offers_by_community.get(self.rng.choice(joined)) if joined else None
        if pool:
            return self.rng.choice(pool)
        return self.rng.randrange(len(world.offers))

    def _share(self, person, *, day: int, at) -> None:
        world, params, rng = self.world, self.world.params, self.rng
        offer_index = self._offer_for(person)
        offer = world.offers[offer_index]
        sharer = world.user(person.index)
        if person.index not in self.promoters and rng.random() < params.promoter_share:
            self.promoters.add(person.index)
            world.call(referrals.become_promoter, at=at, outcome="referrals.promoter", user=sharer)
        joined = world.memberships.get(person.index)
        community = world.communities[rng.choice(joined)] if joined else None
        if community is not None and (community.community is None or community.fate != "active"):
            community = None
        link = world.call(
            referrals.create_share_link,
            at=at,
            outcome="referrals.link.created",
            sharer=sharer,
            kind="product",
            target_public_id=_product_of(offer.sku_public_id),
            community_public_id=community.community.public_id if community else "",
        )
        if link is None:
            return
        link_community = community.community.public_id if community else ""
        played = self._played(link_community)
        played["shares"] += link.created_at == at  # a new link (not one found again)
        for _ in range(self._geometric(params.share_visits_per_link)):
            friend = self._friend(person, community)
            if friend is None or world.people[friend].user_id is None:
                continue
            at += timedelta(minutes=rng.randint(1, 180))
            visitor = world.user(friend)
            visit = world.call(
                referrals.record_visit,
                at=at,
                outcome="referrals.link.visited",
                code=link.code,
                visitor=visitor,
                ip=f"10.{friend % 250}.{friend // 250 % 250}.{rng.randint(1, 250)}",
            )
            if visit is not None:
                played["visits"] += 1
                self.visits[(visitor.pk, link.target_public_id)].append((at, link_community))
            if rng.random() < params.share_conversion:
                played["caused"] += self._buy(friend, visitor, offer_index, day=day, at=at)

    def _buy(self, person_index: int, buyer, offer_index: int, *, day: int, at) -> int:
        """The friend buys one of what was shared and pays (approves in the sandbox); 1 when an
        order with it was paid."""
        world = self.world
        offer = world.offers[offer_index]
        if world.shops[offer.shop].owner == person_index:
            return 0
        at += timedelta(minutes=self.rng.randint(1, 30))
        line = world.call(
            orders.add_to_cart,
            at=at,
            outcome="referrals.cart.added",
            user=buyer,
            sku_public_id=offer.sku_public_id,
            quantity=1,
        )
        if line is None:
            return 0
        checkout = world.call(
            orders.checkout,
            at=at,
            outcome="referrals.checkout",
            buyer=buyer,
            coupons=None,
            address_public_id=buyer_address(world, buyer, at=at),
        )
        if checkout is None:
            world.call(
                orders.remove_from_cart,
                at=at,
                outcome="cart.removed",
                user=buyer,
                sku_public_id=offer.sku_public_id,
            )
            return 0
        at += timedelta(minutes=self.rng.randint(1, 10))
        world.call(
            payments.respond_in_sandbox,
            at=at,
            outcome="referrals.payment.approve",
            payment=payments.payment_by_public_id(public_id=checkout.payment_public_id),
            actor=buyer,
            approve=True,
        )
        world.flush()  # the signed callback marks the orders paid (and attributes them)
        for public_id, shop_pk in paid_orders(world, checkout):
            ship_day = day + self.rng.randint(*world.params.ship_delay_days)
            world.schedule("ship", ship_day, (public_id, world.shop_index_by_pk[shop_pk]))
        # The cart may have held other things too: the link brought the order with its product.
        return int(
            checkout.orders.filter(state=PAID, lines__sku__public_id=offer.sku_public_id).exists()
        )

    def _friend(self, person, community) -> int | None:
        world = self.world
        if community is not None and len(community.members) > 1:
            for _ in range(_FRIEND_TRIES):
                friend = self.rng.choice(community.members)
                if friend != person.index:
                    return friend
        friend = self.rng.randrange(len(world.people))
        return friend if friend != person.index else None


def _product_of(sku_public_id: str) -> str:
    found = SKU.objects.filter(public_id=sku_public_id).values_list("product__public_id", flat=True)
    return found.first() or ""
