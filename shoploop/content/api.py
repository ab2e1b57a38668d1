"""Content API, mounted at /api/v1/content: posts, comments, likes, favourites, reports, mutes
and reviews. Parse, call a service or selector, answer."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.urls import reverse
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import CursorPagination, paginate

from shoploop.accounts.auth import optional_auth
from shoploop.communities.selectors import get_community
from shoploop.content import selectors, services
from shoploop.content.markup import render_markdown
from shoploop.content.models import Post, Review
from shoploop.core.errors import NotFound, PermissionDenied, ValidationFailed
from shoploop.core.schemas import InputSchema, rate_limited_response

router = Router(tags=["content"])

# Posting, commenting, reporting and sharing are rate-limited per person (bursts, new accounts).
RATE_LIMITED = rate_limited_response(
    "Too many posts, comments or reports in a short time; ``rate_limited``."
)


# ---------------------------------------------------------------------------------------------
# Schemas (names are unique across the whole API)


class ContentPersonOut(Schema):
    id: str
    display_name: str


class ContentPhotoOut(Schema):
    id: str
    url: str
    width: int
    height: int


class ContentCardOut(Schema):
    kind: str
    id: str
    title: str


class ContentAuthoredOut(Schema):
    """What posts and reviews share: a public id, an author, text, photos, a state and a date.
    Read from the model; the resolvers turn keys into public ids. (A base only: no operation
    answers with it, so it never appears as a schema of its own.)"""

    id: str
    author: ContentPersonOut
    body: str
    photos: list[ContentPhotoOut]
    state: str
    created_at: datetime

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id

    @staticmethod
    def resolve_author(obj) -> dict:
        return _person(obj.author)

    @staticmethod
    def resolve_photos(obj) -> list[dict]:
        return _photos(obj)


class ContentPostOut(ContentAuthoredOut):
    """Read from a Post."""

    community_id: str
    body_html: str
    card: ContentCardOut | None = None
    review_id: str | None = None
    moderation_reason: str
    pinned: bool
    like_count: int
    comment_count: int
    edited_at: datetime | None = None
    url: str

    @staticmethod
    def resolve_community_id(obj) -> str:
        return obj.community.public_id

    @staticmethod
    def resolve_body_html(obj) -> str:
        return render_markdown(obj.body)

    @staticmethod
    def resolve_card(obj) -> dict | None:
        if not obj.card_kind:
            return None
        return {"kind": obj.card_kind, "id": obj.card_public_id, "title": obj.card_title}

    @staticmethod
    def resolve_review_id(obj) -> str | None:
        return obj.review.public_id if obj.review_id else None

    @staticmethod
    def resolve_pinned(obj) -> bool:
        return obj.pinned_at is not None

    @staticmethod
    def resolve_url(obj) -> str:
        return reverse("content:post", args=[obj.public_id])


class ContentPostIn(InputSchema):
    body: str = ""
    card_kind: str = ""
    card_id: str = ""


class ContentPostPatch(InputSchema):
    body: str
    card_kind: str | None = None
    card_id: str | None = None


class ContentModerateIn(InputSchema):
    action: str
    reason: str = ""


class ContentPinIn(InputSchema):
    pinned: bool = True


class ContentCommentOut(Schema):
    id: str
    post_id: str
    parent_id: str | None = None
    author: ContentPersonOut
    body: str
    state: str
    moderation_reason: str
    created_at: datetime

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id

    @staticmethod
    def resolve_post_id(obj) -> str:
        return obj.post.public_id

    @staticmethod
    def resolve_parent_id(obj) -> str | None:
        return obj.parent.public_id if obj.parent_id else None

    @staticmethod
    def resolve_author(obj) -> dict:
        return _person(obj.author)

    @staticmethod
    def resolve_body(obj) -> str:
        # A removed or deleted comment keeps its place in a thread, without its text.
        return obj.body if obj.is_visible else ""


class ContentCommentIn(InputSchema):
    body: str
    parent_id: str | None = None


class ContentLikeOut(Schema):
    post_id: str
    like_count: int
    liked: bool


class ContentFavouriteOut(Schema):
    id: str
    post_id: str | None = None
    product_id: str | None = None
    created_at: datetime

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id

    @staticmethod
    def resolve_post_id(obj) -> str | None:
        return obj.post.public_id if obj.post_id else None

    @staticmethod
    def resolve_product_id(obj) -> str | None:
        return obj.product.public_id if obj.product_id else None


class ContentReportIn(InputSchema):
    post_id: str | None = None
    comment_id: str | None = None
    review_id: str | None = None
    reason: str


class ContentReportOut(Schema):
    id: str
    target_kind: str
    target_id: str
    community_id: str | None = None
    reason: str
    state: str
    created_at: datetime

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id

    @staticmethod
    def resolve_target_kind(obj) -> str:
        return type(obj.target).__name__.lower()

    @staticmethod
    def resolve_target_id(obj) -> str:
        return obj.target.public_id

    @staticmethod
    def resolve_community_id(obj) -> str | None:
        return obj.community.public_id if obj.community_id else None


class ContentMuteIn(InputSchema):
    user_id: str
    days: int
    reason: str = ""


class ContentMuteOut(Schema):
    community_id: str
    user_id: str
    until: datetime
    reason: str


class ContentReviewIn(InputSchema):
    order_line_id: str
    stars: int
    body: str = ""


class ContentReviewOut(ContentAuthoredOut):
    """Read from a Review."""

    product_id: str
    shop_id: str
    stars: int
    follow_up_body: str
    follow_up_at: datetime | None = None
    reply_body: str
    reply_at: datetime | None = None
    refunded: bool

    @staticmethod
    def resolve_product_id(obj) -> str:
        return obj.product.public_id

    @staticmethod
    def resolve_shop_id(obj) -> str:
        return obj.shop.public_id

    @staticmethod
    def resolve_refunded(obj) -> bool:
        return obj.is_refunded


class ContentTextIn(InputSchema):
    body: str


class ContentReasonIn(InputSchema):
    reason: str


class ContentShareIn(InputSchema):
    community_id: str
    body: str = ""


class ContentRatingOut(Schema):
    average: float | None = None
    count: int
    distribution: dict[str, int]


class ContentAwaitingLineOut(Schema):
    """Read from an OrderLine."""

    order_line_id: str
    order_id: str
    product_id: str
    title: str
    received_at: datetime

    @staticmethod
    def resolve_order_line_id(obj) -> str:
        return obj.public_id

    @staticmethod
    def resolve_order_id(obj) -> str:
        return obj.order.public_id

    @staticmethod
    def resolve_product_id(obj) -> str:
        return obj.product_public_id

    @staticmethod
    def resolve_received_at(obj):
        return obj.order.received_at


# ---------------------------------------------------------------------------------------------
# Serialisers


def _person(user) -> dict:
    return {"id": user.public_id, "display_name": str(user)}


def _photos(owner) -> list[dict]:
    return [_photos_one(photo) for photo in owner.photos.all()]


def _rating(rating: dict) -> dict:
    return {**rating, "distribution": {str(k): v for k, v in rating["distribution"].items()}}


def _post_for(request, post_id: str) -> Post:
    return selectors.get_post(public_id=post_id, viewer=request.user)


def _user(public_id: str):
    user = get_user_model().objects.filter(public_id=str(public_id)[:12]).first()
    if user is None:
        raise NotFound(code="user_not_found")
    return user


def _product(public_id: str):
    from shoploop.catalog.selectors import product_for_viewer

    return product_for_viewer(public_id=public_id, viewer=None)


# ---------------------------------------------------------------------------------------------
# Posts


@router.get("/communities/{community_id}/posts", response=list[ContentPostOut], auth=optional_auth)
@paginate(CursorPagination, ordering=("-created_at",))
def list_posts(request, community_id: str):
    """A community's discussion, newest first (``pinned`` marks the pinned ones)."""
    community = get_community(public_id=community_id)
    if not selectors.can_read_community(user=request.user, community=community):
        raise PermissionDenied(code="members_only")
    return selectors.community_posts(community=community, viewer=request.user)


