"""Every write of co-creation: ideas, their photos, votes, comments and the merchant's answers;
wanted products, wants, and the crowdfunding pre-sale started from them.

Plain functions with keyword-only arguments, one transaction each; they check who may do it,
raise ``DomainError``s before writing anything (or inside the transaction, which rolls it back),
and publish events to the outbox with the change.

Counters (``Idea.vote_count``, ``Idea.comment_count``, ``WantedProduct.want_count``) change only
by conditional ``F()`` updates in the transaction of the row that they count; one vote and one
want per person is the database's unique key, so a raced second vote is an ``already_voted``.
"""

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import Product, Shop
from shoploop.communities.models import Community
from shoploop.core import clock, ratelimit
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.core.images import prepared_image, save_with_image
from shoploop.core.text import clean_text
from shoploop.ideas import selectors
from shoploop.ideas.models import (
    BODY_MAX_LENGTH,
    COMMENT_MAX_LENGTH,
    MAX_PHOTOS,
    REASON_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Idea,
    IdeaComment,
    IdeaPhoto,
    IdeaStatusChange,
    IdeaVote,
    PriceBand,
    Want,
    WantedProduct,
)

PHOTO_MAX_SIDE = 1600
BURST_LIMIT = 5  # proposals or comments per person per minute

S = Idea.Status
# Answers move forward only; shipped and declined are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PROPOSED: frozenset({S.UNDER_REVIEW, S.PLANNED, S.IN_PROGRESS, S.SHIPPED, S.DECLINED}),
    S.UNDER_REVIEW: frozenset({S.PLANNED, S.IN_PROGRESS, S.SHIPPED, S.DECLINED}),
    S.PLANNED: frozenset({S.IN_PROGRESS, S.SHIPPED, S.DECLINED}),
    S.IN_PROGRESS: frozenset({S.SHIPPED, S.DECLINED}),
    S.SHIPPED: frozenset(),
    S.DECLINED: frozenset(),
}


# ---------------------------------------------------------------------------------------------
# Guards


