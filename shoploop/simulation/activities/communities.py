"""Communities: founding, joining (public, by request, by invite link), moderators, lifecycle."""

from __future__ import annotations

from collections import defaultdict

from shoploop.communities import services as communities
from shoploop.simulation.activities.base import Activity
from shoploop.simulation.themes import THEMES
from shoploop.simulation.world import CommunityPlan

VISIBILITIES = ("public", "approval", "invite")
# Invite links last at most 30 days; the owner makes a fresh one a day before the old one ends.
INVITE_HOURS = 30 * 24
INVITE_RENEW_AFTER_DAYS = 29
_PICK_TRIES = 4
_DESCRIPTIONS = (
    "{theme}爱好者的小天地，欢迎交流心得、分享好物。",
    "一起聊{theme}，新手老手都欢迎。每周有主题讨论。",
    "{theme}同好聚集地：晒图、问答、团购、线下活动。",
    "认真做{theme}的一群人。请友善发言，禁止广告刷屏。",
)


class FoundCommunities(Activity):
    """Owners found communities for their theme; invite-only ones get an invite link at once."""

    name = "community"

    def plan(self) -> None:
        world, params, rng = self.world, self.world.params, self.world.rng
        people_by_theme: list[list[int]] = [[] for _ in THEMES]
        for person in world.people:
            for theme in person.interests:
                people_by_theme[theme].append(person.index)
        last_founding_day = int((params.days - 1) * params.founding_period_share)
        names_used: dict[int, int] = defaultdict(int)
        for index, theme in enumerate(self._themes_of_communities()):
            founding_day = rng.randint(0, last_founding_day)
            owner, founding_day = self._owner(people_by_theme[theme], founding_day)
            forced = VISIBILITIES[index] if index < len(VISIBILITIES) else None
            world.communities.append(
                CommunityPlan(
                    index=index,
                    theme=theme,
                    name=self._name(theme, names_used),
                    visibility=forced or self._visibility(),
                    owner=owner,
                    founding_day=founding_day,
                )
            )
        self._choose_fates()
        self.by_day: dict[int, list[int]] = defaultdict(list)
        for community in world.communities:
            self.by_day[community.founding_day].append(community.index)
        world.communities_by_theme = [[] for _ in THEMES]
        for community in world.communities:
            world.communities_by_theme[community.theme].append(community.index)

    def _themes_of_communities(self) -> list[int]:
        """At least one per theme, the rest by theme popularity."""
        params = self.world.params
        extra = params.community_count - len(THEMES)
        drawn = self.world.rng.choices(range(len(THEMES)), weights=params.theme_weights, k=extra)
        return list(range(len(THEMES))) + drawn

    def _owner(self, candidates: list[int], founding_day: int) -> tuple[int, int]:
        world = self.world
        present = [index for index in candidates if world.people[index].join_day <= founding_day]
        if present:
            return world.rng.choice(present), founding_day
        pool = candidates or range(len(world.people))
        earliest = min(pool, key=lambda index: (world.people[index].join_day, index))
        return earliest, max(founding_day, world.people[earliest].join_day)

    def _name(self, theme: int, names_used: dict[int, int]) -> str:
        names = THEMES[theme].community_names
        used = names_used[theme]
        names_used[theme] += 1
        base = names[used % len(names)]
        if used < len(names):
            return base
        return f"{self.world.faker_zh.city_name()}{base}"[:40]

    def _visibility(self) -> str:
        shares = self.world.params.visibility_shares
        return self.world.weighted_choice(list(shares), list(shares.values()))

    def _choose_fates(self) -> None:
        """Archive and dissolve a few, never the demo owner's community (the first one)."""
        world, params = self.world, self.world.params
        wanted = params.archived_communities + params.dissolved_communities
        eligible = range(len(VISIBILITIES), len(world.communities))
        chosen = world.rng.sample(eligible, min(wanted, len(eligible)))
        for position, index in enumerate(chosen):
            archived = position < params.archived_communities
            world.communities[index].fate = "archived" if archived else "dissolved"

    def play_day(self, day: int) -> None:
        world = self.world
        founded = self.by_day.pop(day, [])
        for index, moment in zip(founded, world.moments(len(founded)), strict=True):
            plan = world.communities[index]
            if world.person(plan.owner).user_id is None:
                continue
            theme = THEMES[plan.theme]
            community = world.call(
                communities.create_community,
                at=moment,
                outcome="community.created",
                actor=world.user(plan.owner),
                name=plan.name,
                description=world.rng.choice(_DESCRIPTIONS).format(theme=theme.name),
                tags=list(theme.tags),
                visibility=plan.visibility,
            )
            if community is None:
                continue
            plan.community = community
            world.theme_has_tags[plan.theme] = True
            world.joined(plan.owner, plan)
            if plan.visibility == "invite":
                make_invite(world, plan, day=day, at=moment)


def make_invite(world, plan: CommunityPlan, *, day: int, at) -> None:
    invite = world.call(
        communities.create_invite,
        at=at,
        outcome="community.invite_created",
        actor=world.user(plan.owner),
        community=plan.community,
        expires_in_hours=INVITE_HOURS,
    )
    if invite is not None:
        plan.invite_code = invite.code
        plan.invite_day = day