@router.post(
    "/communities/{community_id}/posts", response={201: ContentPostOut}, openapi_extra=RATE_LIMITED
)
def create_post(request, community_id: str, body: ContentPostIn):
    """Markdown text (links, lists; no HTML) and an optional card; add photos afterwards."""
    post = services.create_post(
        actor=request.user,
        community=get_community(public_id=community_id),
        body=body.body,
        card_kind=body.card_kind,
        card_id=body.card_id,
    )
    return Status(201, post)


@router.get("/posts/{post_id}", response=ContentPostOut, auth=optional_auth)
def get_post(request, post_id: str):
    return _post_for(request, post_id)


@router.patch("/posts/{post_id}", response=ContentPostOut)
def edit_post(request, post_id: str, body: ContentPostPatch):
    post = services.edit_post(
        actor=request.user,
        post=_post_for(request, post_id),
        body=body.body,
        card_kind=body.card_kind,
        card_id=body.card_id,
    )
    return post


@router.delete("/posts/{post_id}", response=ContentPostOut)
def delete_post(request, post_id: str):
    return services.delete_post(actor=request.user, post=_post_for(request, post_id))


@router.post("/posts/{post_id}/photos", response={201: ContentPhotoOut})
def add_post_photo(request, post_id: str, photo: File[UploadedFile]):
    """Multipart (field ``photo``): JPEG, PNG or WebP, at most 5 MB; resized, EXIF stripped."""
    stored = services.add_post_photo(
        actor=request.user, post=_post_for(request, post_id), upload=photo
    )
    return Status(201, _photos_one(stored))


