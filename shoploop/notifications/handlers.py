"""Subscriptions: each event a person cares about becomes a notification for them.

The event names and payload keys are the contract in docs/events.md. Every handler is safe to
run twice for one event: ``services.notify`` keys each notification by (recipient, event
identity) and the database keeps one. Recipients are found from the payload's public ids.
"""

from datetime import datetime, timedelta

from shoploop.core.deadlines import register_deadline_handler
from shoploop.core.events import DomainEvent, subscribe
from shoploop.notifications import selectors, services

BARGAIN_EXPIRY_WARNING = timedelta(hours=1)
SWEEP_BATCH_SIZE = 200


def _key(event: DomainEvent, *parts) -> str:
    return ":".join([event.name, *[str(part) for part in parts]])


def _name(user) -> str:
    return str(user) if user is not None else ""


# How many notifications one INSERT makes when an event reaches a whole audience (voters,
# backers): the people are read and written in slices of this size.
AUDIENCE_SLICE = 500


def _notify_audience(people, *, kind: str, key: str, params: dict) -> None:
    """The same notification for each of ``people`` (an iterable of users), in slices."""
    batch = []
    for person in people:
        batch.append(services.Note(person, key, params))
        if len(batch) == AUDIENCE_SLICE:
            services.notify_all(kind=kind, notes=batch)
            batch = []
    services.notify_all(kind=kind, notes=batch)


def _blocks(recipient, actor) -> bool:
    """The recipient blocked the person who acted: nothing about them reaches the recipient."""
    from shoploop.accounts.selectors import is_blocked

    return actor is not None and is_blocked(blocker=recipient, user=actor)


# --- group buying ------------------------------------------------------------------------------


def group_joined(event: DomainEvent) -> None:
    payload = event.payload
    group = selectors.group(payload.get("group_public_id"))
    if group is None:
        return
    from shoploop.accounts.selectors import blockers_among

    member_public_id = payload.get("member_public_id")
    members = [seat.user for seat in selectors.group_members_now(group)]
    # The joiner is usually still a member: found there, without a read of their own.
    joiner = next((user for user in members if user.public_id == member_public_id), None)
    if joiner is None:
        joiner = selectors.user_by_public_id(member_public_id)
    product = selectors.product_title_of_group(group)
    others = [user for user in members if joiner is None or user.pk != joiner.pk]
    blockers = blockers_among(joiner, [user.pk for user in others])
    _notify_audience(
        [user for user in others if user.pk not in blockers],
        kind="group_joined",
        key=_key(event, group.public_id, payload.get("member_public_id")),
        params={"group": group.public_id, "product": product, "member_name": _name(joiner)},
    )


def group_completed(event: DomainEvent) -> None:
    group = selectors.group(event.payload.get("group_public_id"))
    if group is None:
        return
    _notify_audience(
        [seat.user for seat in selectors.group_paid_members(group)],
        kind="group_completed",
        key=_key(event, group.public_id),
        params={"group": group.public_id, "product": selectors.product_title_of_group(group)},
    )


def group_failed(event: DomainEvent) -> None:
    from shoploop.deals.groups.models import Seat

    if event.payload.get("member_public_ids") == []:
        return  # an empty group closed in bulk: nobody held a seat, nobody to tell
    group = selectors.group(event.payload.get("group_public_id"))
    if group is None or group.closed_at is None:
        return
    product = selectors.product_title_of_group(group)
    key = _key(event, group.public_id)
    notes = [
        services.Note(
            seat.user,
            key,
            {
                "group": group.public_id,
                "product": product,
                "refund_fen": seat.price_fen if seat.state == Seat.State.REFUNDED else 0,
            },
        )
        for seat in selectors.group_members_at_failure(group)
    ]
    services.notify_all(kind="group_failed", notes=notes)


# --- bargains ----------------------------------------------------------------------------------


