"""The shape every activity has."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shoploop.simulation.world import World


def own_stream(seed: int, name: str) -> random.Random:
    """A random stream of one activity's own: the same for the same seed and name, independent
    of the world's and every other activity's. The name is hashed into the seed, so two
    activities cannot share a stream by choosing the same number (feed reading and shop follows
    once did, and drew the same sequence)."""
    return random.Random(f"{seed}:{name}")


class Activity:
    """One behaviour: ``plan`` (no database), then ``play_day`` (services only)."""

    name = "activity"

    def __init__(self, world: World):
        self.world = world

    def plan(self) -> None:
        """Decide, from the world's random generator only, what this activity will do and when."""

    def play_day(self, day: int) -> None:
        """Do this activity's share of ``day`` by calling services through ``world.call``."""


class ShopCampaigns(Activity):
    """Each approved shop, the first day it has something on sale, decides once (with
    probability ``share``) whether to run this kind of campaign."""

    share = 0.5

    def __init__(self, world: World):
        super().__init__(world)
        self.decided: set[int] = set()

    def play_day(self, day: int) -> None:
        world = self.world
        ready = [
            index
            for index in world.approved_shops
            if index not in self.decided and world.shops[index].offers
        ]
        for index, moment in zip(ready, world.moments(len(ready)), strict=True):
            self.decided.add(index)
            if world.rng.random() < self.share:
                self.start_campaign(index, day=day, at=moment)
        if day == world.params.days - 1:
            self.last_day(day)

    def start_campaign(self, shop_index: int, *, day: int, at) -> None:
        """Create the shop's campaign at ``at`` (and play its first day, if it starts now)."""
        raise NotImplementedError

    def last_day(self, day: int) -> None:
        """Leave something running for the demo to show after the world ends."""