def _photos_one(photo) -> dict:
    return {
        "id": photo.public_id,
        "url": photo.image.url,
        "width": photo.width,
        "height": photo.height,
    }


@router.post("/posts/{post_id}/moderate", response=ContentPostOut)
def moderate_post(request, post_id: str, body: ContentModerateIn):
    """Owners and moderators: ``hide``, ``remove`` (with a reason) or ``restore``."""
    post = services.moderate_post(
        actor=request.user,
        post=_post_for(request, post_id),
        action=body.action,
        reason=body.reason,
    )
    return post


@router.post("/posts/{post_id}/pin", response=ContentPostOut)
def pin_post(request, post_id: str, body: ContentPinIn):
    post = services.pin_post(
        actor=request.user, post=_post_for(request, post_id), pinned=body.pinned
    )
    return post


@router.post("/posts/{post_id}/like", response={201: ContentLikeOut})
def like_post(request, post_id: str):
    """Once per person: a second like is a 409 ``already_liked``."""
    post = _post_for(request, post_id)
    services.like_post(actor=request.user, post=post)
    post.refresh_from_db(fields=["like_count"])
    return Status(201, {"post_id": post.public_id, "like_count": post.like_count, "liked": True})


@router.delete("/posts/{post_id}/like", response=ContentLikeOut)
def unlike_post(request, post_id: str):
    post = _post_for(request, post_id)
    services.unlike_post(actor=request.user, post=post)
    post.refresh_from_db(fields=["like_count"])
    return {"post_id": post.public_id, "like_count": post.like_count, "liked": False}


# ---------------------------------------------------------------------------------------------
# Comments


@router.get("/posts/{post_id}/comments", response=list[ContentCommentOut], auth=optional_auth)
@paginate(CursorPagination, ordering=("created_at",))
def list_comments(request, post_id: str):
    """Every comment and reply of the post, oldest first (``parent_id`` names the thread)."""
    post = _post_for(request, post_id)
    return selectors.comments_of(post=post)


@router.post(
    "/posts/{post_id}/comments", response={201: ContentCommentOut}, openapi_extra=RATE_LIMITED
)
def add_comment(request, post_id: str, body: ContentCommentIn):
    post = _post_for(request, post_id)
    parent = None
    if body.parent_id:
        parent = selectors.get_comment(public_id=body.parent_id)
    comment = services.add_comment(actor=request.user, post=post, body=body.body, parent=parent)
    return Status(201, comment)


@router.delete("/comments/{comment_id}", response=ContentCommentOut)
def delete_comment(request, comment_id: str):
    comment = selectors.get_comment(public_id=comment_id)
    return services.delete_comment(actor=request.user, comment=comment)


@router.post("/comments/{comment_id}/moderate", response=ContentCommentOut)
def moderate_comment(request, comment_id: str, body: ContentModerateIn):
    comment = selectors.get_comment(public_id=comment_id)
    comment = services.moderate_comment(
        actor=request.user, comment=comment, action=body.action, reason=body.reason
    )
    return comment


# ---------------------------------------------------------------------------------------------
# Favourites (收藏)


