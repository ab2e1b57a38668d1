"""Outbox subscribers that fan items out into readers' timelines (docs/feed.md).

Each runs in the outbox's transaction with its handled row, once per event; the upsert in
``services.write`` makes a replay harmless anyway. Payloads name things by public id.
"""

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


def _group(public_id):
    from shoploop.deals.groups.models import Group

    return Group.objects.filter(public_id=public_id).first() if public_id else None


@subscribe("deals.group.opened", key="feed.group_opened")
def group_opened(event: DomainEvent) -> None:
    group = _group(event.payload.get("group_public_id"))
    if group is not None:
        services.fan_out_activity(
            actor=_user(event.payload.get("leader_public_id")),
            kind=Kind.GROUP,
            item_id=group.pk,
            reason=Reason.FRIEND_OPENED,
            at=event.occurred_at or group.created_at,
        )


@subscribe("deals.group.joined", key="feed.group_joined")
def group_joined(event: DomainEvent) -> None:
    group = _group(event.payload.get("group_public_id"))
    if group is not None:
        services.fan_out_activity(
            actor=_user(event.payload.get("member_public_id")),
            kind=Kind.GROUP,
            item_id=group.pk,
            reason=Reason.FRIEND_JOINED,
            at=event.occurred_at or group.created_at,
        )


@subscribe("bargains.bargain.started", key="feed.bargain_started")
def bargain_started(event: DomainEvent) -> None:
    """A friend's bargain (砍价) reaches their followers, who may help cut the price."""
    from shoploop.deals.bargains.models import Bargain

    bargain = (
        Bargain.objects.select_related("initiator")
        .filter(public_id=event.payload.get("bargain_public_id"))
        .first()
    )
    if bargain is not None:
        services.fan_out_activity(
            actor=bargain.initiator,
            kind=Kind.BARGAIN,
            item_id=bargain.pk,
            reason=Reason.FRIEND_BARGAINING,
            at=event.occurred_at or bargain.created_at,
        )


@subscribe("crowdfunding.pledge.paid", key="feed.pledge_paid")
def pledge_paid(event: DomainEvent) -> None:
    from shoploop.deals.crowdfunding.models import Project

    project = Project.objects.filter(public_id=event.payload.get("project_public_id")).first()
    if project is not None:
        services.fan_out_activity(
            actor=_user(event.payload.get("backer_public_id")),
            kind=Kind.PROJECT,
            item_id=project.pk,
            reason=Reason.FRIEND_BACKED,
            at=event.occurred_at or project.created_at,
        )


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
