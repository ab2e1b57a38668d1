"""Buying and what follows: cart, checkout (with coupons), the sandbox cashier, cancellation,
shipping, receipt, after-sale requests and their decisions.

Follow-ups are scheduled on the world's agenda (``world.schedule``) by public id and re-read when
due, so memory stays flat at any scale and a decision always sees the order's current state.
"""

from __future__ import annotations

import random
from datetime import timedelta

from shoploop.catalog import services as catalog_services
from shoploop.ledger.services import payments
from shoploop.orders import address_services, regions
from shoploop.orders import selectors as order_selectors
from shoploop.orders import services as orders
from shoploop.orders.models import REGION_CODE_LENGTH
from shoploop.simulation.activities.base import Activity
from shoploop.simulation.activities.pickup import collect, pickup_choice
from shoploop.simulation.world import Person

PAID = "paid"
SHIPPED = "shipped"
RECEIVED = "received"
# A person's chance to shop grows with the communities they are in, up to this many.
MAX_COMMUNITY_BOOST = 3
_PICK_TRIES = 4
# Carrier code → a tracking number in its format (orders.carriers checks them).
_CARRIERS = {
    "sf": lambda rng: f"SF{rng.randrange(10**12):012d}",
    "zto": lambda rng: f"7{rng.randrange(10**11):011d}",
    "yto": lambda rng: f"YT{rng.randrange(10**13):013d}",
    "yunda": lambda rng: f"43{rng.randrange(10**11):011d}",
    "jd": lambda rng: f"JDVA{rng.randrange(10**11):011d}",
}
_REFUND_ONLY_REASONS = ("商品与描述不符", "少发了一件", "收到时包装破损，影响使用")
_RETURN_REASONS = ("尺码不合适，想退货", "颜色和图片差别较大", "不喜欢，七天无理由退货")
_REJECTION_REASONS = ("商品已使用，影响二次销售", "请先提供破损照片，我们再处理")
_RECIPIENTS = ("王芳", "李娜", "张伟", "刘洋", "陈静")
_STREETS = ("人民路", "解放路", "中山路", "建设路", "和平街", "新华街")
_OPERATOR_NOTES = ("已核实聊天记录与照片，支持退款。", "证据不足，维持商家的决定。")
_REFUND_REASON_CODES = ("not_as_described", "damaged", "wrong_item", "quality", "other")
_RETURN_REASON_CODES = ("not_as_described", "quality", "changed_mind", "wrong_item")
_DISPUTE_REASONS = ("退回的商品已损坏，与发出时不符", "收到的是空包裹")
_RETURN_ADDRESS = "售后部 王师傅 13900000000 浙江省杭州市余杭区仓前街道 8 号 3 号仓"


