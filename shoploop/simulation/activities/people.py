"""People: who signs up when, their privacy choice, and the social graph (follows with
homophily, a few blocks)."""

from __future__ import annotations

from collections import defaultdict

from shoploop.accounts import services as accounts
from shoploop.simulation.activities.base import Activity, own_stream
from shoploop.simulation.themes import THEMES
from shoploop.simulation.world import Person

OPERATOR_NAME = "运营小助手"
# Tries to find someone new to follow before giving up for this slot (a full neighbourhood).
_FOLLOW_TRIES = 4
# Who shares their activity is drawn from its own stream, so the choice changes no other draw.


def draw_activity_sharers(params) -> set[int]:
    """The people (indices) who turn on sharing their purchases and deals with their followers:
    each with ``activity_sharing_share``, from a generator of its own."""
    rng = own_stream(params.seed, "activity_sharing")
    return {index for index in range(params.users) if rng.random() < params.activity_sharing_share}


class SignUps(Activity):
    """People sign up on their join day (the operator first, on day 0); the ones who share their
    activity turn the privacy setting on right away, through the service the profile page uses
    (outcome ``user.shares_activity``)."""

    name = "signup"

    def plan(self) -> None:
        world, params, rng = self.world, self.world.params, self.world.rng
        themes = range(len(THEMES))
        self.by_day: dict[int, list[int]] = defaultdict(list)
        for index in range(params.users):
            english = rng.random() < params.english_name_share
            faker = world.faker_en if english else world.faker_zh
            person = Person(
                index=index,
                phone=world.phone_for(index),
                name=faker.name(),
                locale="en" if english else "zh-hans",
                interests=self._draw_interests(themes),
                join_day=self._draw_join_day(),
            )
            world.people.append(person)
            self.by_day[person.join_day].append(index)
        world.operator = Person(
            index=-1,
            phone=world.phone_for(params.users),
            name=OPERATOR_NAME,
            locale="zh-hans",
            interests=(),
            join_day=0,
        )
        merchant_count = min(params.merchant_count, params.users)
        world.merchants = sorted(rng.sample(range(params.users), merchant_count))
        self.sharers = draw_activity_sharers(params)

    def _draw_interests(self, themes) -> tuple[int, ...]:
        world = self.world
        low, high = world.params.interests_per_user
        wanted = world.rng.randint(low, high)
        chosen: list[int] = []
        while len(chosen) < wanted:
            theme = world.weighted_choice(themes, world.params.theme_weights)
            if theme not in chosen:
                chosen.append(theme)
        return tuple(chosen)

    def _draw_join_day(self) -> int:
        params, rng = self.world.params, self.world.rng
        if params.days == 1 or rng.random() < params.early_adopter_share:
            return 0
        return rng.randint(1, params.days - 1)

    def play_day(self, day: int) -> None:
        world = self.world
        todays = self.by_day.pop(day, [])
        if day == 0:
            todays = [-1, *todays]
        for person_index, moment in zip(todays, world.moments(len(todays)), strict=True):
            person = world.person(person_index)
            if person_index == -1:
                user = world.call(
                    accounts.create_operator,
                    at=moment,
                    outcome="user.signed_up",
                    phone=person.phone,
                    display_name=person.name,
                )
            else:
                user = world.call(
                    accounts.register_verified_user,
                    at=moment,
                    outcome="user.signed_up",
                    phone=person.phone,
                    display_name=person.name,
                    locale=person.locale,
                )
            if user is None:
                continue
            person.user_id = user.pk
            if person_index in self.sharers:
                world.call(
                    accounts.update_profile,
                    at=moment,
                    outcome="user.shares_activity",
                    actor=user,
                    share_activity_with_followers=True,
                )
            if person_index != -1:
                world.arrived(person)


class Follows(Activity):
    """Each person follows a few others: homophily picks where to look, popularity picks whom."""

    name = "follow"

    def plan(self) -> None:
        world, params = self.world, self.world.params
        self.by_day: dict[int, list[int]] = defaultdict(list)
        for person in world.people:
            for _ in range(world.geometric(params.follows_per_user_mean)):
                self.by_day[self._follow_day(person)].append(person.index)
        self.sources = list(params.follow_source_shares)
        self.source_weights = [params.follow_source_shares[key] for key in self.sources]
        # follower * stride + followee: compact, so a million follows stay a few dozen megabytes.
        self.stride = params.users + 1
        self.edges: set[int] = set()

    def _follow_day(self, person: Person) -> int:
        params, rng = self.world.params, self.world.rng
        if rng.random() < params.follows_on_signup_day_share:
            return person.join_day
        return rng.randint(person.join_day, params.days - 1)

    def play_day(self, day: int) -> None:
        world = self.world
        followers = self.by_day.pop(day, [])
        for follower, moment in zip(followers, world.moments(len(followers)), strict=True):
            if world.person(follower).user_id is None:
                continue
            followee = self._pick_followee(follower)
            if followee is None:
                world.outcomes["follow.no_one_new"] += 1
                continue
            self.edges.add(follower * self.stride + followee)
            link = world.call(
                accounts.follow,
                at=moment,
                outcome="follow.created",
                follower=world.user(follower),
                followee=world.user(followee),
            )
            if link is not None:
                world.followed(followee)

    def _pick_followee(self, follower: int) -> int | None:
        world = self.world
        for _ in range(_FOLLOW_TRIES):
            source = world.weighted_choice(self.sources, self.source_weights)
            candidate = world.candidate_from(source, follower)
            if (
                candidate is not None
                and candidate != follower
                and follower * self.stride + candidate not in self.edges
            ):
                return candidate
        return None


class Blocks(Activity):
    """A few people block someone (which also removes follows both ways)."""

    name = "block"

    def plan(self) -> None:
        world, params, rng = self.world, self.world.params, self.world.rng
        self.by_day: dict[int, list[int]] = defaultdict(list)
        count = round(params.users * params.block_share)
        for blocker in sorted(rng.sample(range(params.users), min(count, params.users))):
            join_day = world.people[blocker].join_day
            self.by_day[rng.randint(join_day, params.days - 1)].append(blocker)

    def play_day(self, day: int) -> None:
        world = self.world
        blockers = self.by_day.pop(day, [])
        for blocker, moment in zip(blockers, world.moments(len(blockers)), strict=True):
            blocked = world.candidate_from("anyone", blocker)
            if blocked is None or blocked == blocker or world.person(blocker).user_id is None:
                continue
            world.call(
                accounts.block,
                at=moment,
                outcome="block.created",
                blocker=world.user(blocker),
                blocked=world.user(blocked),
            )