@router.get("/favourites", response=list[ContentFavouriteOut])
@paginate(CursorPagination, ordering=("-created_at",))
def list_favourites(request):
    return selectors.favourites_of(user=request.user)


@router.post("/posts/{post_id}/favourite", response={201: ContentFavouriteOut})
def favourite_post(request, post_id: str):
    return Status(201, services.favourite(actor=request.user, post=_post_for(request, post_id)))


@router.delete("/posts/{post_id}/favourite", response={204: None})
def unfavourite_post(request, post_id: str):
    services.unfavourite(actor=request.user, post=_post_for(request, post_id))
    return Status(204, None)


@router.post("/products/{product_id}/favourite", response={201: ContentFavouriteOut})
def favourite_product(request, product_id: str):
    return Status(201, services.favourite(actor=request.user, product=_product(product_id)))


@router.delete("/products/{product_id}/favourite", response={204: None})
def unfavourite_product(request, product_id: str):
    services.unfavourite(actor=request.user, product=_product(product_id))
    return Status(204, None)


# ---------------------------------------------------------------------------------------------
# Reports and mutes


@router.post("/reports", response={201: ContentReportOut}, openapi_extra=RATE_LIMITED)
def create_report(request, body: ContentReportIn):
    """Report exactly one of a post, a comment or a review."""
    named = [x for x in (body.post_id, body.comment_id, body.review_id) if x]
    if len(named) != 1:
        raise ValidationFailed(code="invalid_target")
    target = {}
    if body.post_id:
        target["post"] = _post_for(request, body.post_id)
    elif body.comment_id:
        target["comment"] = selectors.get_comment(public_id=body.comment_id)
    else:
        target["review"] = selectors.get_review(public_id=body.review_id, viewer=request.user)
    report = services.report(actor=request.user, reason=body.reason, **target)
    return Status(201, report)


@router.get("/reports", response=list[ContentReportOut])
@paginate(CursorPagination, ordering=("created_at",))
def list_reports(request, community_id: str = ""):
    """Open reports: a community's (its moderators), or all of them (operators)."""
    community = get_community(public_id=community_id) if community_id else None
    return selectors.report_queue(viewer=request.user, community=community)


@router.post("/reports/{report_id}/handle", response=ContentReportOut)
def handle_report(request, report_id: str, body: ContentModerateIn):
    """``dismiss``, or ``hide`` / ``remove`` the reported thing (its author sees the reason)."""
    report = services.handle_report(
        actor=request.user,
        report=selectors.get_report(public_id=report_id),
        action=body.action,
        reason=body.reason,
    )
    return report


@router.post("/communities/{community_id}/mutes", response={201: ContentMuteOut})
def mute_member(request, community_id: str, body: ContentMuteIn):
    community = get_community(public_id=community_id)
    mute = services.mute_member(
        actor=request.user,
        community=community,
        user=_user(body.user_id),
        days=body.days,
        reason=body.reason,
    )
    return Status(
        201,
        {
            "community_id": community.public_id,
            "user_id": body.user_id,
            "until": mute.until,
            "reason": mute.reason,
        },
    )


@router.delete("/communities/{community_id}/mutes/{user_id}", response={204: None})
def unmute_member(request, community_id: str, user_id: str):
    community = get_community(public_id=community_id)
    services.unmute_member(actor=request.user, community=community, user=_user(user_id))
    return Status(204, None)


# ---------------------------------------------------------------------------------------------
# Reviews


@router.get("/products/{product_id}/reviews", response=list[ContentReviewOut], auth=optional_auth)
@paginate(CursorPagination, ordering=("-photo_count", "-created_at"))
def list_product_reviews(request, product_id: str):
    """Visible reviews, those with photos first."""
    return selectors.product_reviews(product=_product(product_id))


@router.get("/products/{product_id}/rating", response=ContentRatingOut, auth=optional_auth)
def product_rating(request, product_id: str):
    return _rating(selectors.product_rating(product=_product(product_id)))


@router.get("/shops/{shop_id}/rating", response=ContentRatingOut, auth=optional_auth)
def shop_rating(request, shop_id: str):
    from shoploop.catalog.selectors import visible_shop

    return _rating(selectors.shop_rating(shop=visible_shop(public_id=shop_id, viewer=None)))