class Shopping(Activity):
    """People fill a cart from what their communities and interests offer, check out (maybe with
    a coupon) and answer the sandbox cashier: approve, decline, or never pay."""

    name = "shopping"

    def play_day(self, day: int) -> None:
        world = self.world
        if not world.offers:
            return
        buyers = [
            person
            for person in world.people
            if person.user_id is not None and world.rng.random() < self._propensity(person)
        ]
        for person, moment in zip(buyers, world.moments(len(buyers)), strict=True):
            self._shop(person, day=day, at=moment)

    def _propensity(self, person: Person) -> float:
        params = self.world.params
        communities = min(len(self.world.memberships.get(person.index, ())), MAX_COMMUNITY_BOOST)
        return params.purchase_propensity + params.purchase_propensity_per_community * communities

    def _shop(self, person: Person, *, day: int, at) -> None:
        world = self.world
        buyer = world.user(person.index)
        added: list[tuple[int, int]] = []  # (offer index, units)
        for offer_index in self._pick_offers(person):
            units = world.rng.randint(*world.params.units_per_item)
            at += timedelta(seconds=world.rng.randint(10, 90))
            line = world.call(
                orders.add_to_cart,
                at=at,
                outcome="cart.added",
                user=buyer,
                sku_public_id=world.offers[offer_index].sku_public_id,
                quantity=units,
            )
            if line is not None:
                added.append((offer_index, units))
        if not added:
            return
        at += timedelta(seconds=world.rng.randint(30, 300))
        checkout = self._checkout(person, buyer, added, at=at)
        if checkout is None:
            self._empty_cart(buyer, added, at=at)
            return
        self._pay(person, buyer, checkout, day=day, at=at)

    def _pick_offers(self, person: Person) -> list[int]:
        """Distinct offers from the buyer's communities, interests or anywhere; never their own."""
        world = self.world
        wanted = world.rng.randint(*world.params.items_per_cart)
        chosen: list[int] = []
        for _ in range(wanted * _PICK_TRIES):
            if len(chosen) == wanted:
                break
            candidate = self._candidate(person)
            if candidate is None or candidate in chosen:
                continue
            if world.shops[world.offers[candidate].shop].owner == person.index:
                continue
            chosen.append(candidate)
        return chosen

    def _candidate(self, person: Person) -> int | None:
        world, rng = self.world, self.world.rng
        shares = world.params.purchase_source_shares
        source = world.weighted_choice(list(shares), list(shares.values()))
        if source == "community":
            joined = world.memberships.get(person.index)
            pool = world.offers_by_community.get(rng.choice(joined)) if joined else None
        elif source == "theme":
            pool = world.offers_by_theme[rng.choice(person.interests)]
        else:
            return rng.randrange(len(world.offers))
        return rng.choice(pool) if pool else None

    def _address(self, buyer, *, at) -> str | None:
        return buyer_address(self.world, buyer, at=at)

    def _checkout(self, person: Person, buyer, added: list[tuple[int, int]], *, at):
        world = self.world
        address = self._address(buyer, at=at)
        chosen = self._coupons(person, added)
        delivery = self._delivery(buyer, address, at=at)
        checkout = world.call(
            orders.checkout,
            at=at,
            outcome="order.checkout" + (".with_coupon" if chosen else "") + delivery["suffix"],
            buyer=buyer,
            coupons={world.shops[shop].shop.public_id: claim for shop, claim in chosen.items()}
            or None,
            **delivery["choice"],
        )
        if checkout is None and delivery["suffix"]:
            # A shop of the cart does not offer pickup (or the point closed): delivery instead.
            delivery = self._delivery(buyer, address, at=at, pickup=False)
            checkout = world.call(
                orders.checkout,
                at=at,
                outcome="order.checkout" + (".with_coupon" if chosen else ""),
                buyer=buyer,
                coupons={world.shops[shop].shop.public_id: claim for shop, claim in chosen.items()}
                or None,
                **delivery["choice"],
            )
        if checkout is None and chosen:
            # The coupon was refused: the buyer drops it and checks out at full price.
            checkout = world.call(
                orders.checkout,
                at=at,
                outcome="order.checkout",
                buyer=buyer,
                coupons=None,
                **delivery["choice"],
            )
        return checkout

    def _delivery(self, buyer, address, *, at, pickup: bool = True) -> dict:
        """Delivery to the address, or (some buyers with a point in their communities) pickup."""
        point = pickup_choice(self.world, buyer, at=at) if pickup else ""
        if point:
            return {
                "choice": {"delivery_method": "pickup", "pickup_point_public_id": point},
                "suffix": ".pickup",
            }
        return {"choice": {"address_public_id": address}, "suffix": ""}

    def _coupons(self, person: Person, added: list[tuple[int, int]]) -> dict[int, str]:
        """{shop plan index: claim public id} for held coupons the cart reaches (used once)."""
        world = self.world
        subtotals: dict[int, int] = {}
        for offer_index, units in added:
            offer = world.offers[offer_index]
            subtotals[offer.shop] = subtotals.get(offer.shop, 0) + offer.price_fen * units
        chosen = {}
        for shop, subtotal in subtotals.items():
            held = world.held_coupons.get((person.index, shop))
            usable = [coupon for coupon in held or () if coupon.min_spend_fen <= subtotal]
            if usable and world.rng.random() < world.params.coupon_use_rate:
                held.remove(usable[0])
                chosen[shop] = usable[0].claim_public_id
        return chosen

    def _empty_cart(self, buyer, added: list[tuple[int, int]], *, at) -> None:
        """A refused checkout (sold out meanwhile): the buyer clears the cart and moves on."""
        for offer_index, _units in added:
            self.world.call(
                orders.remove_from_cart,
                at=at,
                outcome="cart.removed",
                user=buyer,
                sku_public_id=self.world.offers[offer_index].sku_public_id,
            )

    def _pay(self, person: Person, buyer, checkout, *, day: int, at) -> None:
        world, params = self.world, self.world.params
        shares = params.payment_outcome_shares
        answer = world.weighted_choice(list(shares), list(shares.values()))
        if answer == "never_pay":
            # The reservation runs out; the day's settle_due cancels the orders.
            world.outcomes["payment.never_paid"] += 1
            return
        payment = payments.payment_by_public_id(public_id=checkout.payment_public_id)
        at += timedelta(minutes=world.rng.randint(*params.payment_delay_minutes))
        answered = world.call(
            payments.respond_in_sandbox,
            at=at,
            outcome=f"payment.{answer}",
            payment=payment,
            actor=buyer,
            approve=answer == "approve",
        )
        # Commit now, at this moment: the sandbox's signed callback (after commit) captures the
        # money and orders mark the checkout's orders paid, exactly as in production.
        world.flush()
        if answered is not None and answer == "decline":
            answered = self._pay_again(buyer, checkout, at=at)
            answer = "approve" if answered is not None else answer
        if answered is None or answer != "approve":
            return
        for public_id, shop_pk in paid_orders(world, checkout):
            if world.rng.random() < params.cancel_before_shipping_rate:
                world.schedule("cancel", day, public_id)
            else:
                ship_day = day + world.rng.randint(*params.ship_delay_days)
                world.schedule("ship", ship_day, (public_id, world.shop_index_by_pk[shop_pk]))

    def _pay_again(self, buyer, checkout, *, at):
        """After a declined payment the order is still payable: some buyers press "pay" again
        (a new payment attempt) and approve it; the others let the reservation run out."""
        world = self.world
        if world.rng.random() >= world.params.pay_again_after_decline_rate:
            return None
        at += timedelta(minutes=1)
        retried = world.call(
            orders.retry_payment,
            at=at,
            outcome="payment.retried",
            order=checkout.orders.order_by("pk").first(),
            actor=buyer,
        )
        if retried is None:
            return None
        answered = world.call(
            payments.respond_in_sandbox,
            at=at,
            outcome="payment.approve",
            payment=payments.payment_by_public_id(public_id=retried.payment_public_id),
            actor=buyer,
            approve=True,
        )
        world.flush()
        return answered


