"""Every write of posts, comments, likes, favourites, reports, mutes and reviews.

Plain functions with keyword-only arguments, one transaction each; they check who may do it,
raise ``DomainError``s before writing anything, and publish events after the commit.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shoploop.communities.models import Community, Membership
from shoploop.content import selectors
from shoploop.content.markup import clean_user_text
from shoploop.content.models import (
    COMMENT_MAX_LENGTH,
    MAX_PHOTOS,
    POST_MAX_LENGTH,
    REASON_MAX_LENGTH,
    REVIEW_MAX_LENGTH,
    Comment,
    Favourite,
    Moderated,
    Mute,
    Post,
    PostLike,
    PostPhoto,
    Report,
    Review,
    ReviewPhoto,
)
from shoploop.core import clock, ratelimit
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.core.images import prepared_image, save_with_image

PHOTO_MAX_SIDE = 1600
FOLLOW_UP_DAYS = 90
MUTE_MAX_DAYS = 365


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# ---------------------------------------------------------------------------------------------
# Guards


def _require_signed_in(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def _require_community_open(community: Community) -> None:
    if community.state == Community.State.DISSOLVED:
        raise Conflict(_("This community has been dissolved."), code="community_dissolved")
    if community.state == Community.State.ARCHIVED:
        raise Conflict(_("This community is archived and read-only."), code="community_archived")


def _require_may_write(actor, community: Community) -> None:
    """Signed in, an active member, not banned and not muted, in an open community."""
    _require_signed_in(actor)
    _require_community_open(community)
    membership = Membership.objects.filter(community=community, user=actor).first()
    if membership is not None and membership.state == Membership.State.BANNED:
        raise PermissionDenied(_("You are banned from this community."), code="banned")
    if membership is None or membership.state != Membership.State.ACTIVE:
        raise PermissionDenied(
            _("Only members of this community can post here."), code="not_a_member"
        )
    mute = selectors.active_mute(user=actor, community=community)
    if mute is not None:
        raise PermissionDenied(
            _("You are muted in this community until %(until)s.")
            % {"until": timezone.localtime(mute.until).strftime("%Y-%m-%d %H:%M")},
            code="muted",
        )


def _require_moderator(actor, community: Community) -> None:
    _require_signed_in(actor)
    if not selectors.may_moderate(user=actor, community=community):
        raise PermissionDenied(_("Only the owner and moderators can do that."))


def _require_operator(actor) -> None:
    _require_signed_in(actor)
    if not actor.is_staff:
        raise PermissionDenied(_("Only platform operators can do that."))


def _limit_writes(actor, *, scope: str) -> None:
    """Bursts: at most CONTENT_BURST_LIMIT writes of a kind per minute for everyone; accounts
    younger than CONTENT_NEW_ACCOUNT_HOURS also at most CONTENT_NEW_ACCOUNT_LIMIT an hour."""
    subject = str(actor.public_id)
    ratelimit.hit(
        scope=f"content:{scope}",
        subject=subject,
        limit=_setting("CONTENT_BURST_LIMIT", 5),
        window_seconds=60,
    )
    young = clock.now() - actor.date_joined < timedelta(
        hours=_setting("CONTENT_NEW_ACCOUNT_HOURS", 24)
    )
    if young:
        ratelimit.hit(
            scope=f"content:new:{scope}",
            subject=subject,
            limit=_setting("CONTENT_NEW_ACCOUNT_LIMIT", 3),
            window_seconds=3600,
        )


def _clean_reason(reason, *, required: bool = True) -> str:
    return clean_user_text(reason, field="reason", max_length=REASON_MAX_LENGTH, required=required)


# ---------------------------------------------------------------------------------------------
# Photos (the after-sale pipeline of orders: core.images checks, shrinks, strips, re-encodes)


def _prepared_photos(photos, *, already: int = 0) -> list:
    photos = [photo for photo in (photos or []) if photo is not None]
    if already + len(photos) > MAX_PHOTOS:
        raise ValidationFailed(
            _("At most %(max)d photos, please.") % {"max": MAX_PHOTOS},
            code="too_many_photos",
            fields={"photos": "too_many"},
        )
    return [
        prepared_image(photo, max_width=PHOTO_MAX_SIDE, max_height=PHOTO_MAX_SIDE, field="photos")
        for photo in photos
    ]


def _store_photos(model, *, owner_field: str, owner, prepared, first_position: int = 0) -> None:
    for offset, image in enumerate(prepared):
        photo = model(
            **{owner_field: owner},
            width=image.width,
            height=image.height,
            position=first_position + offset,
        )
        save_with_image(photo, image.file)


# ---------------------------------------------------------------------------------------------
# Cards


def _card_title(kind: str, public_id: str) -> str:
    """The title of an existing, shareable product / open group / active bargain / live project;
    anything else is a 422 ``card_not_found``."""
    public_id = str(public_id or "")[:12]
    title = None
    if kind == Post.CardKind.PRODUCT:
        from shoploop.catalog.models import Product, Shop

        product = Product.objects.filter(
            public_id=public_id, is_published=True, shop__status=Shop.Status.APPROVED
        ).first()
        title = product.title if product else None
    elif kind == Post.CardKind.GROUP:
        from shoploop.deals.groups.models import Group

        group = (
            Group.objects.select_related("campaign")
            .filter(public_id=public_id, state=Group.State.OPEN)
            .first()
        )
        title = str(group.campaign) if group else None
    elif kind == Post.CardKind.BARGAIN:
        from shoploop.deals.bargains.models import Bargain

        bargain = (
            Bargain.objects.select_related("campaign")
            .filter(public_id=public_id, state=Bargain.State.ACTIVE)
            .first()
        )
        title = str(bargain.campaign) if bargain else None
    elif kind == Post.CardKind.PROJECT:
        from shoploop.deals.crowdfunding.models import Project

        project = Project.objects.filter(public_id=public_id, state=Project.State.LIVE).first()
        title = project.title if project else None
    else:
        raise ValidationFailed(
            _("Unknown kind of card."), code="invalid_card", fields={"card_kind": "invalid"}
        )
    if title is None:
        raise ValidationFailed(
            _("That card does not exist or can no longer be shared."),
            code="card_not_found",
            fields={"card_id": "not_found"},
        )
    return title[:200]


def _clean_card(card_kind, card_id) -> tuple[str, str, str]:
    card_kind = str(card_kind or "")
    if not card_kind:
        return "", "", ""
    return card_kind, str(card_id)[:12], _card_title(card_kind, card_id)


# ---------------------------------------------------------------------------------------------
# Posts


def create_post(
    *,
    actor,
    community: Community,
    body: str = "",
    photos=(),
    card_kind: str = "",
    card_id: str = "",
    review: Review | None = None,
) -> Post:
    """A member's post: Markdown text, up to MAX_PHOTOS photos, an optional card."""
    _require_may_write(actor, community)
    body = clean_user_text(body, field="body", max_length=POST_MAX_LENGTH)
    prepared = _prepared_photos(photos)
    if not body and not prepared and review is None:
        raise ValidationFailed(
            _("Write something or add a photo."), code="empty_post", fields={"body": "required"}
        )
    card_kind, card_id, card_title = _clean_card(card_kind, card_id)
    _limit_writes(actor, scope="post")
    with transaction.atomic():
        post = Post(
            community=community,
            author=actor,
            body=body,
            card_kind=card_kind,
            card_public_id=card_id,
            card_title=card_title,
            review=review,
        )
        try:
            with transaction.atomic():
                post.save()
        except IntegrityError:
            raise Conflict(
                _("You already shared this review in this community."), code="already_shared"
            ) from None
        _store_photos(PostPhoto, owner_field="post", owner=post, prepared=prepared)
        publish(
            "content.post.created",
            post_public_id=post.public_id,
            community_public_id=community.public_id,
            author_public_id=actor.public_id,
            review_public_id=review.public_id if review else None,
            card_kind=card_kind or None,
            card_public_id=card_id or None,
        )
    return post


