"""Every write to the catalog. Each function owns one transaction, checks who acts, raises a
DomainError with a stable code before anything changes, and publishes its event after commit."""

import json

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.markup import render_description
from shoploop.catalog.models import (
    MAX_PRODUCT_IMAGES,
    MAX_PRODUCT_TAGS,
    MAX_STOCK,
    PRODUCT_DESCRIPTION_MAX_LENGTH,
    PRODUCT_TITLE_MAX_LENGTH,
    REJECTION_REASON_MAX_LENGTH,
    SHOP_CONTACT_MAX_LENGTH,
    SHOP_DESCRIPTION_MAX_LENGTH,
    SHOP_NAME_MAX_LENGTH,
    SHOP_RETURN_ADDRESS_MAX_LENGTH,
    SKU,
    SKU_MAX_OPTIONS,
    SKU_OPTION_MAX_LENGTH,
    SKU_OPTIONS_KEY_MAX_LENGTH,
    Product,
    ProductImage,
    Shop,
    ShopFollow,
)
from shoploop.communities.models import Community, InterestTag
from shoploop.communities.selectors import is_member
from shoploop.communities.services import get_or_create_tags
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.core.images import prepared_image, save_with_image
from shoploop.core.money import validate_fen
from shoploop.core.text import clean_text

PRODUCT_IMAGE_MAX_SIDE = 1200
LOGO_MAX_SIDE = 512
# Marks "argument not given" where None is a meaningful value (clearing a list price).
UNSET = object()


# --- checks shared by the services -------------------------------------------------------------