def _require_signed_in(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def _require_shop_open(shop: Shop) -> None:
    if shop.status != Shop.Status.APPROVED:
        raise Conflict(_("This shop is not open."), code="shop_not_approved")


def _require_shop_owner(actor, shop: Shop) -> None:
    _require_signed_in(actor)
    if shop.owner_id != actor.pk:
        raise PermissionDenied(_("Only the shop's owner can do that."), code="not_shop_owner")


def _require_member(actor, community: Community) -> None:
    if community.state != Community.State.ACTIVE:
        raise Conflict(_("This community is not active."), code="community_closed")
    if not selectors.is_member(user=actor, community=community):
        raise PermissionDenied(
            _("Only members of this community can do that."), code="not_a_member"
        )


def _require_participant(actor, *, shop: Shop, community: Community | None) -> None:
    """In a community: an active member, and the shop is offered there. Without one: a follower
    of the shop."""
    _require_signed_in(actor)
    _require_shop_open(shop)
    if community is not None:
        _require_member(actor, community)
        if not shop.communities.filter(pk=community.pk).exists():
            raise ValidationFailed(
                _("This shop is not offered in that community."),
                code="shop_not_in_community",
                fields={"community_id": "shop_not_listed"},
            )
    elif not selectors.follows_shop(user=actor, shop=shop):
        raise PermissionDenied(
            _("Follow the shop, or propose from one of your communities."), code="not_a_follower"
        )


def _require_may_take_part(actor, idea: Idea) -> None:
    _require_signed_in(actor)
    if not selectors.may_take_part(user=actor, idea=idea):
        raise PermissionDenied(
            _("Join the idea's community or follow the shop to take part."), code="not_a_member"
        )


def _require_open(idea: Idea) -> None:
    if not idea.is_open:
        raise Conflict(_("This idea is closed."), code="idea_closed")


def _limit(actor, *, scope: str) -> None:
    ratelimit.hit(
        scope=f"ideas:{scope}",
        subject=str(actor.public_id),
        limit=BURST_LIMIT,
        window_seconds=60,
    )


def _clean_title(value) -> str:
    return clean_text(value, field="title", max_length=TITLE_MAX_LENGTH, required=True)


def _require_product_of(shop: Shop, product: Product | None, *, field: str) -> None:
    if product is not None and product.shop_id != shop.pk:
        raise ValidationFailed(
            _("That product is not one of this shop's."),
            code="product_not_in_shop",
            fields={field: "not_in_shop"},
        )


def _too_many_photos() -> ValidationFailed:
    return ValidationFailed(
        _("At most %(max)d photos, please.") % {"max": MAX_PHOTOS},
        code="too_many_photos",
        fields={"photos": "too_many"},
    )


def _prepared_photos(photos, *, already: int = 0) -> list:
    photos = [photo for photo in (photos or []) if photo is not None]
    if already + len(photos) > MAX_PHOTOS:
        raise _too_many_photos()
    return [
        prepared_image(photo, max_width=PHOTO_MAX_SIDE, max_height=PHOTO_MAX_SIDE, field="photos")
        for photo in photos
    ]


def _store_photos(idea: Idea, prepared, *, first_position: int = 0) -> list[IdeaPhoto]:
    stored = []
    for offset, image in enumerate(prepared):
        photo = IdeaPhoto(
            idea=idea, width=image.width, height=image.height, position=first_position + offset
        )
        save_with_image(photo, image.file)
        stored.append(photo)
    return stored


def _public_id(row) -> str | None:
    return row.public_id if row is not None else None


def _idea_ids(idea: Idea) -> dict:
    """What every idea event carries: the idea, its shop and community, its author."""
    return {
        "idea_public_id": idea.public_id,
        "shop_public_id": idea.shop.public_id,
        "community_public_id": _public_id(idea.community),
        "author_public_id": idea.author.public_id,
    }


# ---------------------------------------------------------------------------------------------
# Ideas


def propose_idea(
    *,
    actor,
    shop: Shop,
    title: str,
    body: str,
    community: Community | None = None,
    product: Product | None = None,
    photos=(),
) -> Idea:
    """A member (in a community the shop is offered in) or a follower proposes a new product or
    an improvement of ``product``, with up to MAX_PHOTOS photos."""
    _require_participant(actor, shop=shop, community=community)
    title = _clean_title(title)
    body = clean_text(body, field="body", max_length=BODY_MAX_LENGTH, required=True)
    _require_product_of(shop, product, field="product_id")
    prepared = _prepared_photos(photos)
    _limit(actor, scope="propose")
    with transaction.atomic():
        idea = Idea.objects.create(
            shop=shop, community=community, author=actor, product=product, title=title, body=body
        )
        _store_photos(idea, prepared)
        publish(
            "ideas.idea.proposed",
            **_idea_ids(idea),
            product_public_id=_public_id(product),
            kind="improvement" if product else "new_product",
        )
    return idea


def add_idea_photo(*, actor, idea: Idea, upload) -> IdeaPhoto:
    """The author adds a photo to their open idea (up to MAX_PHOTOS in all)."""
    _require_signed_in(actor)
    if idea.author_id != actor.pk:
        raise PermissionDenied(_("Only the author can do that."), code="not_author")
    _require_open(idea)
    (image,) = _prepared_photos([upload])
    with transaction.atomic():
        Idea.objects.select_for_update().filter(pk=idea.pk).first()  # one adder at a time
        already = idea.photos.count()
        if already >= MAX_PHOTOS:
            raise _too_many_photos()
        (photo,) = _store_photos(idea, [image], first_position=already)
    return photo


def vote(*, actor, idea: Idea) -> IdeaVote:
    """Once per person, on an open idea: a second vote (or the loser of a race) is a 409
    ``already_voted``; a shipped or declined idea takes none (``idea_closed``)."""
    _require_may_take_part(actor, idea)
    _require_open(idea)
    with transaction.atomic():
        try:
            with transaction.atomic():
                cast = IdeaVote.objects.create(idea=idea, user=actor)
        except IntegrityError:
            raise Conflict(_("You already voted for this idea."), code="already_voted") from None
        counted = Idea.objects.filter(pk=idea.pk, status__in=Idea.OPEN_STATUSES).update(
            vote_count=F("vote_count") + 1
        )
        if not counted:  # answered as shipped or declined meanwhile: the vote is rolled back
            raise Conflict(_("This idea is closed."), code="idea_closed")
        publish("ideas.idea.voted", **_idea_ids(idea), voter_public_id=actor.public_id)
    return cast


def add_comment(*, actor, idea: Idea, body: str) -> IdeaComment:
    """Members and followers comment; the shop's owner answers in the same thread."""
    _require_signed_in(actor)
    from_shop = idea.shop.owner_id == actor.pk
    if not from_shop:
        _require_may_take_part(actor, idea)
    body = clean_text(body, field="body", max_length=COMMENT_MAX_LENGTH, required=True)
    _limit(actor, scope="comment")
    with transaction.atomic():
        comment = IdeaComment.objects.create(
            idea=idea, author=actor, body=body, from_shop=from_shop
        )
        Idea.objects.filter(pk=idea.pk).update(comment_count=F("comment_count") + 1)
        publish(
            "ideas.idea.commented",
            **_idea_ids(idea),
            comment_public_id=comment.public_id,
            commenter_public_id=actor.public_id,
            from_shop=from_shop,
        )
    return comment


def _clean_status(status) -> str:
    if status not in Idea.Status.values or status == Idea.Status.PROPOSED:
        raise ValidationFailed(
            _("Choose under review, planned, in progress, shipped or declined."),
            code="invalid_status",
            fields={"status": "invalid"},
        )
    return status


def _require_transition(idea: Idea, status: str) -> None:
    _require_open(idea)
    if status not in TRANSITIONS[idea.status]:
        raise Conflict(
            _("An idea cannot go from “%(from)s” to “%(to)s”.")
            % {"from": idea.get_status_display(), "to": Idea.Status(status).label},
            code="invalid_transition",
        )


def _clean_shipped_product(idea: Idea, product: Product | None) -> Product:
    if product is None:
        raise ValidationFailed(
            _("Choose the product that answers this idea."),
            code="product_required",
            fields={"product_id": "required"},
        )
    _require_product_of(idea.shop, product, field="product_id")
    if not product.is_published:
        raise ValidationFailed(
            _("The product must be on sale."),
            code="product_not_published",
            fields={"product_id": "not_published"},
        )
    return product


def change_status(
    *, actor, idea: Idea, status: str, reason: str = "", product: Product | None = None
) -> Idea:
    """The shop's owner answers: under review → planned → in progress → shipped (with the
    product that answers it), or declined (with a reason) from any open status."""
    _require_shop_owner(actor, idea.shop)
    status = _clean_status(status)
    _require_transition(idea, status)
    reason = clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH)
    if status == Idea.Status.DECLINED and not reason:
        raise ValidationFailed(
            _("Say why the idea is declined."),
            code="reason_required",
            fields={"reason": "required"},
        )
    shipped = status == Idea.Status.SHIPPED
    product = _clean_shipped_product(idea, product) if shipped else None
    from_status = idea.status
    with transaction.atomic():
        now = clock.now()
        fields = {"status": status, "answer": reason, "status_changed_at": now}
        if shipped:
            fields.update(shipped_product=product, shipped_at=now)
        # Guarded by the status read above: a concurrent answer makes this one a conflict.
        if not Idea.objects.filter(pk=idea.pk, status=from_status).update(**fields):
            raise Conflict(_("The idea was answered meanwhile."), code="invalid_transition")
        IdeaStatusChange.objects.create(
            idea=idea,
            actor=actor,
            from_status=from_status,
            to_status=status,
            reason=reason,
            product=product,
            created_at=now,
        )
        _publish_answer(idea, actor=actor, from_status=from_status, status=status, product=product)
    idea.refresh_from_db()
    return idea


