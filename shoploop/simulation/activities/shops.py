"""Merchants: applying, the operator's review, listing in communities, products, SKUs."""

from __future__ import annotations

import itertools
from collections import defaultdict

from shoploop.catalog import services as catalog
from shoploop.simulation.activities.base import Activity
from shoploop.simulation.images import product_picture
from shoploop.simulation.themes import THEMES, ProductTemplate
from shoploop.simulation.world import Offer, ShopPlan

REJECTION_REASON = "资质材料不完整，请补充营业执照后重新申请。"
_EDITIONS = ("", "", "经典款", "新款", "限定款", "升级版", "家用款")
_DESCRIPTIONS = (
    "**{title}**\n\n店主亲测好用，社群专享价。\n\n- 48 小时内发货\n- 七天无理由退换",
    "{title}，{theme}同好都在用。\n\n有任何问题欢迎在社群里问我。",
    "# {title}\n\n精选材料，小批量制作，数量有限。",
)
# Products a shop adds on one day, at most (shelves fill over several days).
_PRODUCTS_PER_DAY = 2


class ApplyForShops(Activity):
    """Some people apply to open a shop in their first interest."""

    name = "shop_apply"

    def plan(self) -> None:
        world, params, rng = self.world, self.world.params, self.world.rng
        names_used: dict[int, int] = defaultdict(int)
        self.by_day: dict[int, list[int]] = defaultdict(list)
        for position, owner in enumerate(world.merchants):
            person = world.people[owner]
            theme = person.interests[0]
            apply_day = min(params.days - 1, person.join_day + rng.randint(0, 2))
            # The first shop is always approved: the demo needs a merchant with a live shop.
            approved = position == 0 or rng.random() < params.shop_approval_rate
            world.shops.append(
                ShopPlan(
                    owner=owner,
                    theme=theme,
                    name=self._name(theme, names_used),
                    apply_day=apply_day,
                    approved=approved,
                    products=rng.randint(*params.products_per_shop),
                )
            )
            self.by_day[apply_day].append(len(world.shops) - 1)

    def _name(self, theme: int, names_used: dict[int, int]) -> str:
        names = THEMES[theme].shop_names
        used = names_used[theme]
        names_used[theme] += 1
        base = names[used % len(names)]
        if used < len(names):
            return base
        return f"{self.world.faker_zh.last_name()}家{base}"[:40]

    def play_day(self, day: int) -> None:
        world = self.world
        applying = self.by_day.pop(day, [])
        for index, moment in zip(applying, world.moments(len(applying)), strict=True):
            plan = world.shops[index]
            owner = world.person(plan.owner)
            if owner.user_id is None:
                continue
            shop = world.call(
                catalog.apply_for_shop,
                at=moment,
                outcome="shop.applied",
                user=world.user(plan.owner),
                name=plan.name,
                contact=owner.phone,
                description=f"专注{THEMES[plan.theme].name}好物。",
            )
            if shop is not None:
                plan.shop = shop
                world.shop_index_by_pk[shop.pk] = index
                world.pending_shops.append(index)


class ReviewShops(Activity):
    """The operator decides yesterday's applications (today's wait until tomorrow)."""

    name = "shop_review"

    def play_day(self, day: int) -> None:
        world = self.world
        due = [index for index in world.pending_shops if world.shops[index].apply_day < day]
        world.pending_shops = [i for i in world.pending_shops if world.shops[i].apply_day >= day]
        for index, moment in zip(due, world.moments(len(due)), strict=True):
            plan = world.shops[index]
            if plan.approved:
                decided = world.call(
                    catalog.approve_shop,
                    at=moment,
                    outcome="shop.approved",
                    shop=plan.shop,
                    actor=world.user(-1),
                )
                if decided is not None:
                    world.approved_shops.append(index)
            else:
                world.call(
                    catalog.reject_shop,
                    at=moment,
                    outcome="shop.rejected",
                    shop=plan.shop,
                    actor=world.user(-1),
                    reason=REJECTION_REASON,
                )