def bargain_helped(event: DomainEvent) -> None:
    payload = event.payload
    bargain = selectors.bargain(payload.get("bargain_public_id"))
    if bargain is None:
        return
    helper = selectors.user_by_public_id(payload.get("helper_public_id"))
    if helper is not None and helper.pk == bargain.initiator_id:
        return
    if _blocks(bargain.initiator, helper):
        return
    services.notify(
        recipient=bargain.initiator,
        kind="bargain_helped",
        key=_key(event, bargain.public_id, payload.get("helper_public_id")),
        params={
            "bargain": bargain.public_id,
            "product": bargain.campaign.title,
            "helper_name": _name(helper),
            "cut_fen": int(payload.get("cut_fen") or 0),
        },
    )


def bargain_floor_reached(event: DomainEvent) -> None:
    bargain = selectors.bargain(event.payload.get("bargain_public_id"))
    if bargain is None:
        return
    services.notify(
        recipient=bargain.initiator,
        kind="bargain_floor_reached",
        key=_key(event, bargain.public_id),
        params={
            "bargain": bargain.public_id,
            "product": bargain.campaign.title,
            "price_fen": bargain.campaign.floor_price_fen,
        },
    )


def notify_expiring_bargains(now: datetime) -> int:
    """Deadline handler: every open bargain whose deadline is within the hour tells its starter,
    once per bargain (the notification's key). Any number of workers may run it together: a
    second one's insert of the same key is a no-op."""
    sent = 0
    after = 0
    while True:
        batch = selectors.bargains_expiring(
            start=now, end=now + BARGAIN_EXPIRY_WARNING, after_pk=after, limit=SWEEP_BATCH_SIZE
        )
        for bargain in batch:
            made = services.notify(
                recipient=bargain.initiator,
                kind="bargain_expiring",
                key=f"bargains.bargain.expiring:{bargain.public_id}",
                params={"bargain": bargain.public_id, "product": bargain.campaign.title},
            )
            sent += made is not None
            after = bargain.pk
        if len(batch) < SWEEP_BATCH_SIZE:
            return sent


# --- crowdfunding ------------------------------------------------------------------------------


def _project_decided(event: DomainEvent, kind: str) -> None:
    project = selectors.project(event.payload.get("project_public_id"))
    if project is None:
        return
    _notify_audience(
        selectors.project_backers(project),
        kind=kind,
        key=_key(event, project.public_id),
        params={"project": project.public_id, "title": project.title},
    )


def project_succeeded(event: DomainEvent) -> None:
    _project_decided(event, "crowdfunding_succeeded")


def project_failed(event: DomainEvent) -> None:
    _project_decided(event, "crowdfunding_failed")


# --- orders ------------------------------------------------------------------------------------


def _order_params(order) -> dict:
    return {"order": order.public_id, "title": selectors.order_title(order)}


def order_paid(event: DomainEvent) -> None:
    order = selectors.order(event.payload.get("order_public_id"))
    if order is None:
        return
    services.notify(
        recipient=order.shop.owner,
        kind="order_paid",
        key=_key(event, order.public_id),
        params={**_order_params(order), "total_fen": order.total_fen},
    )


def order_shipped(event: DomainEvent) -> None:
    order = selectors.order(event.payload.get("order_public_id"))
    if order is None or order.is_pickup:
        return  # a pickup order's buyer hears "orders.pickup.ready" instead
    services.notify(
        recipient=order.buyer,
        kind="order_shipped",
        key=_key(event, order.public_id),
        params=_order_params(order),
    )


def pickup_ready(event: DomainEvent) -> None:
    """The shop sent a pickup order to its point: the buyer (with the point's name) and the
    point's 团长 (who will hand it over) hear of it."""
    order = selectors.order(event.payload.get("order_public_id"))
    if order is None or order.pickup_point is None:
        return
    point = order.pickup_point
    services.notify(
        recipient=order.buyer,
        kind="order_pickup_ready",
        key=_key(event, order.public_id),
        params={**_order_params(order), "point": point.name},
    )
    services.notify(
        recipient=point.leader,
        kind="pickup_order_sent",
        key=_key(event, order.public_id, "leader"),
        params={
            **_order_params(order),
            "point": point.name,
            "point_id": point.public_id,
            "buyer_name": _name(order.buyer),
        },
    )