def _require_author(actor, post: Post) -> None:
    _require_signed_in(actor)
    if post.author_id != actor.pk:
        raise PermissionDenied(_("Only the author can do that."), code="not_author")
    if post.state in (Moderated.REMOVED, Moderated.DELETED):
        raise Conflict(_("This post has been removed."), code="post_removed")


def edit_post(*, actor, post: Post, body: str, card_kind=None, card_id=None) -> Post:
    """The author changes the text (and the card, when given); photos stay."""
    _require_author(actor, post)
    body = clean_user_text(body, field="body", max_length=POST_MAX_LENGTH)
    if not body and not post.photos.exists() and post.review_id is None:
        raise ValidationFailed(
            _("Write something or add a photo."), code="empty_post", fields={"body": "required"}
        )
    fields = {"body": body, "edited_at": clock.now()}
    if card_kind is not None:
        kind, public_id, title = _clean_card(card_kind, card_id)
        fields.update(card_kind=kind, card_public_id=public_id, card_title=title)
    Post.objects.filter(pk=post.pk).update(**fields)
    post.refresh_from_db()
    return post


def delete_post(*, actor, post: Post) -> Post:
    """The author deletes their post: it disappears for everyone (kept for reports)."""
    _require_author(actor, post)
    updated = Post.objects.filter(
        pk=post.pk, state__in=[Moderated.VISIBLE, Moderated.HIDDEN]
    ).update(state=Moderated.DELETED, pinned_at=None)
    if not updated:
        raise Conflict(_("This post has been removed."), code="post_removed")
    post.refresh_from_db()
    return post


