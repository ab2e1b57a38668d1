"""Crowdsourcing tasks (众包): merchants post tasks, members enter, merchants pick winners.

A shop with money to spare (or a coupon with copies left) posts a task on some days
(``crowdtask_post_rate``): a money reward is reserved from its available balance, so a shop only
posts one when its balance is at least ``crowdtask_balance_margin`` times the whole reward. Members
of the shop's communities and people who share its theme enter it (a geometric number per day,
``crowdtask_entries_per_task_day``). The day before the deadline the merchant answers the task
with ``crowdtask_answer_rate`` (picking up to the number of winners among the entries); an
unanswered task expires at its deadline and its reward goes back to the shop. The world's first
``min_unanswered_tasks`` tasks are never answered, so an expired task and its refund always show.
The activity draws from its own random generator: the other activities' draws do not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shoploop.crowdtasks import services as crowdtasks
from shoploop.crowdtasks.models import Task
from shoploop.ledger import selectors as ledger_selectors
from shoploop.simulation.activities.base import Activity, own_stream

_PICK_TRIES = 4
_KINDS = [
    ("name", "给新品起个名字", "我们的新品还没有名字，请给它起一个好记又好听的名字。"),
    ("test", "招募样品试用官", "免费寄出样品，请试用一周后写下真实感受。"),
    ("photo", "拍出它最好看的样子", "用自然光给我们的商品拍一张照片，附上一句话。"),
    ("label", "设计新包装标签", "为我们的新包装设计一个标签，手绘或电脑设计都可以。"),
]
_ENTRY_TEXTS = ("我的想法是：", "试用感受：", "拍摄心得：", "设计思路：")


@dataclass(slots=True)
class TaskPlan:
    task: Any  # the Task
    shop: int  # shop plan index
    answer_day: int
    answered: bool
    entrants: set[int] = field(default_factory=set)
    entries: list[str] = field(default_factory=list)  # entry public ids


class CrowdTasks(Activity):
    name = "crowdtasks"

    def plan(self) -> None:
        self.rng = own_stream(self.world.params.seed, "crowdtasks")
        self.tasks: list[TaskPlan] = []
        self.open_by_shop: dict[int, TaskPlan] = {}

    def play_day(self, day: int) -> None:
        self._post(day)
        self._enter(day)
        self._answer(day)

    # -- merchants post ------------------------------------------------------------------------
    def _post(self, day: int) -> None:
        world, params = self.world, self.world.params
        posting = [
            index
            for index in sorted(world.approved_shops)
            if index not in self.open_by_shop
            and world.shops[index].shop is not None
            and self.rng.random() < params.crowdtask_post_rate
        ]
        for index, moment in zip(posting, world.moments(len(posting), rng=self.rng), strict=True):
            self._post_one(index, day=day, at=moment)

    def _post_one(self, index: int, *, day: int, at) -> None:
        world, params, rng = self.world, self.world.params, self.rng
        plan = world.shops[index]
        winners = rng.randint(*params.crowdtask_winners)
        reward = self._reward(index, winners=winners)
        if reward is None:
            return
        kind, title, brief = rng.choice(_KINDS)
        days = rng.randint(*params.crowdtask_days)
        task = world.call(
            crowdtasks.publish_task,
            at=at,
            outcome=f"crowdtask.published.{reward['reward_kind']}",
            actor=world.user(plan.owner),
            shop=plan.shop,
            kind=kind,
            title=title,
            brief=brief,
            deadline=at + timedelta(days=days),
            winners_count=winners,
            audience=rng.choice((Task.Audience.EVERYONE, Task.Audience.FOLLOWERS)),
            **reward,
        )
        if task is None:
            return
        answered = (
            len(self.tasks) >= params.min_unanswered_tasks
            and rng.random() < params.crowdtask_answer_rate
        )
        task_plan = TaskPlan(task=task, shop=index, answer_day=day + days - 1, answered=answered)
        self.tasks.append(task_plan)
        self.open_by_shop[index] = task_plan

    def _reward(self, index: int, *, winners: int) -> dict | None:
        """Money when the shop has ``crowdtask_balance_margin`` times it to spare, else one of its
        coupons with copies left, else nothing (no task today)."""
        world, params = self.world, self.world.params
        per_winner = self.rng.randint(*params.crowdtask_reward_fen) // 100 * 100
        merchant = world.user(world.shops[index].owner)
        available = ledger_selectors.wallet_of(actor=merchant).available
        if available >= per_winner * winners * params.crowdtask_balance_margin:
            return {"reward_kind": "money", "reward_fen": per_winner}
        coupons = [c for c in world.coupons if c.shop == index and not c.sold_out]
        if not coupons:
            return None
        return {"reward_kind": "coupon", "coupon_public_id": coupons[0].coupon.public_id}

    # -- members enter ---------------------------------------------------------------------------
    def _enter(self, day: int) -> None:
        world = self.world
        wanted = []
        for task_plan in self.tasks:
            if task_plan.task.pk is None or day > task_plan.answer_day:
                continue
            for _ in range(self._geometric(world.params.crowdtask_entries_per_task_day)):
                person = self._entrant(task_plan)
                if person is not None:
                    task_plan.entrants.add(person)
                    wanted.append((task_plan, person))
        moments = world.moments(len(wanted), rng=self.rng)
        for (task_plan, person), moment in zip(wanted, moments, strict=True):
            entry = world.call(
                crowdtasks.submit_entry,
                at=moment,
                outcome="crowdtask.entry",
                task=task_plan.task,
                author=world.user(person),
                text=f"{self.rng.choice(_ENTRY_TEXTS)}{world.person(person).name}的作品",
            )
            if entry is not None:
                task_plan.entries.append(entry.public_id)

    def _entrant(self, task_plan: TaskPlan) -> int | None:
        world, rng = self.world, self.rng
        shop = world.shops[task_plan.shop]
        for _ in range(_PICK_TRIES):
            if shop.listed and rng.random() < 0.7:
                members = world.communities[rng.choice(shop.listed)].members
                candidate = rng.choice(members) if members else None
            else:
                pool = world.pool_by_theme[shop.theme]
                candidate = rng.choice(pool) if pool else None
            if candidate not in (None, shop.owner) and candidate not in task_plan.entrants:
                return candidate
        return None

    def _geometric(self, mean: float) -> int:
        success = 1.0 / (1.0 + mean)
        count = 0
        while self.rng.random() > success:
            count += 1
        return count

    # -- merchants answer ------------------------------------------------------------------------
    def _answer(self, day: int) -> None:
        world = self.world
        due = [plan for plan in self.tasks if plan.answer_day == day]
        for task_plan, moment in zip(due, world.moments(len(due), rng=self.rng), strict=True):
            self.open_by_shop.pop(task_plan.shop, None)
            if not task_plan.answered or not task_plan.entries:
                continue
            chosen = self.rng.sample(
                task_plan.entries, min(len(task_plan.entries), task_plan.task.winners_count)
            )
            merchant = world.user(world.shops[task_plan.shop].owner)
            for entry_public_id in chosen:
                world.call(
                    crowdtasks.pick_winner,
                    at=moment,
                    outcome=f"crowdtask.winner.{task_plan.task.reward_kind}",
                    actor=merchant,
                    task=task_plan.task,
                    entry_public_id=entry_public_id,
                )
