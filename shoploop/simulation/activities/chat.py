"""Conversations: buyers ask a shop about a product before buying and the shop answers; members
talk in their communities' rooms.

The activity draws from its own random generator (seeded from the world's seed), so adding it
left every other activity's draws, and so the rest of the world, as they were.
"""

from __future__ import annotations

import random
from datetime import timedelta

from shoploop.catalog.models import SKU
from shoploop.chat import services as chat
from shoploop.simulation.activities.base import Activity

# Share of signed-up people who ask a shop something on a given day, and of questions answered.
ASK_PROPENSITY = 0.04
ANSWER_SHARE = 0.85
# Share of active communities whose room is talking on a given day, and messages when it is.
ROOM_ACTIVE_SHARE = 0.5
ROOM_MESSAGES = (1, 5)

QUESTIONS = (
    "请问这个还有现货吗？",
    "大概几天能发货？",
    "这个和图片上的颜色一样吗？",
    "可以开发票吗？",
    "买两件能便宜一点吗？",
    "保质期到什么时候？",
    "发什么快递？",
)
ANSWERS = (
    "有现货的，今天下单明天发。",
    "一般48小时内发货。",
    "实物和图片一致，放心拍。",
    "可以的，下单备注抬头就行。",
    "可以用店铺优惠券哦。",
    "都是最新批次，请放心。",
    "默认顺丰，偏远地区中通。",
)
ROOM_LINES = (
    "大家好！新人报到～",
    "今天的团有人一起吗？",
    "上次买的收到了，质量不错。",
    "有没有推荐的入门款？",
    "周末有线下活动吗？",
    "刚砍价成功，谢谢帮忙的朋友们！",
    "这个众筹我也支持了。",
    "晒一下我的新收获。",
)


class Conversations(Activity):
    name = "chat"

    def __init__(self, world):
        super().__init__(world)
        self.rng = random.Random(f"chat:{world.params.seed}")
        self._products: dict[str, object] = {}

    def play_day(self, day: int) -> None:
        world, rng = self.world, self.rng
        askers = [
            person
            for person in world.people
            if person.user_id is not None and rng.random() < ASK_PROPENSITY
        ]
        rooms = [
            plan
            for plan in world.communities
            if plan.community is not None
            and plan.fate == "active"
            and len(plan.members) >= 2
            and rng.random() < ROOM_ACTIVE_SHARE
        ]
        moments = world.moments(len(askers) + len(rooms), rng=rng)
        for person, moment in zip(askers, moments[: len(askers)], strict=True):
            self._ask(person.index, at=moment)
        for plan, moment in zip(rooms, moments[len(askers) :], strict=True):
            self._talk(plan, at=moment)

    def _product(self, sku_public_id: str):
        product = self._products.get(sku_public_id)
        if product is None:
            sku = SKU.objects.select_related("product", "product__shop").get(
                public_id=sku_public_id
            )
            product = self._products[sku_public_id] = sku.product
        return product

    def _offer_for(self, person_index: int) -> int | None:
        world, rng = self.world, self.rng
        joined = world.memberships.get(person_index)
        if joined:
            listed = world.offers_by_community.get(rng.choice(joined))
            if listed:
                return rng.choice(listed)
        return rng.randrange(len(world.offers)) if world.offers else None

    def _ask(self, person_index: int, *, at) -> None:
        world, rng = self.world, self.rng
        offer_index = self._offer_for(person_index)
        if offer_index is None:
            return
        offer = world.offers[offer_index]
        owner_index = world.shops[offer.shop].owner
        if owner_index == person_index:
            return
        product = self._product(offer.sku_public_id)
        buyer = world.user(person_index)
        conversation = world.call(
            chat.start_shop_conversation,
            at=at,
            outcome="chat.shop_conversation",
            buyer=buyer,
            shop=product.shop,
            product=product,
        )
        if conversation is None:
            return
        sent = world.call(
            chat.send_message,
            at=at + timedelta(seconds=rng.randint(5, 60)),
            outcome="chat.question",
            actor=buyer,
            conversation=conversation,
            text=rng.choice(QUESTIONS),
        )
        if sent is None or rng.random() >= ANSWER_SHARE:
            return
        world.call(
            chat.send_message,
            at=at + timedelta(minutes=rng.randint(2, 90)),
            outcome="chat.answer",
            actor=world.user(owner_index),
            conversation=conversation,
            text=rng.choice(ANSWERS),
        )

    def _talk(self, plan, *, at) -> None:
        world, rng = self.world, self.rng
        count = rng.randint(*ROOM_MESSAGES)
        for _ in range(count):
            member = world.user(rng.choice(plan.members))
            at += timedelta(seconds=rng.randint(20, 600))
            room = world.call(
                chat.open_room,
                at=at,
                outcome="chat.room_opened",
                actor=member,
                community=plan.community,
            )
            if room is None:
                continue
            world.call(
                chat.send_message,
                at=at,
                outcome="chat.room_message",
                actor=member,
                conversation=room,
                text=rng.choice(ROOM_LINES),
            )