def pin_post(*, actor, post: Post, pinned: bool = True) -> Post:
    _require_moderator(actor, post.community)
    if pinned and not post.is_visible:
        raise Conflict(_("Only a visible post can be pinned."), code="post_not_visible")
    Post.objects.filter(pk=post.pk).update(pinned_at=clock.now() if pinned else None)
    post.refresh_from_db()
    return post


def moderate_post(*, actor, post: Post, action: str, reason: str = "") -> Post:
    """A moderator (or operator) hides, removes or restores a post; the author sees the reason.
    Hidden can be restored; removed is final."""
    _require_moderator(actor, post.community)
    now = clock.now()
    if action == "restore":
        updated = Post.objects.filter(pk=post.pk, state=Moderated.HIDDEN).update(
            state=Moderated.VISIBLE, moderation_reason="", moderated_by=actor, moderated_at=now
        )
    elif action in ("hide", "remove"):
        reason = _clean_reason(reason)
        to_state = Moderated.HIDDEN if action == "hide" else Moderated.REMOVED
        allowed = [Moderated.VISIBLE] + ([Moderated.HIDDEN] if action == "remove" else [])
        updated = Post.objects.filter(pk=post.pk, state__in=allowed).update(
            state=to_state,
            moderation_reason=reason,
            moderated_by=actor,
            moderated_at=now,
            pinned_at=None,
        )
    else:
        raise ValidationFailed(_("Unknown action."), code="invalid_action")
    if not updated:
        raise Conflict(_("The post is not in a state for that."), code="post_state")
    post.refresh_from_db()
    return post


# ---------------------------------------------------------------------------------------------
# Comments


def add_comment(*, actor, post: Post, body: str, parent: Comment | None = None) -> Comment:
    """A member's comment, or a reply to a top-level comment (a reply to a reply joins its
    thread: one level of replies)."""
    selectors.require_readable_post(viewer=actor, post=post)
    if not post.is_visible:
        raise Conflict(_("This post is not open for comments."), code="post_not_visible")
    _require_may_write(actor, post.community)
    body = clean_user_text(body, field="body", max_length=COMMENT_MAX_LENGTH, required=True)
    if parent is not None:
        if parent.post_id != post.pk:
            raise ValidationFailed(_("That comment is on another post."), code="parent_mismatch")
        if not parent.is_visible:
            raise Conflict(_("You cannot reply to a deleted comment."), code="comment_deleted")
        if parent.parent_id is not None:
            parent = parent.parent
    _limit_writes(actor, scope="comment")
    with transaction.atomic():
        comment = Comment.objects.create(post=post, author=actor, parent=parent, body=body)
        Post.objects.filter(pk=post.pk).update(comment_count=F("comment_count") + 1)
        publish(
            "content.comment.created",
            comment_public_id=comment.public_id,
            post_public_id=post.public_id,
            community_public_id=post.community.public_id,
            author_public_id=actor.public_id,
            post_author_public_id=post.author.public_id,
            parent_public_id=parent.public_id if parent else None,
        )
    return comment


def _leave_visible(comment: Comment, to_state: str, **fields) -> None:
    with transaction.atomic():
        updated = Comment.objects.filter(pk=comment.pk, state=Moderated.VISIBLE).update(
            state=to_state, **fields
        )
        if not updated:
            raise Conflict(_("This comment has already been removed."), code="comment_deleted")
        Post.objects.filter(pk=comment.post_id, comment_count__gt=0).update(
            comment_count=F("comment_count") - 1
        )
    comment.refresh_from_db()


