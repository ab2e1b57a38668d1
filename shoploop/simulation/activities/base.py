"""The shape every activity has."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shoploop.simulation.world import World


class Activity:
    """One behaviour: ``plan`` (no database), then ``play_day`` (services only)."""

    name = "activity"

    def __init__(self, world: World):
        self.world = world

    def plan(self) -> None:
        """Decide, from the world's random generator only, what this activity will do and when."""

    def expected_calls(self) -> int:
        """About how many service calls ``play_day`` will make in all (for the progress bar)."""
        return 0

    def play_day(self, day: int) -> None:
        """Do this activity's share of ``day`` by calling services through ``world.call``."""