def order_received(event: DomainEvent) -> None:
    if not event.payload.get("auto"):
        return  # the buyer confirmed it themselves
    order = selectors.order(event.payload.get("order_public_id"))
    if order is None:
        return
    services.notify(
        recipient=order.buyer,
        kind="order_auto_received",
        key=_key(event, order.public_id),
        params=_order_params(order),
    )


def order_refunded(event: DomainEvent) -> None:
    from shoploop.orders.models import Order

    payload = event.payload
    order = selectors.order(payload.get("order_public_id"))
    if order is None:
        return
    if order.cancel_reason == Order.CancelReason.DEAL_FAILED:
        return  # the group's or project's own notification says the payment is refunded
    amount = int(payload.get("amount_fen") or 0)
    services.notify(
        recipient=order.buyer,
        kind="order_refunded",
        key=_key(event, order.public_id, payload.get("after_sale_public_id") or "", amount),
        params={**_order_params(order), "amount_fen": amount},
    )


def _after_sale_event(event: DomainEvent, kind: str, *, buyer: bool, shop: bool) -> None:
    after_sale = selectors.after_sale(event.payload.get("after_sale_public_id"))
    if after_sale is None:
        return
    order = after_sale.order
    params = {**_order_params(order), "after_sale": after_sale.public_id}
    recipients = ([order.buyer] if buyer else []) + ([order.shop.owner] if shop else [])
    for recipient in recipients:
        services.notify(
            recipient=recipient,
            kind=kind,
            key=_key(event, after_sale.public_id),
            params=params,
        )


def after_sale_requested(event: DomainEvent) -> None:
    _after_sale_event(event, "after_sale_requested", buyer=False, shop=True)


def after_sale_accepted(event: DomainEvent) -> None:
    _after_sale_event(event, "after_sale_accepted", buyer=True, shop=False)


def after_sale_rejected(event: DomainEvent) -> None:
    _after_sale_event(event, "after_sale_rejected", buyer=True, shop=False)


def after_sale_escalated(event: DomainEvent) -> None:
    _after_sale_event(event, "after_sale_escalated", buyer=True, shop=True)


# --- co-creation (ideas) ------------------------------------------------------------------------


def idea_status_changed(event: DomainEvent) -> None:
    """The idea's author hears every answer of the shop."""
    from shoploop.ideas import selectors as ideas

    idea = ideas.idea_by_public_id(event.payload.get("idea_public_id"))
    if idea is None:
        return
    services.notify(
        recipient=idea.author,
        kind="idea_answered",
        key=_key(event, idea.public_id, event.payload.get("to_status")),
        params={
            "idea": idea.public_id,
            "title": idea.title,
            "shop": idea.shop.name,
            "status": str(event.payload.get("to_status") or ""),
        },
    )


def idea_shipped(event: DomainEvent) -> None:
    """Everyone who voted hears that the idea shipped, and as which product."""
    from shoploop.ideas import selectors as ideas

    idea = ideas.idea_by_public_id(event.payload.get("idea_public_id"))
    if idea is None or idea.shipped_product is None:
        return
    params = {"idea": idea.public_id, "title": idea.title, "product": idea.shipped_product.title}
    _notify_audience(
        ideas.voters_of(idea=idea).iterator(),
        kind="idea_shipped",
        key=_key(event, idea.public_id),
        params=params,
    )


def wanted_presale_started(event: DomainEvent) -> None:
    """Everyone who wanted it gets the link to the pre-sale."""
    from shoploop.ideas import selectors as ideas

    wanted = ideas.wanted_product_by_public_id(event.payload.get("wanted_product_public_id"))
    if wanted is None or wanted.project is None:
        return
    params = {"project": wanted.project.public_id, "title": wanted.title}
    _notify_audience(
        ideas.wanters_of(wanted_product=wanted).iterator(),
        kind="wanted_presale_started",
        key=_key(event, wanted.public_id),
        params=params,
    )