def delete_comment(*, actor, comment: Comment) -> Comment:
    _require_signed_in(actor)
    if comment.author_id != actor.pk:
        raise PermissionDenied(_("Only the author can do that."), code="not_author")
    _leave_visible(comment, Moderated.DELETED)
    return comment


def moderate_comment(*, actor, comment: Comment, action: str, reason: str = "") -> Comment:
    _require_moderator(actor, comment.post.community)
    if action not in ("hide", "remove"):
        raise ValidationFailed(_("Unknown action."), code="invalid_action")
    reason = _clean_reason(reason)
    to_state = Moderated.HIDDEN if action == "hide" else Moderated.REMOVED
    _leave_visible(comment, to_state, moderation_reason=reason, moderated_at=clock.now())
    return comment


# ---------------------------------------------------------------------------------------------
# Likes and favourites


def like_post(*, actor, post: Post) -> PostLike:
    """Once per person: a second like (or the loser of a race) is a 409 ``already_liked``."""
    _require_signed_in(actor)
    selectors.require_readable_post(viewer=actor, post=post)
    if not post.is_visible:
        raise Conflict(_("This post cannot be liked."), code="post_not_visible")
    with transaction.atomic():
        try:
            with transaction.atomic():
                like = PostLike.objects.create(post=post, user=actor)
        except IntegrityError:
            raise Conflict(_("You already like this post."), code="already_liked") from None
        Post.objects.filter(pk=post.pk).update(like_count=F("like_count") + 1)
        publish(
            "content.post.liked",
            post_public_id=post.public_id,
            community_public_id=post.community.public_id,
            liker_public_id=actor.public_id,
            author_public_id=post.author.public_id,
        )
    return like


def unlike_post(*, actor, post: Post) -> None:
    _require_signed_in(actor)
    with transaction.atomic():
        deleted, _rows = PostLike.objects.filter(post=post, user=actor).delete()
        if not deleted:
            raise Conflict(_("You do not like this post."), code="not_liked")
        Post.objects.filter(pk=post.pk, like_count__gt=0).update(like_count=F("like_count") - 1)


def favourite(*, actor, post: Post | None = None, product=None) -> Favourite:
    """收藏 a post (one the person can read) or a product; a second time is a 409."""
    _require_signed_in(actor)
    if (post is None) == (product is None):
        raise ValidationFailed(_("Save either a post or a product."), code="invalid_target")
    if post is not None:
        selectors.require_readable_post(viewer=actor, post=post)
    try:
        with transaction.atomic():
            return Favourite.objects.create(user=actor, post=post, product=product)
    except IntegrityError:
        raise Conflict(_("Already in your favourites."), code="already_favourited") from None


def unfavourite(*, actor, post: Post | None = None, product=None) -> None:
    _require_signed_in(actor)
    if (post is None) == (product is None):
        raise ValidationFailed(_("Save either a post or a product."), code="invalid_target")
    filters = {"post": post} if post is not None else {"product": product}
    deleted, _rows = Favourite.objects.filter(user=actor, **filters).delete()
    if not deleted:
        raise Conflict(_("That is not in your favourites."), code="not_favourited")


# ---------------------------------------------------------------------------------------------
# Reports and mutes


def report(
    *, actor, reason: str, post: Post | None = None, comment: Comment | None = None, review=None
) -> Report:
    """Anyone signed in reports a post, comment or review; one open report per person per thing."""
    _require_signed_in(actor)
    targets = [t for t in (post, comment, review) if t is not None]
    if len(targets) != 1:
        raise ValidationFailed(_("Report one thing at a time."), code="invalid_target")
    reason = _clean_reason(reason)
    community = None
    if post is not None:
        selectors.require_readable_post(viewer=actor, post=post)
        community = post.community
    elif comment is not None:
        selectors.require_readable_post(viewer=actor, post=comment.post)
        community = comment.post.community
    _limit_writes(actor, scope="report")
    try:
        with transaction.atomic():
            return Report.objects.create(
                reporter=actor,
                community=community,
                post=post,
                comment=comment,
                review=review,
                reason=reason,
            )
    except IntegrityError:
        raise Conflict(_("You have already reported this."), code="already_reported") from None