def _publish_answer(idea: Idea, *, actor, from_status: str, status: str, product) -> None:
    ids = _idea_ids(idea)
    publish(
        "ideas.idea.status_changed",
        **ids,
        actor_public_id=actor.public_id,
        from_status=from_status,
        to_status=status,
    )
    if status == Idea.Status.SHIPPED:
        publish(
            "ideas.idea.shipped",
            **ids,
            actor_public_id=actor.public_id,
            product_public_id=product.public_id,
        )


# ---------------------------------------------------------------------------------------------
# Wanted products and wants


def propose_wanted_product(
    *, actor, shop: Shop, title: str, description: str = "", community: Community | None = None
) -> WantedProduct:
    """The shop's owner, or a member / follower (as for ideas), opens a wanted product."""
    _require_signed_in(actor)
    if shop.owner_id == actor.pk:
        _require_shop_open(shop)
        if community is not None:
            _require_member(actor, community)
    else:
        _require_participant(actor, shop=shop, community=community)
    title = _clean_title(title)
    description = clean_text(description, field="description", max_length=BODY_MAX_LENGTH)
    _limit(actor, scope="propose")
    with transaction.atomic():
        wanted = WantedProduct.objects.create(
            shop=shop, community=community, proposer=actor, title=title, description=description
        )
        publish(
            "ideas.wanted_product.proposed",
            wanted_product_public_id=wanted.public_id,
            shop_public_id=shop.public_id,
            community_public_id=_public_id(community),
            proposer_public_id=actor.public_id,
        )
    return wanted