class JoinCommunities(Activity):
    """People join communities of their interests, preferring bigger ones."""

    name = "join"

    def plan(self) -> None:
        world, params = self.world, self.world.params
        merchants = set(world.merchants)
        # Each community once, plus once per planned member: a uniform pick is preferential.
        self.pools: list[list[int]] = [list(indices) for indices in world.communities_by_theme]
        self.by_day: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for person in world.people:
            for position, theme in enumerate(person.interests):
                is_shop_theme = person.index in merchants and position == 0
                if not is_shop_theme and world.rng.random() >= params.join_probability_per_interest:
                    continue
                for community in self._choose(person.index, theme):
                    delay = 0 if is_shop_theme else world.geometric(params.mean_join_delay_days)
                    start = max(person.join_day, community.founding_day)
                    self.by_day[min(params.days - 1, start + delay)].append(
                        (person.index, community.index)
                    )
                    community.planned_members += 1
                    world.planned_joins[person.index] += 1

    def _choose(self, person_index: int, theme: int) -> list[CommunityPlan]:
        """Communities of ``theme`` with probability ∝ planned members + 1 (bigger ones attract)."""
        world = self.world
        pool = self.pools[theme]
        if not pool:
            return []
        low, high = world.params.communities_joined_per_interest
        wanted = world.rng.randint(low, high)
        chosen: list[CommunityPlan] = []
        # A few uniform draws from the pool instead of weighing every community: O(1) per pick.
        for _ in range(wanted * _PICK_TRIES):
            if len(chosen) == wanted:
                break
            community = world.communities[world.rng.choice(pool)]
            if community.owner != person_index and community not in chosen:
                chosen.append(community)
                pool.append(community.index)
        return chosen

    def play_day(self, day: int) -> None:
        world = self.world
        joins = self.by_day.pop(day, [])
        for (person_index, index), moment in zip(joins, world.moments(len(joins)), strict=True):
            plan = world.communities[index]
            if plan.community is None or world.person(person_index).user_id is None:
                continue
            self._join(person_index, plan, day=day, at=moment)

    def _join(self, person_index: int, plan: CommunityPlan, *, day: int, at) -> None:
        world = self.world
        actor = world.user(person_index)
        if plan.visibility == "approval":
            requested = world.call(
                communities.request_to_join,
                at=at,
                outcome="community.join_requested",
                actor=actor,
                community=plan.community,
            )
            if requested is not None:
                world.pending_requests.append((person_index, plan.index))
            return
        if plan.visibility == "invite":
            if plan.invite_code is None or day - plan.invite_day >= INVITE_RENEW_AFTER_DAYS:
                make_invite(world, plan, day=day, at=at)
            joined = world.call(
                communities.join_by_invite,
                at=at,
                outcome="community.joined_by_invite",
                actor=actor,
                code=plan.invite_code,
            )
        else:
            joined = world.call(
                communities.join_community,
                at=at,
                outcome="community.joined",
                actor=actor,
                community=plan.community,
            )
        if joined is not None:
            world.joined(person_index, plan)


class ReviewJoinRequests(Activity):
    """Owners answer the day's join requests (most are approved)."""

    name = "review_requests"

    def play_day(self, day: int) -> None:
        world = self.world
        requests, world.pending_requests = world.pending_requests, []
        for (person_index, index), moment in zip(
            requests, world.moments(len(requests)), strict=True
        ):
            plan = world.communities[index]
            approve = world.rng.random() < world.params.request_approval_rate
            decided = world.call(
                communities.approve_request if approve else communities.reject_request,
                at=moment,
                outcome="community.request_approved" if approve else "community.request_rejected",
                actor=world.user(plan.owner),
                community=plan.community,
                user=world.user(person_index),
            )
            if decided is not None and approve:
                world.joined(person_index, plan)


class PromoteModerators(Activity):
    """Owners promote a moderator for every ``members_per_moderator`` members."""

    name = "moderator"

    def play_day(self, day: int) -> None:
        world = self.world
        due = [plan for plan in world.communities if self._wanted(plan) > len(plan.moderators)]
        for plan, moment in zip(due, world.moments(len(due)), strict=True):
            candidates = [
                member
                for member in plan.members
                if member != plan.owner and member not in plan.moderators
            ]
            if not candidates:
                continue
            chosen = world.rng.choice(candidates)
            plan.moderators.append(chosen)
            world.call(
                communities.promote_moderator,
                at=moment,
                outcome="community.moderator_promoted",
                actor=world.user(plan.owner),
                community=plan.community,
                user=world.user(chosen),
            )

    def _wanted(self, plan: CommunityPlan) -> int:
        if plan.community is None:
            return 0
        return len(plan.members) // self.world.params.members_per_moderator


class CommunityLifecycle(Activity):
    """On the last day some communities are archived and some dissolved by their owners."""

    name = "lifecycle"

    def play_day(self, day: int) -> None:
        world = self.world
        if day != world.params.days - 1:
            return
        ending = [plan for plan in world.communities if plan.fate != "active" and plan.community]
        for plan, moment in zip(ending, world.moments(len(ending)), strict=True):
            archive = plan.fate == "archived"
            changed = world.call(
                communities.archive_community if archive else communities.dissolve_community,
                at=moment,
                outcome="community.archived" if archive else "community.dissolved",
                actor=world.user(plan.owner),
                community=plan.community,
            )
            if changed is not None:
                plan.community = changed