def handle_report(*, actor, report: Report, action: str, reason: str = "") -> Report:
    """A moderator of the report's community, or an operator: ``dismiss``, or ``hide`` /
    ``remove`` the reported thing (the reason is shown to its author)."""
    _require_signed_in(actor)
    if report.community is not None:
        _require_moderator(actor, report.community)
    else:
        _require_operator(actor)
    if report.state != Report.State.OPEN:
        raise Conflict(_("This report has already been handled."), code="report_handled")
    if action not in ("dismiss", "hide", "remove"):
        raise ValidationFailed(_("Unknown action."), code="invalid_action")
    reason = reason or report.reason
    with transaction.atomic():
        if action != "dismiss":
            target = report.target
            if isinstance(target, Post) and target.state in (Moderated.VISIBLE, Moderated.HIDDEN):
                moderate_post(actor=actor, post=target, action=action, reason=reason)
            elif isinstance(target, Comment) and target.is_visible:
                moderate_comment(actor=actor, comment=target, action=action, reason=reason)
            elif isinstance(target, Review) and target.state == Review.State.VISIBLE:
                hide_review(actor=actor, review=target, reason=reason)
        state = Report.State.DISMISSED if action == "dismiss" else Report.State.ACTED
        # Every open report of the same thing is settled with it.
        same = {f"{f}_id": getattr(report, f"{f}_id") for f in ("post", "comment", "review")}
        Report.objects.filter(state=Report.State.OPEN, **same).update(
            state=state, handled_by=actor, handled_at=clock.now()
        )
    report.refresh_from_db()
    return report


def mute_member(*, actor, community: Community, user, days: int, reason: str = "") -> Mute:
    """A moderator silences a member for ``days`` (1–365): they can read, not post or comment."""
    _require_moderator(actor, community)
    if not isinstance(days, int) or not 1 <= days <= MUTE_MAX_DAYS:
        raise ValidationFailed(
            _("Mute for 1 to %(max)d days.") % {"max": MUTE_MAX_DAYS},
            code="invalid_days",
            fields={"days": "invalid"},
        )
    if selectors.may_moderate(user=user, community=community):
        raise PermissionDenied(_("Moderators cannot be muted."), code="cannot_mute_moderator")
    reason = _clean_reason(reason, required=False)
    until = clock.now() + timedelta(days=days)
    mute, _created = Mute.objects.update_or_create(
        community=community,
        user=user,
        defaults={"until": until, "reason": reason, "muted_by": actor},
    )
    return mute


def unmute_member(*, actor, community: Community, user) -> None:
    _require_moderator(actor, community)
    Mute.objects.filter(community=community, user=user).delete()


# ---------------------------------------------------------------------------------------------
# Reviews


def create_review(*, actor, order_line, stars, body: str = "", photos=()) -> Review:
    """The buyer of a received order line reviews it, once: 1–5 stars, text, up to 9 photos."""
    from shoploop.catalog.models import Product
    from shoploop.orders.models import Order

    _require_signed_in(actor)
    order = order_line.order
    if order.buyer_id != actor.pk:
        raise PermissionDenied(
            _("Only the buyer can review what they bought."), code="not_your_order_line"
        )
    if order.received_at is None or order.state not in (
        Order.State.RECEIVED,
        Order.State.COMPLETED,
    ):
        raise Conflict(_("You can review this once you have received it."), code="not_received")
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise ValidationFailed(
            _("Give 1 to 5 stars."), code="invalid_stars", fields={"stars": "invalid"}
        )
    body = clean_user_text(body, field="body", max_length=REVIEW_MAX_LENGTH)
    product = Product.objects.filter(public_id=order_line.product_public_id).first()
    if product is None:
        raise NotFound(_("This product no longer exists."), code="product_not_found")
    prepared = _prepared_photos(photos)
    with transaction.atomic():
        review = Review(
            order_line=order_line,
            product=product,
            shop_id=order.shop_id,
            author=actor,
            stars=stars,
            body=body,
            photo_count=len(prepared),
        )
        try:
            with transaction.atomic():
                review.save()
        except IntegrityError:
            raise Conflict(_("You have already reviewed this."), code="already_reviewed") from None
        _store_photos(ReviewPhoto, owner_field="review", owner=review, prepared=prepared)
        publish(
            "content.review.created",
            review_public_id=review.public_id,
            product_public_id=product.public_id,
            shop_public_id=order.shop.public_id,
            author_public_id=actor.public_id,
            order_public_id=order.public_id,
            order_line_public_id=order_line.public_id,
            stars=stars,
        )
    return review


