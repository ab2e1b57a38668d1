"""Reading: people open their home feed (ranked, some switch to latest) and page through it by
cursor, so the demo world exercises the timelines the fan-out wrote.

Draws from its own random generator (seeded from the world's seed), so adding it changes
nothing else the world does. Outcomes: ``feed.page`` (pages read), ``feed.items`` (items seen),
``feed.empty`` (a first page with nothing on it).
"""

from __future__ import annotations

from shoploop.feed.selectors import LATEST, RANKED, feed_page
from shoploop.simulation.activities.base import Activity, own_stream

MAX_PAGES = 5


class FeedReading(Activity):
    name = "feed"

    def plan(self) -> None:
        self.rng = own_stream(self.world.params.seed, "feed_reading")

    def play_day(self, day: int) -> None:
        world, params, rng = self.world, self.world.params, self.rng
        readers = [
            person.index
            for person in world.people
            if person.user_id is not None and rng.random() < params.feed_open_rate
        ]
        for reader, moment in zip(readers, world.moments(len(readers), rng=rng), strict=True):
            order = LATEST if rng.random() < params.feed_latest_share else RANKED
            pages = 1 + min(self._more_pages(params.feed_more_pages_mean), MAX_PAGES - 1)
            self._read(world.user(reader), order, pages, moment)

    def _more_pages(self, mean: float) -> int:
        count, success = 0, 1.0 / (1.0 + mean)
        while self.rng.random() > success:
            count += 1
        return count

    def _read(self, user, order: str, pages: int, moment) -> None:
        world, cursor = self.world, None
        for number in range(pages):
            page = world.call(
                feed_page, at=moment, outcome="feed.page", user=user, order=order, cursor=cursor
            )
            if page is None:
                return
            world.outcomes["feed.items"] += len(page.items)
            if number == 0 and not page.items:
                world.outcomes["feed.empty"] += 1
            cursor = page.next_cursor
            if cursor is None:
                return