def _current(public_id: str, state: str):
    """The order now, if it is still in ``state`` (else None: something else happened first)."""
    order = order_selectors.order_by_public_id(public_id=public_id)
    return order if order.state == state else None


class CancelOrders(Activity):
    """A few buyers change their mind after paying, before the shop ships: refunded in full."""

    name = "cancel"

    def play_day(self, day: int) -> None:
        world = self.world
        due = world.due("cancel", day)
        for public_id, moment in zip(due, world.moments(len(due)), strict=True):
            order = _current(public_id, PAID)
            if order is not None:
                world.call(
                    orders.cancel_order,
                    at=moment,
                    outcome="order.cancelled_by_buyer",
                    order=order,
                    actor=order.buyer,
                )


class ShipOrders(Activity):
    """Merchants ship paid orders a day or two after payment; most buyers confirm receipt."""

    name = "ship"

    def play_day(self, day: int) -> None:
        world, params, rng = self.world, self.world.params, self.world.rng
        due = world.due("ship", day)
        for (public_id, shop), moment in zip(due, world.moments(len(due)), strict=True):
            order = _current(public_id, PAID)
            if order is None:
                continue
            if rng.random() < params.unshipped_refund_rate:
                # The buyer asks for the money back before it leaves; the shop holds the parcel.
                world.schedule("after_sale_unshipped", day, (public_id, shop))
                continue
            carrier = rng.choice(sorted(_CARRIERS))
            tracking_number = _CARRIERS[carrier](rng)
            shipped = world.call(
                orders.ship_order,
                at=moment,
                outcome="order.sent_to_pickup" if order.is_pickup else "order.shipped",
                order=order,
                actor=world.user(world.shops[shop].owner),
                # A pickup order is taken to the point by the shop: no carrier, no number.
                carrier="" if order.is_pickup else carrier,
                tracking_number="" if order.is_pickup else tracking_number,
            )
            if shipped is not None and rng.random() < params.confirm_receipt_rate:
                confirm_day = day + rng.randint(*params.confirm_delay_days)
                world.schedule("confirm", confirm_day, (public_id, shop))


