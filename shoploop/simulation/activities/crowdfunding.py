"""Crowdfunding (众筹): a few approved shops launch a project with a photo or two of the prototype;
people of its theme back a tier and pay in the sandbox cashier (a few never pay, a few cancel
later). Some projects aim modestly and get funded, others aim high and fail, so the demo shows
both outcomes after ``settle_due``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shoploop.deals.crowdfunding import services as crowdfunding
from shoploop.ledger.services import payments
from shoploop.simulation.activities.base import Activity
from shoploop.simulation.activities.orders import buyer_address
from shoploop.simulation.images import product_picture

LAUNCH_SHARE = 0.5  # of approved shops with offers, each launches one project
DURATION_DAYS = (2, 6)
BACKERS_PER_DAY = (1, 4)
NEVER_PAY_RATE = 0.1
CANCEL_RATE = 0.08
# Photos of the prototype per project (drawn without the world's random stream, so adding them
# leaves every other choice of a seeded world as it was).
PICTURES = 2
# Modest projects need about this many pledges; ambitious ones far more than will come.
MODEST_PLEDGES = (2, 4)
AMBITIOUS_PLEDGES = 200


@dataclass(slots=True)
class ProjectPlan:
    project: Any
    theme: int
    owner: int
    tiers: list[Any]
    ends_day: int


class Crowdfunding(Activity):
    name = "crowdfunding"

    def __init__(self, world):
        super().__init__(world)
        self.projects: list[ProjectPlan] = []
        self.launched: set[int] = set()

    def play_day(self, day: int) -> None:
        self._launch(day)
        self._back(day)

    def _launch(self, day: int) -> None:
        world, rng = self.world, self.world.rng
        for index in list(world.approved_shops):
            plan = world.shops[index]
            if index in self.launched or not plan.offers or day >= world.params.days - 2:
                continue
            self.launched.add(index)
            if rng.random() >= LAUNCH_SHARE:
                continue
            (at,) = world.moments(1)
            price = world.offers[rng.choice(plan.offers)].price_fen
            # Every third project aims far too high: the demo always has both outcomes.
            ambitious = len(self.projects) % 3 == 2
            pledges = AMBITIOUS_PLEDGES if ambitious else rng.randint(*MODEST_PLEDGES)
            ends_day = day + rng.randint(*DURATION_DAYS)
            deadline = world.day_start(ends_day) + timedelta(hours=20)
            delivery = (deadline + timedelta(days=rng.randint(20, 60))).date()
            project = world.call(
                crowdfunding.create_project,
                at=at,
                outcome="crowdfunding.created",
                actor=world.user(plan.owner),
                title=f"{plan.name} 新品众筹",
                story=f"{plan.name}的新品正在打样，达到目标才开工。\n支持我们，一起把它做出来！",
                target_kind="fen",
                target_value=price * pledges,
                deadline=deadline,
                tiers=[
                    crowdfunding.TierSpec("早鸟价", price * 8 // 10 or 1, 1, 20, delivery),
                    crowdfunding.TierSpec("标准档", price, 1, None, delivery),
                ],
            )
            if project is not None:
                self._add_pictures(project, owner=plan.owner, at=at)
                tiers = list(project.tiers.order_by("position"))
                self.projects.append(ProjectPlan(project, plan.theme, plan.owner, tiers, ends_day))

    def _add_pictures(self, project, *, owner: int, at) -> None:
        for number in range(PICTURES):
            hue = ((len(self.projects) * PICTURES + number) * 0.618) % 1
            self.world.call(
                crowdfunding.add_project_image,
                at=at + timedelta(minutes=number + 1),
                outcome="crowdfunding.image_added",
                project=project,
                actor=self.world.user(owner),
                upload=product_picture(project.title, hue=hue),
            )

    def _back(self, day: int) -> None:
        world, rng = self.world, self.world.rng
        for plan in self.projects:
            if day > plan.ends_day:
                continue
            pool = world.pool_by_theme[plan.theme] or world.pool_all
            count = rng.randint(*BACKERS_PER_DAY)
            for at in world.moments(count):
                if day == plan.ends_day and at >= plan.project.deadline:
                    continue
                person = rng.choice(pool)
                if person == plan.owner:
                    continue
                self._pledge(person, plan, at=at)

    def _pledge(self, person: int, plan: ProjectPlan, *, at) -> None:
        world, rng = self.world, self.world.rng
        backer = world.user(person)
        tier = rng.choice(plan.tiers)
        pledge = world.call(
            crowdfunding.back,
            at=at,
            outcome="crowdfunding.backed",
            tier=tier,
            user=backer,
            address_id=buyer_address(world, backer, at=at),
        )
        if pledge is None:
            return
        if rng.random() < NEVER_PAY_RATE:
            world.outcomes["crowdfunding.never_paid"] += 1
            return
        payment = payments.payment_by_public_id(public_id=pledge.order.checkout.payment_public_id)
        at += timedelta(minutes=rng.randint(1, 5))
        world.call(
            payments.respond_in_sandbox,
            at=at,
            outcome="crowdfunding.paid",
            payment=payment,
            actor=backer,
            approve=True,
        )
        # Commit now: the sandbox's callback captures the money and the pledge becomes active.
        world.flush()
        if rng.random() < CANCEL_RATE and at + timedelta(hours=1) < plan.project.deadline:
            world.call(
                crowdfunding.cancel_pledge,
                at=at + timedelta(minutes=30),
                outcome="crowdfunding.cancelled",
                pledge=pledge,
                actor=backer,
            )
