"""Outbox subscribers that fan items out into readers' timelines (docs/feed.md).

Each runs in the outbox's transaction with its handled row, once per event; the upsert in
``services.write`` makes a replay harmless anyway. Payloads name things by public id.
"""

from dataclasses import dataclass

from shoploop.core.events import DomainEvent, subscribe
from shoploop.feed import services
from shoploop.feed.models import Kind, Reason


def _user(public_id):
    from shoploop.accounts.models import User

    if not public_id:
        return None
    return User.objects.filter(public_id=public_id, is_active=True).first()


@subscribe("content.post.created", key="feed.post_created")
def post_created(event: DomainEvent) -> None:
    from shoploop.content.models import Moderated, Post

    post = Post.objects.filter(public_id=event.payload.get("post_public_id")).first()
    if post is not None and post.state == Moderated.VISIBLE:
        services.fan_out_post(post)


@subscribe("content.review.created", key="feed.review_created")
def review_created(event: DomainEvent) -> None:
    from shoploop.content.models import Review

    review = Review.objects.filter(public_id=event.payload.get("review_public_id")).first()
    if review is not None and review.state == Review.State.VISIBLE:
        services.fan_out_review(review)


@subscribe("catalog.product.published", key="feed.product_published")
def product_published(event: DomainEvent) -> None:
    from shoploop.catalog.models import Product

    product = Product.objects.filter(
        public_id=event.payload.get("product_public_id"), is_published=True
    ).first()
    if product is not None:
        services.fan_out_product(product)


@dataclass(frozen=True)
class DealEvent:
    """What one deal event fans out: the item its payload names (``item_key``), who did it (the
    person ``actor_key`` names, or the item's own ``actor_field``), and the reason."""

    key: str  # the subscriber's key in the outbox's handled rows: never change it
    kind: str
    item_key: str
    reason: str
    actor_key: str = ""
    actor_field: str = ""


# A friend's deal reaches their followers (only if they share their activity; see
# services.fan_out_activity): one table, one handler.
DEAL_EVENTS = {
    "deals.group.opened": DealEvent(
        "feed.group_opened",
        Kind.GROUP,
        "group_public_id",
        Reason.FRIEND_OPENED,
        actor_key="leader_public_id",
    ),
    "deals.group.joined": DealEvent(
        "feed.group_joined",
        Kind.GROUP,
        "group_public_id",
        Reason.FRIEND_JOINED,
        actor_key="member_public_id",
    ),
    # A friend's bargain (砍价) reaches their followers, who may help cut the price.
    "bargains.bargain.started": DealEvent(
        "feed.bargain_started",
        Kind.BARGAIN,
        "bargain_public_id",
        Reason.FRIEND_BARGAINING,
        actor_field="initiator",
    ),
    "crowdfunding.pledge.paid": DealEvent(
        "feed.pledge_paid",
        Kind.PROJECT,
        "project_public_id",
        Reason.FRIEND_BACKED,
        actor_key="backer_public_id",
    ),
}


def _deal_model(kind: str):
    from shoploop.deals.bargains.models import Bargain
    from shoploop.deals.crowdfunding.models import Project
    from shoploop.deals.groups.models import Group

    return {Kind.GROUP: Group, Kind.BARGAIN: Bargain, Kind.PROJECT: Project}[kind]


def friend_deal(event: DomainEvent) -> None:
    """The one subscriber of every event in ``DEAL_EVENTS``."""
    spec = DEAL_EVENTS[event.name]
    public_id = event.payload.get(spec.item_key)
    if not public_id:
        return
    items = _deal_model(spec.kind).objects.filter(public_id=public_id)
    if spec.actor_field:
        items = items.select_related(spec.actor_field)
        item = items.first()
        actor = getattr(item, spec.actor_field) if item is not None else None
    else:
        # The person first: most people do not share their activity, and then the deal is
        # not worth reading.
        actor = _user(event.payload.get(spec.actor_key))
        if actor is None or not actor.share_activity_with_followers:
            return
        item = items.first()
    if item is None:
        return
    services.fan_out_activity(
        actor=actor,
        kind=spec.kind,
        item_id=item.pk,
        reason=spec.reason,
        at=event.occurred_at or item.created_at,
    )


for _name, _spec in DEAL_EVENTS.items():
    subscribe(_name, key=_spec.key)(friend_deal)


@subscribe("orders.order.paid", key="feed.order_paid")
def order_paid(event: DomainEvent) -> None:
    """Each product of a paid order reaches the buyer's followers (if the buyer shares), said
    with a community of that product the buyer belongs to ("王芳 in 茶友会 bought this")."""
    from shoploop.catalog.models import Product
    from shoploop.communities.models import Membership
    from shoploop.orders.models import OrderLine

    buyer = _user(event.payload.get("buyer_public_id"))
    if buyer is None or not buyer.share_activity_with_followers:
        return
    product_ids = OrderLine.objects.filter(
        order__public_id=event.payload.get("order_public_id")
    ).values_list("product_public_id", flat=True)
    products = Product.objects.filter(public_id__in=list(product_ids)).prefetch_related(
        "communities"
    )
    joined = set(
        Membership.objects.filter(user=buyer, state=Membership.State.ACTIVE).values_list(
            "community_id", flat=True
        )
    )
    for product in products:
        shared = sorted(c.pk for c in product.communities.all() if c.pk in joined)
        services.fan_out_activity(
            actor=buyer,
            kind=Kind.PRODUCT,
            item_id=product.pk,
            reason=Reason.FRIEND_BOUGHT,
            at=event.occurred_at,
            community_id=shared[0] if shared else None,
        )