def _clean_band(price_band) -> str:
    if price_band in (None, ""):
        raise ValidationFailed(
            _("Choose the price you would pay."),
            code="price_band_required",
            fields={"price_band": "required"},
        )
    if price_band not in PriceBand.values:
        raise ValidationFailed(
            _("That is not one of the price bands."),
            code="invalid_price_band",
            fields={"price_band": "invalid"},
        )
    return price_band


def _presale_started() -> Conflict:
    return Conflict(_("The pre-sale has started: back it instead."), code="presale_already_started")


def _require_wants_open(wanted: WantedProduct) -> None:
    if wanted.state != WantedProduct.State.OPEN:
        raise _presale_started()


def add_want(
    *, actor, wanted_product: WantedProduct, price_band, community: Community | None = None
) -> Want:
    """想要: once per person, with a price band; ``community`` (optional) is the wanter's own
    community they came from. The shop's owner cannot want their own product."""
    _require_signed_in(actor)
    price_band = _clean_band(price_band)
    if wanted_product.shop.owner_id == actor.pk:
        raise PermissionDenied(_("You cannot want your own shop's product."), code="own_shop")
    if community is not None:
        _require_member(actor, community)
    _require_wants_open(wanted_product)
    with transaction.atomic():
        try:
            with transaction.atomic():
                want = Want.objects.create(
                    wanted_product=wanted_product,
                    user=actor,
                    price_band=price_band,
                    community=community,
                )
        except IntegrityError:
            raise Conflict(_("You already want this."), code="already_wanted") from None
        counted = WantedProduct.objects.filter(
            pk=wanted_product.pk, state=WantedProduct.State.OPEN
        ).update(want_count=F("want_count") + 1)
        if not counted:
            raise _presale_started()  # the pre-sale started meanwhile: the want is rolled back
        publish(
            "ideas.want.added",
            want_public_id=want.public_id,
            wanted_product_public_id=wanted_product.public_id,
            shop_public_id=wanted_product.shop.public_id,
            user_public_id=actor.public_id,
            price_band=price_band,
            community_public_id=_public_id(community),
            community_public_ids=selectors.wanter_community_public_ids(user=actor),
        )
    return want


def start_presale(
    *,
    actor,
    wanted_product: WantedProduct,
    title: str,
    story: str,
    price_fen: int,
    target_units: int,
    deadline: datetime,
    estimated_delivery: date,
) -> WantedProduct:
    """One action: a live crowdfunding project (a units target, one tier at ``price_fen``) made
    by ``deals.crowdfunding.create_project``, linked to the wanted product, which stops taking
    wants; every wanter is told (``ideas.wanted_product.presale_started``)."""
    from shoploop.deals.crowdfunding import services as crowdfunding

    _require_shop_owner(actor, wanted_product.shop)
    _require_wants_open(wanted_product)
    if wanted_product.want_count <= 0:
        raise Conflict(_("Nobody has wanted this yet."), code="no_wants")
    tier = crowdfunding.TierSpec(
        title=gettext("Pre-order"),
        price_fen=price_fen,
        units=1,
        limit=None,
        estimated_delivery=estimated_delivery,
    )
    with transaction.atomic():
        locked = WantedProduct.objects.select_for_update().get(pk=wanted_product.pk)
        _require_wants_open(locked)
        project = crowdfunding.create_project(
            actor=actor,
            title=title,
            story=story,
            target_kind="units",
            target_value=target_units,
            deadline=deadline,
            tiers=[tier],
        )
        WantedProduct.objects.filter(pk=locked.pk).update(
            state=WantedProduct.State.PRESALE, project=project, presale_started_at=clock.now()
        )
        publish(
            "ideas.wanted_product.presale_started",
            wanted_product_public_id=locked.public_id,
            shop_public_id=wanted_product.shop.public_id,
            community_public_id=_public_id(wanted_product.community),
            project_public_id=project.public_id,
            actor_public_id=actor.public_id,
            want_count=locked.want_count,
        )
    wanted_product.refresh_from_db()
    return wanted_product