class ConfirmReceipts(Activity):
    """Buyers confirm receipt (the rest are received automatically by settle_due); a few then
    ask for an after-sale."""

    name = "receive"

    def play_day(self, day: int) -> None:
        world, params, rng = self.world, self.world.params, self.world.rng
        due = world.due("confirm", day)
        for (public_id, shop), moment in zip(due, world.moments(len(due)), strict=True):
            order = _current(public_id, SHIPPED)
            if order is None:
                continue
            if order.is_pickup:
                # The buyer shows the code at the point; the 团长's collection is the receipt.
                received = collect(world, order, at=moment)
            else:
                received = world.call(
                    orders.confirm_receipt,
                    at=moment,
                    outcome="order.received",
                    order=order,
                    actor=order.buyer,
                )
            if received is not None and rng.random() < params.after_sale_rate:
                world.schedule("after_sale", day + rng.randint(1, 2), (public_id, shop))


class AfterSales(Activity):
    """After-sale requests and how each one ends: the buyer asks (refund only, or return and
    refund, with a reason from the list); the merchant accepts or rejects the next day, or never
    answers (then ``settle_due`` escalates it at the answer deadline, or refunds a request made
    before shipping); an accepted return is sent back and then confirmed by the merchant,
    disputed, or refunded automatically at its deadline; a rejected buyer may escalate; the
    operator works through the escalated queue (oldest first) a day after each escalation."""

    name = "after_sale"

    def plan(self) -> None:
        self.escalations = 0
        self.returns_sent = 0

    def play_day(self, day: int) -> None:
        world = self.world
        steps = (
            ("after_sale", self._request),
            ("after_sale_unshipped", self._request_before_shipping),
            ("after_sale_decide", self._merchant_decides),
            ("after_sale_escalate", self._escalate),
            ("after_sale_send_back", self._send_back),
            ("after_sale_return_arrives", self._return_arrives),
        )
        for kind, step in steps:
            due = world.due(kind, day)
            for item, moment in zip(due, world.moments(len(due)), strict=True):
                step(item, day=day, at=moment)
        self._operator_queue(day)

    def _request(self, item, *, day: int, at) -> None:
        world, params, rng = self.world, self.world.params, self.world.rng
        public_id, shop = item
        order = _current(public_id, RECEIVED)
        if order is None:
            return
        lines = [line for line in order.lines.all() if line.refundable_quantity > 0]
        if not lines:
            return
        line = rng.choice(lines)
        returning = rng.random() < params.return_and_refund_share
        after_sale = world.call(
            orders.request_after_sale,
            at=at,
            outcome="after_sale.requested",
            order=order,
            actor=order.buyer,
            kind="return_and_refund" if returning else "refund_only",
            reason_code=rng.choice(_RETURN_REASON_CODES if returning else _REFUND_REASON_CODES),
            reason=rng.choice(_RETURN_REASONS if returning else _REFUND_ONLY_REASONS),
            lines=[
                {"line_id": line.public_id, "quantity": rng.randint(1, line.refundable_quantity)}
            ],
        )
        if after_sale is not None:
            self._await_merchant(after_sale.public_id, shop, day=day)

    def _request_before_shipping(self, item, *, day: int, at) -> None:
        """The buyer wants the money back before the parcel leaves: refund only, everything."""
        world = self.world
        public_id, shop = item
        order = _current(public_id, PAID)
        if order is None:
            return
        after_sale = world.call(
            orders.request_after_sale,
            at=at,
            outcome="after_sale.requested_before_shipping",
            order=order,
            actor=order.buyer,
            kind="refund_only",
            reason_code="changed_mind",
            reason="不想要了，还没发货请直接退款",
        )
        if after_sale is not None:
            self._await_merchant(after_sale.public_id, shop, day=day)

    def _await_merchant(self, public_id: str, shop: int, *, day: int) -> None:
        world, params = self.world, self.world.params
        if world.rng.random() < params.after_sale_no_answer_rate:
            world.outcomes["after_sale.left_unanswered"] += 1  # settle_due decides at the deadline
            return
        world.schedule("after_sale_decide", day + 1, (public_id, shop))

    def _merchant(self, shop: int):
        return self.world.user(self.world.shops[shop].owner)

    def _merchant_decides(self, item, *, day: int, at) -> None:
        world, params, rng = self.world, self.world.params, self.world.rng
        public_id, shop = item
        merchant = self._merchant(shop)
        after_sale = order_selectors.after_sale_for_viewer(public_id=public_id, viewer=merchant)
        if rng.random() < params.after_sale_accept_rate:
            if after_sale.kind == "return_and_refund" and not after_sale.order.shop.return_address:
                # The first return a merchant accepts makes them fill in the return address.
                world.call(
                    catalog_services.update_shop,
                    at=at,
                    outcome="shop.return_address_set",
                    shop=after_sale.order.shop,
                    actor=merchant,
                    return_address=_RETURN_ADDRESS,
                )
            accepted = world.call(
                orders.accept_after_sale,
                at=at,
                outcome="after_sale.accepted",
                after_sale=after_sale,
                actor=merchant,
            )
            if accepted is not None and accepted.state == "accepted":
                world.schedule("after_sale_send_back", day + rng.randint(1, 2), (public_id, shop))
            return
        rejected = world.call(
            orders.reject_after_sale,
            at=at,
            outcome="after_sale.rejected",
            after_sale=after_sale,
            actor=merchant,
            reason=rng.choice(_REJECTION_REASONS),
        )
        if rejected is not None and after_sale.order.state == PAID:
            world.schedule("ship", day + 1, (after_sale.order.public_id, shop))  # ships after all
        wants_platform = rng.random() < params.escalation_rate
        # The first rejections always go to the platform, so the demo shows an escalation.
        if rejected is not None and (wants_platform or self.escalations < params.min_escalations):
            self.escalations += 1
            world.schedule("after_sale_escalate", day + 1, public_id)

    def _send_back(self, item, *, day: int, at) -> None:
        """The buyer posts the goods back (or forgets: the request closes at its deadline)."""
        world, params, rng = self.world, self.world.params, self.world.rng
        public_id, shop = item
        forgets = rng.random() >= params.return_ship_rate
        # The world's first accepted returns are always sent, so the demo shows a return.
        if forgets and self.returns_sent >= params.min_returns_sent:
            world.outcomes["after_sale.return_never_sent"] += 1
            return
        after_sale = order_selectors.after_sale_for_viewer(
            public_id=public_id, viewer=world.user(-1)
        )
        sent = world.call(
            orders.ship_return,
            at=at,
            outcome="after_sale.return_shipped",
            after_sale=after_sale,
            actor=after_sale.order.buyer,
            # A carrier code and a number in that carrier's format (``rng.choice`` of the dict
            # itself picked a key by position and failed once a return was sent).
            carrier=(carrier := rng.choice(sorted(_CARRIERS))),
            tracking_number=_CARRIERS[carrier](rng),
        )
        if sent is not None:
            self.returns_sent += 1
            world.schedule("after_sale_return_arrives", day + rng.randint(2, 3), (public_id, shop))

    def _return_arrives(self, item, *, day: int, at) -> None:
        """The merchant confirms the returned goods, disputes them, or lets the deadline refund."""
        world, params, rng = self.world, self.world.params, self.world.rng
        public_id, shop = item
        merchant = self._merchant(shop)
        after_sale = order_selectors.after_sale_for_viewer(public_id=public_id, viewer=merchant)
        roll = rng.random()
        if roll < params.return_dispute_rate:
            world.call(
                orders.dispute_return,
                at=at,
                outcome="after_sale.return_disputed",
                after_sale=after_sale,
                actor=merchant,
                reason=rng.choice(_DISPUTE_REASONS),
            )
        elif roll < params.return_dispute_rate + params.return_confirm_rate:
            world.call(
                orders.confirm_return_received,
                at=at,
                outcome="after_sale.return_received",
                after_sale=after_sale,
                actor=merchant,
            )
        else:
            world.outcomes["after_sale.return_left_to_deadline"] += 1

    def _escalate(self, public_id, *, day: int, at) -> None:
        world = self.world
        after_sale = order_selectors.after_sale_for_viewer(
            public_id=public_id, viewer=world.user(-1)
        )
        world.call(
            orders.escalate_after_sale,
            at=at,
            outcome="after_sale.escalated",
            after_sale=after_sale,
            actor=after_sale.order.buyer,
        )

    def _operator_queue(self, day: int) -> None:
        """The operator decides, oldest first, what was escalated before today (by a buyer, by
        an unanswered deadline or by a merchant's dispute)."""
        world, rng = self.world, self.world.rng
        world.flush()  # read what today's services (and last night's deadlines) wrote
        waiting = list(
            order_selectors.escalated_after_sales().filter(escalated_at__lt=world.day_start(day))
        )
        operator = world.user(-1)
        for after_sale, moment in zip(waiting, world.moments(len(waiting)), strict=True):
            refund = rng.random() < world.params.operator_refund_rate
            world.call(
                orders.decide_escalated_after_sale,
                at=moment,
                outcome="after_sale.operator_" + ("refunded" if refund else "closed"),
                after_sale=after_sale,
                actor=operator,
                refund=refund,
                note=_OPERATOR_NOTES[0 if refund else 1],
            )