# --- people and chat ---------------------------------------------------------------------------


def user_followed(event: DomainEvent) -> None:
    payload = event.payload
    follower = selectors.user_by_public_id(payload.get("follower_public_id"))
    followee = selectors.user_by_public_id(payload.get("followee_public_id"))
    if follower is None or followee is None or _blocks(followee, follower):
        return
    services.notify(
        recipient=followee,
        kind="new_follower",
        key=_key(event, follower.public_id),
        params={"user": follower.public_id, "name": _name(follower)},
    )


def chat_message_sent(event: DomainEvent) -> None:
    """A message reaches a participant who is away (not seen for ``NOTIFY_AWAY_MINUTES``); one
    unread notification per conversation is enough, so a burst of messages makes one."""
    payload = event.payload
    sender = selectors.user_by_public_id(payload.get("sender_public_id"))
    conversation = str(payload.get("conversation_public_id") or "")
    if not conversation:
        return
    for recipient in selectors.users_by_public_ids(payload.get("recipient_public_ids")):
        if sender is not None and recipient.pk == sender.pk:
            continue
        if _blocks(recipient, sender):
            continue
        if not services.is_away(recipient):
            continue
        if selectors.unread_chat_notification_exists(user=recipient, conversation=conversation):
            continue
        services.notify(
            recipient=recipient,
            kind="chat_message",
            key=_key(event, payload.get("message_public_id")),
            params={"conversation": conversation, "sender_name": _name(sender)},
        )


# --- crowdsourcing tasks ------------------------------------------------------------------------


def crowdtask_winner_picked(event: DomainEvent) -> None:
    from shoploop.crowdtasks.selectors import winner_by_public_id

    winner = winner_by_public_id(event.payload.get("winner_public_id"))
    if winner is None:
        return
    services.notify(
        recipient=winner.user,
        kind="crowdtask_won",
        key=_key(event, winner.public_id),
        params={
            "task": winner.task.public_id,
            "title": winner.task.title,
            "shop": winner.task.shop.name,
            "amount_fen": winner.amount_fen,
        },
    )


def crowdtask_ended(event: DomainEvent) -> None:
    from shoploop.crowdtasks.selectors import entrants_without_prize, task_by_public_id

    task = task_by_public_id(event.payload.get("task_public_id"))
    if task is None:
        return
    _notify_audience(
        (entry.author for entry in entrants_without_prize(task=task)),
        kind="crowdtask_ended",
        key=_key(event, task.public_id),
        params={"task": task.public_id, "title": task.title},
    )


SUBSCRIPTIONS = {
    "deals.group.joined": group_joined,
    "deals.group.completed": group_completed,
    "deals.group.failed": group_failed,
    "bargains.bargain.helped": bargain_helped,
    "bargains.bargain.floor_reached": bargain_floor_reached,
    "crowdfunding.project.succeeded": project_succeeded,
    "crowdfunding.project.failed": project_failed,
    "orders.order.paid": order_paid,
    "orders.order.shipped": order_shipped,
    "orders.order.received": order_received,
    "orders.pickup.ready": pickup_ready,
    "orders.order.refunded": order_refunded,
    "orders.after_sale.requested": after_sale_requested,
    "orders.after_sale.accepted": after_sale_accepted,
    "orders.after_sale.rejected": after_sale_rejected,
    "orders.after_sale.escalated": after_sale_escalated,
    "ideas.idea.status_changed": idea_status_changed,
    "ideas.idea.shipped": idea_shipped,
    "ideas.wanted_product.presale_started": wanted_presale_started,
    "accounts.user.followed": user_followed,
    "chat.message.sent": chat_message_sent,
    "crowdtasks.task.winner_picked": crowdtask_winner_picked,
    "crowdtasks.task.closed": crowdtask_ended,
    "crowdtasks.task.expired": crowdtask_ended,
}


def register() -> None:
    for name, handler in SUBSCRIPTIONS.items():
        subscribe(name)(handler)
    register_deadline_handler("notifications.bargains_expiring")(notify_expiring_bargains)
