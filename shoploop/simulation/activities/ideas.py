"""Co-creation (众创): members propose ideas to the shops of their communities, vote and comment;
merchants answer them step by step until they ship (linked to a product) or decline them; people
say which products they want (想要) at a price band, and one wanted product becomes a
crowdfunding pre-sale.

The rates are ``WorldParameters.idea_*``, ``wanted_rate``, ``want_rate`` and
``want_band_weights`` (recorded in var/world.json with the other parameters). The activity draws
from its own random generator, so adding it leaves the draws of every other activity unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shoploop.ideas import selectors as ideas_selectors
from shoploop.ideas import services as ideas
from shoploop.simulation.activities.base import Activity, own_stream

NEXT_STEP = {
    "proposed": "under_review",
    "under_review": "planned",
    "planned": "in_progress",
    "in_progress": "shipped",
}
IDEA_TITLES = ("小包装", "新口味", "礼盒装", "环保包装", "加大号", "便携款", "联名款", "限定色")
IDEA_BODIES = (
    "希望能出一个{title}，平时带着方便。",
    "群里好几个人都想要{title}，考虑一下吧！",
    "如果有{title}，我一定第一个买。",
)
COMMENTS = ("+1", "同求", "支持！", "这个好", "价格别太贵就行")
WANTED_TITLES = ("冷泡茶包", "手工果酱", "迷你音箱", "帆布托特包", "香薰蜡烛", "儿童绘本套装")
DECLINE_REASONS = ("成本太高，暂时做不了。", "和现有商品重复了。", "供应商无法生产。")


@dataclass(slots=True)
class WantedPlan:
    wanted: Any
    shop: int  # shop plan index
    community: int  # community plan index
    wanters: set[int] = field(default_factory=set)


class CoCreation(Activity):
    """Ideas, votes, comments, the merchant's answers; wanted products, wants, one pre-sale."""

    name = "ideas"

    def plan(self) -> None:
        self.rng = own_stream(self.world.params.seed, "ideas")
        self.open_ideas: list[tuple[Any, int, int]] = []  # (idea, shop plan, community plan)
        self.voted: set[tuple[int, int]] = set()  # (idea pk, person)
        self.wanted: list[WantedPlan] = []
        self.presales = 0

    def play_day(self, day: int) -> None:
        shops = self._listed_shops()
        self._propose_ideas(shops)
        self._vote_and_comment()
        self._answer()
        self._propose_wanted(shops)
        self._want()
        self._start_presale(day)

    # -- helpers -------------------------------------------------------------------------------
    def _listed_shops(self) -> list[int]:
        world = self.world
        return [
            index
            for index in sorted(world.approved_shops)
            if world.shops[index].shop is not None and self._communities_of(index)
        ]

    def _communities_of(self, shop: int) -> list[int]:
        """The shop's communities that stay active (archived and dissolved ones are read-only by
        the end, so ideas and wants live in the others)."""
        world = self.world
        return [c for c in world.shops[shop].listed if world.communities[c].fate == "active"]

    def _members(self, community: int, *, exclude: int) -> list[int]:
        world = self.world
        plan = world.communities[community]
        return [
            person
            for person in plan.members
            if person != exclude and community in world.memberships.get(person, ())
        ]

    def _sample(self, people: list[int]) -> list[int]:
        size = min(len(people), self.world.params.idea_voters_sampled)
        return self.rng.sample(people, size)

    def _moments(self, count: int):
        return self.world.moments(count, rng=self.rng)

    # -- ideas ---------------------------------------------------------------------------------
    def _propose_ideas(self, shops: list[int]) -> None:
        world, rng, params = self.world, self.rng, self.world.params
        chosen = []
        for index in shops:
            if rng.random() >= params.idea_rate:
                continue
            plan = world.shops[index]
            community = rng.choice(self._communities_of(index))
            members = self._members(community, exclude=plan.owner)
            if members:
                chosen.append((index, community, rng.choice(members)))
        for (index, community, person), at in zip(chosen, self._moments(len(chosen)), strict=True):
            self._propose(index, community, person, at=at)

    def _propose(self, index: int, community: int, person: int, *, at) -> None:
        world, rng = self.world, self.rng
        plan = world.shops[index]
        title = rng.choice(IDEA_TITLES)
        product = None
        if rng.random() < world.params.idea_improvement_share:
            products = list(ideas_selectors.shop_products_for_answer(shop=plan.shop)[:10])
            product = rng.choice(products) if products else None
        idea = world.call(
            ideas.propose_idea,
            at=at,
            outcome="ideas.proposed",
            actor=world.user(person),
            shop=plan.shop,
            community=world.communities[community].community,
            product=product,
            title=f"{product.title} · {title}" if product else title,
            body=rng.choice(IDEA_BODIES).format(title=title),
        )
        if idea is not None:
            self.open_ideas.append((idea, index, community))

    def _vote_and_comment(self) -> None:
        world, rng, params = self.world, self.rng, self.world.params
        actions = []
        for idea, index, community in self.open_ideas:
            for person in self._sample(self._members(community, exclude=world.shops[index].owner)):
                if (idea.pk, person) not in self.voted and rng.random() < params.idea_vote_rate:
                    self.voted.add((idea.pk, person))
                    actions.append(("vote", idea, person))
                if rng.random() < params.idea_comment_rate:
                    actions.append(("comment", idea, person))
        for (kind, idea, person), at in zip(actions, self._moments(len(actions)), strict=True):
            if kind == "vote":
                world.call(
                    ideas.vote, at=at, outcome="ideas.voted", actor=world.user(person), idea=idea
                )
            else:
                world.call(
                    ideas.add_comment,
                    at=at,
                    outcome="ideas.commented",
                    actor=world.user(person),
                    idea=idea,
                    body=rng.choice(COMMENTS),
                )

    def _answer(self) -> None:
        world, rng, params = self.world, self.rng, self.world.params
        answering = [item for item in self.open_ideas if rng.random() < params.idea_answer_rate]
        for (idea, index, _community), at in zip(
            answering, self._moments(len(answering)), strict=True
        ):
            plan = world.shops[index]
            idea.refresh_from_db()
            if not idea.is_open:
                continue
            fields: dict[str, Any] = {"status": NEXT_STEP[idea.status]}
            if rng.random() < params.idea_decline_share:
                fields = {"status": "declined", "reason": rng.choice(DECLINE_REASONS)}
            elif fields["status"] == "shipped":
                fields["product"] = idea.product or self._any_product(plan.shop)
            answered = world.call(
                ideas.change_status,
                at=at,
                outcome=f"ideas.answered.{fields['status']}",
                actor=world.user(plan.owner),
                idea=idea,
                **fields,
            )
            if answered is not None and not answered.is_open:
                self.open_ideas = [item for item in self.open_ideas if item[0].pk != idea.pk]

    def _any_product(self, shop):
        products = list(ideas_selectors.shop_products_for_answer(shop=shop)[:10])
        return self.rng.choice(products) if products else None

    # -- wanted products -----------------------------------------------------------------------
    def _propose_wanted(self, shops: list[int]) -> None:
        world, rng = self.world, self.rng
        chosen = []
        for index in shops:
            if rng.random() >= world.params.wanted_rate:
                continue
            plan = world.shops[index]
            community = rng.choice(self._communities_of(index))
            members = self._members(community, exclude=plan.owner)
            if members:
                chosen.append((index, community, rng.choice(members)))
        for (index, community, person), at in zip(chosen, self._moments(len(chosen)), strict=True):
            wanted = world.call(
                ideas.propose_wanted_product,
                at=at,
                outcome="ideas.wanted_proposed",
                actor=world.user(person),
                shop=world.shops[index].shop,
                community=world.communities[community].community,
                title=rng.choice(WANTED_TITLES),
                description="群里很多人想要，希望店家能做。",
            )
            if wanted is not None:
                self.wanted.append(WantedPlan(wanted, index, community))

    def _want(self) -> None:
        world, rng, params = self.world, self.rng, self.world.params
        bands, weights = zip(*params.want_band_weights.items(), strict=True)
        actions = []
        for plan in self.wanted:
            if plan.wanted.state != "open":
                continue
            owner = world.shops[plan.shop].owner
            for person in self._sample(self._members(plan.community, exclude=owner)):
                if person not in plan.wanters and rng.random() < params.want_rate:
                    plan.wanters.add(person)
                    actions.append((plan, person, rng.choices(bands, weights)[0]))
        for (plan, person, band), at in zip(actions, self._moments(len(actions)), strict=True):
            world.call(
                ideas.add_want,
                at=at,
                outcome="ideas.wanted",
                actor=world.user(person),
                wanted_product=plan.wanted,
                price_band=band,
                community=world.communities[plan.community].community,
            )

    def _start_presale(self, day: int) -> None:
        world, params = self.world, self.world.params
        if self.presales >= params.presales_from_wants or not self.wanted:
            return
        for plan in self.wanted:
            plan.wanted.refresh_from_db()
        ready = [p for p in self.wanted if p.wanted.want_count >= params.presale_min_wants]
        if not ready and day >= params.days - 2:
            ready = [max(self.wanted, key=lambda p: p.wanted.want_count)]
        ready = [p for p in ready if p.wanted.want_count > 0 and p.wanted.state == "open"]
        if not ready:
            return
        plan = ready[0]
        (at,) = self._moments(1)
        draft = ideas_selectors.presale_draft(wanted_product=plan.wanted, now=at)
        started = world.call(
            ideas.start_presale,
            at=at,
            outcome="ideas.presale_started",
            actor=world.user(world.shops[plan.shop].owner),
            wanted_product=plan.wanted,
            title=draft.title,
            story=draft.story,
            price_fen=draft.price_fen,
            target_units=draft.target_units,
            deadline=draft.deadline,
            estimated_delivery=draft.estimated_delivery,
        )
        if started is not None:
            self.presales += 1