def paid_orders(world, checkout) -> list[tuple[str, int]]:
    """(public id, shop pk) of the checkout's orders that are paid now, told to the world
    (``World.orders_paid``: loop truth counts the purchases links brought from them)."""
    paid = [
        (public_id, shop_pk)
        for public_id, shop_pk, state in checkout.orders.order_by("pk").values_list(
            "public_id", "shop_id", "state"
        )
        if state == PAID
    ]
    world.orders_paid(public_id for public_id, _shop in paid)
    return paid


def buyer_address(world, buyer, *, at) -> str | None:
    """The buyer's default address, added to their address book before their first purchase
    (a random district of China, a mobile number, a street): cart checkouts and every deal
    (groups, bargains, flash sales, pledges) ship there."""
    found = order_selectors.default_address(user=buyer)
    if found is not None:
        return found.public_id
    # The address is the buyer's own, drawn from (seed, buyer): still one world per seed, and the
    # day's shared random stream does not shift with whether a deal or a cart came first.
    rng = random.Random(f"{world.params.seed}:address:{buyer.pk}")
    province = rng.choice(regions.provinces())
    # Only cities whose districts have 6-digit codes: the few without districts (东莞市, 中山市…)
    # list 9-digit street codes, which Address.district_code (6 characters) cannot hold yet.
    cities = [
        city
        for city in regions.children_of(province.code)
        if regions.children_of(city.code)
        and all(len(d.code) <= REGION_CODE_LENGTH for d in regions.children_of(city.code))
    ]
    city = rng.choice(cities)
    district = rng.choice(regions.children_of(city.code))
    address = world.call(
        address_services.add_address,
        at=at,
        outcome="address.added",
        user=buyer,
        recipient_name=buyer.display_name or rng.choice(_RECIPIENTS),
        phone=f"139{rng.randrange(10**8):08d}",
        province_code=province.code,
        city_code=city.code,
        district_code=district.code,
        street=f"{rng.choice(_STREETS)} {rng.randint(1, 999)} 号",
    )
    return address.public_id if address is not None else None