def add_follow_up(*, actor, review: Review, body: str) -> Review:
    """追评: once, within FOLLOW_UP_DAYS days of receiving the order."""
    _require_signed_in(actor)
    if review.author_id != actor.pk:
        raise PermissionDenied(_("Only the reviewer can do that."), code="not_author")
    body = clean_user_text(body, field="body", max_length=REVIEW_MAX_LENGTH, required=True)
    received_at = review.order_line.order.received_at
    now = clock.now()
    if received_at is None or now > received_at + timedelta(days=FOLLOW_UP_DAYS):
        raise Conflict(
            _("A follow-up is possible for %(days)d days after receipt.")
            % {"days": FOLLOW_UP_DAYS},
            code="follow_up_closed",
        )
    updated = Review.objects.filter(pk=review.pk, follow_up_at__isnull=True).update(
        follow_up_body=body, follow_up_at=now
    )
    if not updated:
        raise Conflict(_("You have already added a follow-up."), code="follow_up_exists")
    review.refresh_from_db()
    return review


def reply_to_review(*, actor, review: Review, body: str) -> Review:
    """The shop answers a review once, publicly."""
    _require_signed_in(actor)
    if review.shop.owner_id != actor.pk:
        raise PermissionDenied(_("Only the shop can reply."), code="not_shop_owner")
    body = clean_user_text(body, field="body", max_length=REVIEW_MAX_LENGTH, required=True)
    updated = Review.objects.filter(pk=review.pk, reply_at__isnull=True).update(
        reply_body=body, reply_at=clock.now()
    )
    if not updated:
        raise Conflict(_("The shop has already replied."), code="already_replied")
    review.refresh_from_db()
    return review


def hide_review(*, actor, review: Review, reason: str) -> Review:
    """An operator hides a review that breaks the rules (merchants never can)."""
    _require_operator(actor)
    reason = _clean_reason(reason)
    updated = Review.objects.filter(pk=review.pk, state=Review.State.VISIBLE).update(
        state=Review.State.HIDDEN, hidden_reason=reason
    )
    if not updated:
        raise Conflict(_("This review is already hidden."), code="review_hidden")
    review.refresh_from_db()
    return review


def unhide_review(*, actor, review: Review) -> Review:
    _require_operator(actor)
    Review.objects.filter(pk=review.pk).update(state=Review.State.VISIBLE, hidden_reason="")
    review.refresh_from_db()
    return review


def share_review(*, actor, review: Review, community: Community, body: str = "") -> Post:
    """晒单: the reviewer posts their review into a community; the post links back to it and
    carries the product's card."""
    _require_signed_in(actor)
    if review.author_id != actor.pk:
        raise PermissionDenied(_("Only the reviewer can share this review."), code="not_author")
    if review.state != Review.State.VISIBLE:
        raise Conflict(_("This review is hidden."), code="review_hidden")
    from shoploop.catalog.models import Shop

    product = review.product
    on_sale = product.is_published and product.shop.status == Shop.Status.APPROVED
    return create_post(
        actor=actor,
        community=community,
        body=body,
        card_kind=Post.CardKind.PRODUCT if on_sale else "",
        card_id=product.public_id if on_sale else "",
        review=review,
    )


def add_post_photo(*, actor, post: Post, upload) -> PostPhoto:
    """One more photo for the author's post (the API's multipart upload), at most MAX_PHOTOS."""
    _require_author(actor, post)
    (prepared,) = _prepared_photos([upload])
    with transaction.atomic():
        locked = Post.objects.select_for_update().get(pk=post.pk)
        count = locked.photos.count()
        _prepared_photos([], already=count + 1)
        _store_photos(
            PostPhoto, owner_field="post", owner=locked, prepared=[prepared], first_position=count
        )
    return post.photos.order_by("-position").first()


def add_review_photo(*, actor, review: Review, upload) -> ReviewPhoto:
    """One more photo for the reviewer's review, at most MAX_PHOTOS."""
    _require_signed_in(actor)
    if review.author_id != actor.pk:
        raise PermissionDenied(_("Only the reviewer can do that."), code="not_author")
    (prepared,) = _prepared_photos([upload])
    with transaction.atomic():
        locked = Review.objects.select_for_update().get(pk=review.pk)
        count = locked.photos.count()
        _prepared_photos([], already=count + 1)
        _store_photos(
            ReviewPhoto,
            owner_field="review",
            owner=locked,
            prepared=[prepared],
            first_position=count,
        )
        Review.objects.filter(pk=review.pk).update(photo_count=F("photo_count") + 1)
    return review.photos.order_by("-position").first()