@router.get("/reviews/awaiting", response=list[ContentAwaitingLineOut])
@paginate(CursorPagination, ordering=("-order__received_at",))
def awaiting_review(request):
    """待评价: the caller's received order lines without a review."""
    return selectors.lines_awaiting_review(user=request.user)


@router.post("/reviews", response={201: ContentReviewOut})
def create_review(request, body: ContentReviewIn):
    """Only the buyer of a received order line, once (409 ``already_reviewed``)."""
    from shoploop.orders.models import OrderLine

    line = (
        OrderLine.objects.select_related("order", "order__shop")
        .filter(public_id=str(body.order_line_id)[:12])
        .first()
    )
    if line is None:
        raise NotFound(code="order_line_not_found")
    review = services.create_review(
        actor=request.user, order_line=line, stars=body.stars, body=body.body
    )
    return Status(201, review)


@router.get("/reviews/{review_id}", response=ContentReviewOut, auth=optional_auth)
def get_review(request, review_id: str):
    return selectors.get_review(public_id=review_id, viewer=request.user)


def _own_review(request, review_id: str) -> Review:
    return selectors.get_review(public_id=review_id, viewer=request.user)


@router.post("/reviews/{review_id}/photos", response={201: ContentPhotoOut})
def add_review_photo(request, review_id: str, photo: File[UploadedFile]):
    stored = services.add_review_photo(
        actor=request.user, review=_own_review(request, review_id), upload=photo
    )
    return Status(201, _photos_one(stored))


@router.post("/reviews/{review_id}/follow-up", response=ContentReviewOut)
def add_follow_up(request, review_id: str, body: ContentTextIn):
    """追评: once, within 90 days of receipt."""
    review = services.add_follow_up(
        actor=request.user, review=_own_review(request, review_id), body=body.body
    )
    return review


@router.post("/reviews/{review_id}/reply", response=ContentReviewOut)
def reply_to_review(request, review_id: str, body: ContentTextIn):
    """The shop's one public reply."""
    review = services.reply_to_review(
        actor=request.user, review=_own_review(request, review_id), body=body.body
    )
    return review


@router.post("/reviews/{review_id}/hide", response=ContentReviewOut)
def hide_review(request, review_id: str, body: ContentReasonIn):
    """Operators only."""
    review = services.hide_review(
        actor=request.user, review=_own_review(request, review_id), reason=body.reason
    )
    return review


@router.post(
    "/reviews/{review_id}/share", response={201: ContentPostOut}, openapi_extra=RATE_LIMITED
)
def share_review(request, review_id: str, body: ContentShareIn):
    """晒单: post the review into a community the reviewer belongs to."""
    post = services.share_review(
        actor=request.user,
        review=_own_review(request, review_id),
        community=get_community(public_id=body.community_id),
        body=body.body,
    )
    return Status(201, post)


# ---------------------------------------------------------------------------------------------
# Profiles and search


def _profile_person(user_id: str):
    from shoploop.accounts.selectors import active_user_by_public_id

    return active_user_by_public_id(user_id)


@router.get("/users/{user_id}/posts", response=list[ContentPostOut], auth=optional_auth)
@paginate(CursorPagination, ordering=("-created_at",))
def list_user_posts(request, user_id: str):
    """A person's posts that the caller may read (members-only communities only for members);
    empty across a block, either way."""
    return selectors.posts_by(author=_profile_person(user_id), viewer=request.user)


@router.get("/users/{user_id}/reviews", response=list[ContentReviewOut], auth=optional_auth)
@paginate(CursorPagination, ordering=("-created_at",))
def list_user_reviews(request, user_id: str):
    """A person's reviews that are not hidden; empty across a block, either way."""
    return selectors.public_reviews_by(author=_profile_person(user_id), viewer=request.user)


@router.get("/search/posts", response=list[ContentPostOut], auth=optional_auth)
@paginate(CursorPagination, ordering=("-created_at",))
def search_posts(request, q: str = ""):
    """Posts whose text contains ``q``, among those the caller may read, newest first."""
    return selectors.search_posts(query=q, viewer=request.user)


@router.get("/search/reviews", response=list[ContentReviewOut], auth=optional_auth)
@paginate(CursorPagination, ordering=("-created_at",))
def search_reviews(request, q: str = ""):
    """Visible reviews whose text, follow-up or product title contains ``q``, newest first."""
    return selectors.search_reviews(query=q, viewer=request.user)