class StockShelves(Activity):
    """Approved merchants list their shop in their theme's communities, then publish products."""

    name = "products"

    def play_day(self, day: int) -> None:
        world = self.world
        for index in world.approved_shops:
            plan = world.shops[index]
            self._list_in_new_communities(plan)
            if plan.listed:
                for _ in range(min(_PRODUCTS_PER_DAY, plan.products - plan.products_made)):
                    plan.products_made += 1
                    self._publish_product(index, plan)

    def _list_in_new_communities(self, plan: ShopPlan) -> None:
        world = self.world
        joined = world.memberships.get(plan.owner, [])
        new = [
            index
            for index in joined
            if index not in plan.listed
            and world.communities[index].theme == plan.theme
            and world.communities[index].community is not None
            and world.communities[index].community.state == "active"
        ]
        for index, moment in zip(new, world.moments(len(new)), strict=True):
            world.call(
                catalog.list_shop_in_community,
                at=moment,
                outcome="shop.listed",
                shop=plan.shop,
                community=world.communities[index].community,
                actor=world.user(plan.owner),
            )
            plan.listed.append(index)

    def _publish_product(self, shop_index: int, plan: ShopPlan) -> None:
        world, rng = self.world, self.world.rng
        theme = THEMES[plan.theme]
        template = rng.choice(theme.products)
        title = f"{rng.choice(_EDITIONS)}{template.title}"
        skus = self._sku_drafts(template)
        wants_picture = rng.random() < world.params.product_image_share
        moments = iter(world.moments(3 + len(skus)))
        merchant = world.user(plan.owner)
        offered_in = [
            index for index in plan.listed if world.communities[index].community.state == "active"
        ]
        product = world.call(
            catalog.create_product,
            at=next(moments),
            outcome="product.created",
            shop=plan.shop,
            actor=merchant,
            title=title,
            description=rng.choice(_DESCRIPTIONS).format(title=title, theme=theme.name),
            category=theme.category,
            tags=list(theme.tags) if world.theme_has_tags[plan.theme] else [],
            communities=[world.communities[index].community for index in offered_in],
        )
        if product is None:
            return
        added = []
        for options, price_fen, list_price_fen, stock in skus:
            sku = world.call(
                catalog.add_sku,
                at=next(moments),
                outcome="product.sku_added",
                product=product,
                actor=merchant,
                options=options,
                price_fen=price_fen,
                list_price_fen=list_price_fen,
                stock=stock,
            )
            if sku is not None:
                added.append(sku)
        if wants_picture:
            world.call(
                catalog.add_product_image,
                at=next(moments),
                outcome="product.image_added",
                product=product,
                actor=merchant,
                upload=product_picture(title, hue=rng.random()),
            )
        published = world.call(
            catalog.publish_product,
            at=next(moments),
            outcome="product.published",
            product=product,
            actor=merchant,
        )
        if published is not None:
            for sku in added:
                offer = Offer(
                    shop=shop_index,
                    theme=plan.theme,
                    sku_public_id=sku.public_id,
                    price_fen=sku.price_fen,
                )
                world.add_offer(offer, communities=offered_in)

    def _sku_drafts(self, template: ProductTemplate) -> list[tuple[dict, int, int | None, int]]:
        """(options, price, list price, stock) for 1–4 distinct option combinations."""
        params, rng = self.world.params, self.world.rng
        axes = list(template.axes.items())
        combinations = [
            dict(zip([name for name, _ in axes], values, strict=True))
            for values in itertools.product(*[values for _, values in axes])
        ]
        low, high = params.skus_per_product
        count = min(rng.randint(low, high), len(combinations))
        base = self._price(template)
        drafts = []
        for options in rng.sample(combinations, count):
            price = max(100, base + rng.choice((0, 0, 500, 1_000, -500)))
            list_price = None
            if rng.random() < params.list_price_markup_share:
                list_price = price + round(price * rng.uniform(0.1, 0.5) / 100) * 100
            drafts.append((options, price, list_price, rng.randint(*params.stock_per_sku)))
        return drafts

    def _price(self, template: ProductTemplate) -> int:
        """A price in the template's range, in whole yuan."""
        low, high = template.price_fen
        return self.world.rng.randrange(low, high + 1, 100)