def _require_user(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def _require_operator(actor) -> None:
    _require_user(actor)
    if not actor.is_staff:
        raise PermissionDenied(_("Only platform operators can review shops."), code="not_operator")


def _require_shop_owner(*, shop: Shop, actor) -> None:
    _require_user(actor)
    if shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is not your shop."), code="not_shop_owner")


def _require_approved(shop: Shop) -> None:
    if shop.status != Shop.Status.APPROVED:
        raise Conflict(_("Your shop has not been approved yet."), code="shop_not_approved")


def _require_product_owner(*, product: Product, actor) -> None:
    _require_shop_owner(shop=product.shop, actor=actor)


def _whole_number(value, *, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(_("This must be a whole number."), fields={field: "not_integer"})
    return value


# --- shops ----------------------------------------------------------------------------------


def apply_for_shop(*, user, name: str, contact: str, description: str = "") -> Shop:
    """Open a shop application. One shop per user: a rejected applicant may apply again, which
    reopens the same shop for review."""
    _require_user(user)
    name = clean_text(name, field="name", max_length=SHOP_NAME_MAX_LENGTH, required=True)
    contact = clean_text(
        contact, field="contact", max_length=SHOP_CONTACT_MAX_LENGTH, required=True
    )
    description = clean_text(
        description, field="description", max_length=SHOP_DESCRIPTION_MAX_LENGTH
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                shop = Shop.objects.create(
                    owner=user, name=name, contact=contact, description=description
                )
        except IntegrityError:
            shop = _reopen_rejected_shop(
                user=user, name=name, contact=contact, description=description
            )
        publish(
            "catalog.shop.applied", shop_public_id=shop.public_id, owner_public_id=user.public_id
        )
    return shop


def _reopen_rejected_shop(*, user, name: str, contact: str, description: str) -> Shop:
    reopened = Shop.objects.filter(owner=user, status=Shop.Status.REJECTED).update(
        status=Shop.Status.PENDING,
        name=name,
        contact=contact,
        description=description,
        rejection_reason="",
        reviewed_at=None,
        reviewed_by=None,
        created_at=clock.now(),
    )
    if not reopened:
        raise Conflict(_("You already have a shop."), code="shop_exists")
    return Shop.objects.get(owner=user)


def approve_shop(*, shop: Shop, actor) -> Shop:
    _require_operator(actor)
    with transaction.atomic():
        _review(shop=shop, actor=actor, status=Shop.Status.APPROVED, reason="")
        publish(
            "catalog.shop.approved",
            shop_public_id=shop.public_id,
            owner_public_id=shop.owner.public_id,
        )
    return shop


def reject_shop(*, shop: Shop, actor, reason: str) -> Shop:
    _require_operator(actor)
    reason = clean_text(
        reason, field="reason", max_length=REJECTION_REASON_MAX_LENGTH, required=True
    )
    with transaction.atomic():
        _review(shop=shop, actor=actor, status=Shop.Status.REJECTED, reason=reason)
        publish(
            "catalog.shop.rejected",
            shop_public_id=shop.public_id,
            owner_public_id=shop.owner.public_id,
            reason=reason,
        )
    return shop


def _review(*, shop: Shop, actor, status: str, reason: str) -> None:
    """Only a pending application is decided, and only once (two operators clicking together)."""
    decided = Shop.objects.filter(pk=shop.pk, status=Shop.Status.PENDING).update(
        status=status, rejection_reason=reason, reviewed_at=clock.now(), reviewed_by=actor
    )
    if not decided:
        raise Conflict(_("This shop is not waiting for review."), code="shop_not_pending")
    shop.refresh_from_db()


def update_shop(
    *,
    shop: Shop,
    actor,
    name: str | None = None,
    contact: str | None = None,
    public_contact: str | None = None,
    description: str | None = None,
    return_address: str | None = None,
) -> Shop:
    _require_shop_owner(shop=shop, actor=actor)
    changes = {}
    if public_contact is not None:
        changes["public_contact"] = clean_text(
            public_contact, field="public_contact", max_length=SHOP_CONTACT_MAX_LENGTH
        )
    if return_address is not None:
        changes["return_address"] = clean_text(
            return_address, field="return_address", max_length=SHOP_RETURN_ADDRESS_MAX_LENGTH
        )
    if name is not None:
        changes["name"] = clean_text(
            name, field="name", max_length=SHOP_NAME_MAX_LENGTH, required=True
        )
    if contact is not None:
        changes["contact"] = clean_text(
            contact, field="contact", max_length=SHOP_CONTACT_MAX_LENGTH, required=True
        )
    if description is not None:
        changes["description"] = clean_text(
            description, field="description", max_length=SHOP_DESCRIPTION_MAX_LENGTH
        )
    with transaction.atomic():
        if changes:
            Shop.objects.filter(pk=shop.pk).update(**changes)
            shop.refresh_from_db()
    return shop


def set_shop_logo(*, shop: Shop, actor, upload) -> Shop:
    _require_shop_owner(shop=shop, actor=actor)
    content = prepared_image(
        upload, max_width=LOGO_MAX_SIDE, max_height=LOGO_MAX_SIDE, field="logo"
    ).file
    old_name = shop.logo.name
    with transaction.atomic():
        shop.logo.save(content.name, content, save=False)
        Shop.objects.filter(pk=shop.pk).update(logo=shop.logo.name)
        if old_name:
            storage = shop.logo.storage
            transaction.on_commit(lambda: storage.delete(old_name))
    return shop


def list_shop_in_community(*, shop: Shop, community: Community, actor) -> None:
    """Offer the shop in a community its owner is an active member of; twice is harmless."""
    _require_shop_owner(shop=shop, actor=actor)
    _require_approved(shop)
    _require_listable(community=community, actor=actor)
    with transaction.atomic():
        try:
            with transaction.atomic():
                shop.communities.add(community)
        except IntegrityError:
            pass  # a concurrent request listed it a moment earlier: the result is the same


def unlist_shop_from_community(*, shop: Shop, community: Community, actor) -> None:
    """Take the shop out of a community, and its products with it."""
    _require_shop_owner(shop=shop, actor=actor)
    with transaction.atomic():
        shop.communities.remove(community)
        Product.communities.through.objects.filter(product__shop=shop, community=community).delete()


def follow_shop(*, actor, shop: Shop) -> ShopFollow:
    """Become one of the shop's followers (粉丝)."""
    _require_user(actor)
    _require_approved(shop)
    if shop.owner_id == actor.pk:
        raise ValidationFailed(_("You cannot follow your own shop."), code="cannot_follow_own_shop")
    with transaction.atomic():
        try:
            with transaction.atomic():
                link = ShopFollow.objects.create(follower=actor, shop=shop, created_at=clock.now())
        except IntegrityError:
            raise Conflict(_("You already follow this shop."), code="already_following") from None
        publish(
            "catalog.shop.followed", user_public_id=actor.public_id, shop_public_id=shop.public_id
        )
    return link


def unfollow_shop(*, actor, shop: Shop) -> None:
    _require_user(actor)
    with transaction.atomic():
        deleted, _rows = ShopFollow.objects.filter(follower=actor, shop=shop).delete()
        if not deleted:
            raise Conflict(_("You do not follow this shop."), code="not_following")
        publish(
            "catalog.shop.unfollowed", user_public_id=actor.public_id, shop_public_id=shop.public_id
        )


def set_shop_communities(*, shop: Shop, communities, actor) -> None:
    """Make the shop's list exactly ``communities`` (the console's checkbox form)."""
    _require_shop_owner(shop=shop, actor=actor)
    wanted = {community.pk: community for community in communities}
    current = set(shop.communities.values_list("pk", flat=True))
    added = [wanted[pk] for pk in wanted.keys() - current]
    if added:
        _require_approved(shop)
    for community in added:
        _require_listable(community=community, actor=actor)
    with transaction.atomic():
        for community in added:
            list_shop_in_community(shop=shop, community=community, actor=actor)
        for community in Community.objects.filter(pk__in=current - wanted.keys()):
            unlist_shop_from_community(shop=shop, community=community, actor=actor)


def _require_listable(*, community: Community, actor) -> None:
    if community.state != Community.State.ACTIVE:
        raise ValidationFailed(
            _("This community is not active."),
            code="community_inactive",
            fields={"communities": "inactive"},
        )
    if not is_member(user=actor, community=community):
        raise PermissionDenied(
            _("You can only offer your shop in communities you are a member of."),
            code="not_member",
        )


# --- products ---------------------------------------------------------------------------------


def create_product(
    *,
    shop: Shop,
    actor,
    title: str,
    description: str = "",
    category: str = Product.Category.OTHER,
    tags=(),
    communities=(),
) -> Product:
    _require_shop_owner(shop=shop, actor=actor)
    _require_approved(shop)
    fields = _product_fields(title=title, description=description, category=category)
    community_objects = _offerable_communities(shop=shop, communities=communities)
    with transaction.atomic():
        now = clock.now()
        product = Product.objects.create(shop=shop, created_at=now, updated_at=now, **fields)
        # Inside the transaction: new tags are created only if the product is.
        product.tags.set(resolve_tags(tags))
        product.communities.set(community_objects)
    return product


def update_product(
    *,
    product: Product,
    actor,
    title: str | None = None,
    description: str | None = None,
    category: str | None = None,
    tags=None,
    communities=None,
) -> Product:
    _require_product_owner(product=product, actor=actor)
    fields = _product_fields(title=title, description=description, category=category, partial=True)
    community_objects = (
        _offerable_communities(shop=product.shop, communities=communities)
        if communities is not None
        else None
    )
    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(updated_at=clock.now(), **fields)
        if tags is not None:
            product.tags.set(resolve_tags(tags))
        if community_objects is not None:
            product.communities.set(community_objects)
        product.refresh_from_db()
    return product


def _product_fields(*, title, description, category, partial: bool = False) -> dict:
    fields = {}
    if title is not None or not partial:
        fields["title"] = clean_text(
            title, field="title", max_length=PRODUCT_TITLE_MAX_LENGTH, required=True
        )
    if description is not None or not partial:
        # The description keeps its leading spaces: they mean something in Markdown.
        if description is None:
            description = ""
        if not isinstance(description, str):
            raise ValidationFailed(_("This must be text."), fields={"description": "not_text"})
        if len(description) > PRODUCT_DESCRIPTION_MAX_LENGTH:
            raise ValidationFailed(
                _("The description is too long (at most %(max)d characters).")
                % {"max": PRODUCT_DESCRIPTION_MAX_LENGTH},
                fields={"description": "too_long"},
            )
        if "\x00" in description:
            raise ValidationFailed(
                _("This text contains invalid characters."), fields={"description": "invalid"}
            )
        fields["description"] = description
        fields["description_html"] = render_description(description)
    if category is not None or not partial:
        if category not in Product.Category.values:
            raise ValidationFailed(
                _("Choose a category from the list."), fields={"category": "invalid"}
            )
        fields["category"] = category
    return fields


def resolve_tags(names) -> list[InterestTag]:
    """Interest tags for a product (at most eight), created when new.

    The communities app owns the tag vocabulary and its spelling rules, so a tag finds both the
    communities and the products about the same interest.
    """
    if names is None:
        names = []
    if not isinstance(names, str | list | tuple):
        raise ValidationFailed(_("Tags must be text."), fields={"tags": "not_text"})
    if any(not isinstance(name, str) for name in names if not isinstance(names, str)):
        raise ValidationFailed(_("Tags must be text."), fields={"tags": "not_text"})
    return get_or_create_tags(names=names, minimum=0, maximum=MAX_PRODUCT_TAGS)


def _offerable_communities(*, shop: Shop, communities) -> list[Community]:
    """A product may be offered only in communities its shop is listed in."""
    wanted = list(communities)
    if not wanted:
        return []
    listed = set(shop.communities.values_list("pk", flat=True))
    if any(community.pk not in listed for community in wanted):
        raise ValidationFailed(
            _("List your shop in that community first."),
            code="community_not_listed",
            fields={"communities": "not_listed"},
        )
    return wanted


def publish_product(*, product: Product, actor) -> Product:
    _require_product_owner(product=product, actor=actor)
    _require_approved(product.shop)
    with transaction.atomic():
        if not SKU.objects.filter(product=product, is_active=True).exists():
            raise ValidationFailed(
                _("Add at least one active SKU (price and stock) before publishing."),
                code="no_sku",
                fields={"skus": "required"},
            )
        published = Product.objects.filter(pk=product.pk, is_published=False).update(
            is_published=True, published_at=clock.now()
        )
        if not published:
            raise Conflict(_("This product is already published."), code="already_published")
        product.refresh_from_db()
        publish(
            "catalog.product.published",
            product_public_id=product.public_id,
            shop_public_id=product.shop.public_id,
            category=product.category,
        )
    return product


def unpublish_product(*, product: Product, actor) -> Product:
    """The owner takes a product off sale; an operator may too (moderation)."""
    _require_user(actor)
    if not actor.is_staff:
        _require_product_owner(product=product, actor=actor)
    with transaction.atomic():
        unpublished = Product.objects.filter(pk=product.pk, is_published=True).update(
            is_published=False
        )
        if not unpublished:
            raise Conflict(_("This product is not published."), code="not_published")
        product.refresh_from_db()
    return product


# --- images -----------------------------------------------------------------------------------


def add_product_image(*, product: Product, actor, upload) -> ProductImage:
    _require_product_owner(product=product, actor=actor)
    prepared = prepared_image(
        upload, max_width=PRODUCT_IMAGE_MAX_SIDE, max_height=PRODUCT_IMAGE_MAX_SIDE
    )
    content, width, height = prepared.file, prepared.width, prepared.height
    with transaction.atomic():
        # The product row lock makes "at most nine" hold when two uploads arrive together.
        Product.objects.select_for_update().filter(pk=product.pk).first()
        existing = ProductImage.objects.filter(product=product)
        if existing.count() >= MAX_PRODUCT_IMAGES:
            raise ValidationFailed(
                _("A product can have at most %(max)d images.") % {"max": MAX_PRODUCT_IMAGES},
                code="too_many_images",
                fields={"image": "too_many"},
            )
        last = existing.aggregate(last=Max("position"))["last"]
        image = ProductImage(
            product=product,
            width=width,
            height=height,
            position=0 if last is None else last + 1,
        )
        save_with_image(image, content)
    return image


def make_cover_image(*, image: ProductImage, actor) -> None:
    """Move ``image`` to the front of its product's gallery; the others keep their order."""
    _require_product_owner(product=image.product, actor=actor)
    with transaction.atomic():
        Product.objects.select_for_update().filter(pk=image.product_id).first()
        ordered = list(
            ProductImage.objects.filter(product_id=image.product_id).order_by(
                "position", "created_at"
            )
        )
        if image.pk not in {other.pk for other in ordered}:
            raise NotFound(_("This image no longer exists."), code="image_not_found")
        ordered.sort(key=lambda other: other.pk != image.pk)  # stable: only the cover moves
        for position, other in enumerate(ordered):
            if other.position != position:
                ProductImage.objects.filter(pk=other.pk).update(position=position)
    image.refresh_from_db()


def remove_product_image(*, image: ProductImage, actor) -> None:
    _require_product_owner(product=image.product, actor=actor)
    with transaction.atomic():
        deleted, _counts = ProductImage.objects.filter(pk=image.pk).delete()
        if not deleted:
            raise NotFound(_("This image no longer exists."), code="image_not_found")
        name, storage = image.image.name, image.image.storage
        transaction.on_commit(lambda: storage.delete(name))


# --- SKUs and stock ---------------------------------------------------------------------------


def add_sku(
    *,
    product: Product,
    actor,
    options: dict,
    price_fen: int,
    list_price_fen: int | None = None,
    stock: int = 0,
) -> SKU:
    _require_product_owner(product=product, actor=actor)
    options, options_key = _clean_options(options)
    price_fen, list_price_fen = _clean_prices(price_fen=price_fen, list_price_fen=list_price_fen)
    stock = _whole_number(stock, field="stock")
    if not 0 <= stock <= MAX_STOCK:
        raise ValidationFailed(
            _("Stock must be between 0 and %(max)d.") % {"max": MAX_STOCK},
            fields={"stock": "range"},
        )
    with transaction.atomic():
        try:
            with transaction.atomic():
                sku = SKU.objects.create(
                    product=product,
                    options=options,
                    options_key=options_key,
                    price_fen=price_fen,
                    list_price_fen=list_price_fen,
                    stock=stock,
                )
        except IntegrityError:
            raise _duplicate_options() from None
    return sku


def update_sku(
    *,
    sku: SKU,
    actor,
    options: dict | None = None,
    price_fen: int | None = None,
    list_price_fen=UNSET,
    is_active: bool | None = None,
) -> SKU:
    """Change a SKU's options, prices or availability; stock changes only via ``adjust_stock``."""
    _require_product_owner(product=sku.product, actor=actor)
    changes = {}
    if options is not None:
        changes["options"], changes["options_key"] = _clean_options(options)
    new_price = sku.price_fen if price_fen is None else price_fen
    new_list = sku.list_price_fen if list_price_fen is UNSET else list_price_fen
    if price_fen is not None or list_price_fen is not UNSET:
        changes["price_fen"], changes["list_price_fen"] = _clean_prices(
            price_fen=new_price, list_price_fen=new_list
        )
    if is_active is not None:
        if not isinstance(is_active, bool):
            raise ValidationFailed(_("Choose yes or no."), fields={"is_active": "invalid"})
        changes["is_active"] = is_active
    with transaction.atomic():
        if changes:
            try:
                with transaction.atomic():
                    SKU.objects.filter(pk=sku.pk).update(**changes)
            except IntegrityError:
                raise _duplicate_options() from None
        sku.refresh_from_db()
    return sku


def _duplicate_options() -> Conflict:
    return Conflict(
        _("This product already has a SKU with these options."),
        code="sku_exists",
        fields={"options": "duplicate"},
    )


def _clean_options(options) -> tuple[dict, str]:
    """A small dict of short strings, e.g. {"颜色": "红", "尺码": "L"}, and its canonical key."""
    if not isinstance(options, dict):
        raise ValidationFailed(
            _("Options must be pairs of name and value."), fields={"options": "invalid"}
        )
    if len(options) > SKU_MAX_OPTIONS:
        raise ValidationFailed(
            _("At most %(max)d options.") % {"max": SKU_MAX_OPTIONS}, fields={"options": "too_many"}
        )
    cleaned = {}
    for name, value in options.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValidationFailed(
                _("Option names and values must be text."), fields={"options": "not_text"}
            )
        name, value = name.strip(), value.strip()
        if not name or not value:
            raise ValidationFailed(
                _("Option names and values cannot be empty."), fields={"options": "empty"}
            )
        if len(name) > SKU_OPTION_MAX_LENGTH or len(value) > SKU_OPTION_MAX_LENGTH:
            raise ValidationFailed(
                _("Option names and values have at most %(max)d characters.")
                % {"max": SKU_OPTION_MAX_LENGTH},
                fields={"options": "too_long"},
            )
        cleaned[name] = value
    key = json.dumps(cleaned, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if len(key) > SKU_OPTIONS_KEY_MAX_LENGTH:  # unreachable with the limits above; kept as a guard
        raise ValidationFailed(_("The options are too long."), fields={"options": "too_long"})
    return cleaned, key


def _clean_prices(*, price_fen, list_price_fen) -> tuple[int, int | None]:
    price_fen = validate_fen(price_fen, field="price_fen")
    if list_price_fen is None:
        return price_fen, None
    list_price_fen = validate_fen(list_price_fen, field="list_price_fen")
    if list_price_fen < price_fen:
        raise ValidationFailed(
            _("The list price cannot be below the price."),
            fields={"list_price_fen": "below_price"},
        )
    return price_fen, list_price_fen


def adjust_stock(*, sku: SKU, delta: int, actor) -> SKU:
    """The merchant adds or removes stock; one conditional UPDATE, so concurrent orders and
    adjustments never lose each other's changes and the result is never below zero."""
    _require_product_owner(product=sku.product, actor=actor)
    delta = _whole_number(delta, field="delta")
    if delta == 0 or abs(delta) > MAX_STOCK:
        raise ValidationFailed(
            _("Enter a change between -%(max)d and %(max)d, not zero.") % {"max": MAX_STOCK},
            fields={"delta": "range"},
        )
    with transaction.atomic():
        if delta < 0:
            changed = SKU.objects.filter(pk=sku.pk, stock__gte=-delta).update(
                stock=F("stock") + delta
            )
            if not changed:
                raise ValidationFailed(
                    _("Stock cannot go below zero."),
                    code="stock_below_zero",
                    fields={"delta": "below_zero"},
                )
        else:
            changed = SKU.objects.filter(pk=sku.pk, stock__lte=MAX_STOCK - delta).update(
                stock=F("stock") + delta
            )
            if not changed:
                raise ValidationFailed(
                    _("Stock cannot exceed %(max)d.") % {"max": MAX_STOCK},
                    code="stock_too_large",
                    fields={"delta": "too_large"},
                )
        sku.refresh_from_db(fields=["stock"])
        publish(
            "catalog.sku.stock_adjusted",
            sku_public_id=sku.public_id,
            product_public_id=sku.product.public_id,
            delta=delta,
            stock=sku.stock,
            actor_public_id=actor.public_id,
        )
    return sku


def reserve_stock(*, sku_id: int, quantity: int) -> None:
    """Take ``quantity`` units for an order; raises ``out_of_stock`` when there are not enough."""
    quantity = _positive_quantity(quantity)
    with transaction.atomic():
        taken = SKU.objects.filter(pk=sku_id, stock__gte=quantity).update(
            stock=F("stock") - quantity
        )
        if not taken:
            raise Conflict(_("Sorry, this item is sold out."), code="out_of_stock")


def release_stock(*, sku_id: int, quantity: int) -> None:
    """Give back units an order reserved (cancelled, expired, refunded)."""
    quantity = _positive_quantity(quantity)
    with transaction.atomic():
        returned = SKU.objects.filter(pk=sku_id).update(stock=F("stock") + quantity)
        if not returned:
            raise NotFound(_("This SKU no longer exists."), code="sku_not_found")


def _positive_quantity(quantity) -> int:
    quantity = _whole_number(quantity, field="quantity")
    if not 0 < quantity <= MAX_STOCK:
        raise ValidationFailed(_("The quantity must be at least 1."), fields={"quantity": "range"})
    return quantity
