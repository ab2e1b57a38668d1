"""Shop follows (粉丝): people follow the shops they meet in their communities.

Each approved shop draws once a ``follow_rate`` from ``WorldParameters.shop_follow_rate``: on
each day, every active member of a community the shop is listed in who does not follow it yet
follows it with that chance (its owner never). The rates are the ground truth insights should
recover: ``world.shop_follow_rates`` goes to var/world.json. The activity draws from its own
random generator, so adding it leaves the draws of every other activity unchanged.
"""

from __future__ import annotations

from shoploop.catalog import services as catalog
from shoploop.simulation.activities.base import Activity, own_stream


class ShopFollows(Activity):
    """Members of the communities a shop is listed in become its followers at the shop's rate."""

    name = "shop_follows"

    def plan(self) -> None:
        self.rng = own_stream(self.world.params.seed, "shop_follows")
        self.world.shop_follow_rates = {}  # shop plan index → {"shop", "follow_rate"}
        self.following: set[tuple[int, int]] = set()  # (shop plan index, person index)

    def play_day(self, day: int) -> None:
        world = self.world
        choices = []
        for index in sorted(world.approved_shops):
            plan = world.shops[index]
            if plan.shop is None or not plan.listed:
                continue
            rate = self._rate(index, plan)
            for person in self._candidates(index, plan):
                if self.rng.random() < rate:
                    choices.append((index, person))
        moments = world.moments(len(choices), rng=self.rng)
        for (index, person), moment in zip(choices, moments, strict=True):
            self.following.add((index, person))
            world.call(
                catalog.follow_shop,
                at=moment,
                outcome="catalog.shop_follow",
                actor=world.user(person),
                shop=world.shops[index].shop,
            )

    def _rate(self, index: int, plan) -> float:
        """Drawn the first day the shop is seen approved (shops are visited in index order)."""
        drawn = self.world.shop_follow_rates.get(index)
        if drawn is None:
            low, high = self.world.params.shop_follow_rate
            drawn = {"shop": plan.name, "follow_rate": round(self.rng.uniform(low, high), 4)}
            self.world.shop_follow_rates[index] = drawn
        return drawn["follow_rate"]

    def _candidates(self, index: int, plan) -> list[int]:
        world = self.world
        members = {
            person
            for community in plan.listed
            for person in world.communities[community].members
            if community in world.memberships.get(person, ())
        }
        members.discard(plan.owner)
        return sorted(person for person in members if (index, person) not in self.following)
