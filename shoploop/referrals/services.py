"""Every write of the sharing app (rules: docs/sharing.md).

- share links: ``create_share_link``, ``record_visit``, ``claim_visit`` (sign-in / sign-up);
- attribution: ``attribute_order`` (on ``orders.order.paid``);
- commissions: shop schemes, promoters, bindings, and a commission's life in the ledger
  (``accrue_commissions`` → frozen hold, ``sync_refunds`` → smaller hold or reversed,
  ``release_commissions`` → available), plus the deadline handlers.
"""

import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.selectors import shop_of
from shoploop.core import clock, ratelimit
from shoploop.core.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from shoploop.core.events import publish
from shoploop.core.prepared import PreparedQuery
from shoploop.ledger.errors import InsufficientFunds
from shoploop.ledger.services import commissions as ledger_commissions
from shoploop.referrals import conf
from shoploop.referrals.errors import (
    AlreadyDecided,
    InvalidRates,
    NotAPromoter,
    ShareLinkNotFound,
    ShareTargetNotFound,
)
from shoploop.referrals.models import (
    Attribution,
    Binding,
    Commission,
    ProductCommission,
    Promoter,
    ShareLink,
    ShareVisit,
    ShopCommission,
    ShopPromoter,
    TargetKind,
)
from shoploop.referrals.targets import destination, resolve

BPS = 10_000
MAX_CHAIN = 100  # a binding chain is walked at most this far when refusing a cycle
FORGET_BATCH = 500

logger = logging.getLogger(__name__)


def _require_user(user):
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    return user


def beneficiary_ref(user) -> str:
    return f"user:{user.public_id}"


# --- share links ------------------------------------------------------------------------------


def create_share_link(
    *, sharer, kind: str, target_public_id: str, community_public_id: str = ""
) -> ShareLink:
    """The sharer's link to a target (the same one again for the same target and community)."""
    _require_user(sharer)
    if kind not in TargetKind.values:
        raise ValidationFailed(
            _("Unknown kind of thing to share."),
            code="share_kind_invalid",
            fields={"kind": "invalid"},
        )
    target = resolve(kind, target_public_id)
    if target is None:
        raise ShareTargetNotFound()
    community = None
    if community_public_id:
        from shoploop.communities.models import Community

        community = Community.objects.filter(
            public_id=community_public_id, state=Community.State.ACTIVE
        ).first()
        if community is None:
            raise NotFound(_("That community does not exist."), code="community_not_found")
    lookup = dict(sharer=sharer, kind=kind, target_public_id=target_public_id, community=community)
    found = ShareLink.objects.filter(**lookup).first()
    if found:
        return found
    # Each new link is a row and an event: a script must not mint them without end.
    ratelimit.hit(
        scope="referrals:share",
        subject=str(sharer.public_id),
        limit=conf.share_rate_per_minute(),
        window_seconds=60,
    )
    try:
        with transaction.atomic():
            link = ShareLink.objects.create(title=target.title[:200], **lookup)
            publish(
                "referrals.link.created",
                link_public_id=link.code,
                sharer_public_id=sharer.public_id,
                kind=kind,
                target_public_id=target_public_id,
                community_public_id=community.public_id if community else "",
            )
            return link
    except IntegrityError:
        return ShareLink.objects.get(**lookup)


def hash_ip(ip: str | None) -> str:
    """A keyed hash of the address's network (/24 for IPv4, /48 for IPv6): enough to see many
    sign-ups from one place, never the address itself."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    digest = hashlib.sha256(f"{settings.SECRET_KEY}|{network}".encode()).hexdigest()
    return digest[:16]


def link_by_code(code: str) -> ShareLink:
    if not isinstance(code, str) or not code.isalnum() or len(code) > 12:
        raise ShareLinkNotFound()
    link = ShareLink.objects.select_related("sharer").filter(code=code).first()
    if link is None:
        raise ShareLinkNotFound()
    return link


@dataclass(frozen=True)
class FollowedLink:
    """What a visit needs of its link (none of it ever changes)."""

    pk: int
    code: str
    kind: str
    target_public_id: str
    sharer_id: int
    sharer_public_id: str

    @classmethod
    def of(cls, link: ShareLink) -> "FollowedLink":
        return cls(
            link.pk,
            link.code,
            link.kind,
            link.target_public_id,
            link.sharer_id,
            link.sharer.public_id,
        )


_FOLLOWED_LINK = PreparedQuery(
    lambda code: ShareLink.objects.filter(code=code).values_list(
        "pk", "code", "kind", "target_public_id", "sharer_id", "sharer__public_id"
    )[:1]
)


def _followed_link(code: str) -> FollowedLink:
    if not isinstance(code, str) or not code.isalnum() or len(code) > 12:
        raise ShareLinkNotFound()
    row = _FOLLOWED_LINK.first(code)
    if row is None:
        raise ShareLinkNotFound()
    return FollowedLink(*row)


def record_visit(*, code: str, visitor=None, ip: str | None = None):
    """Record a visit through a link; returns (link, visit, the URL it leads to). A forged code
    or a link to something deleted or private raises before anything is written.

    Following a link is the hot path of sharing (bench/share.py): it reads only the link's own
    columns and whether its target is visible, and writes the visit and its event. The link row
    is not written: a viral link's visitors would all queue on its lock, and its visit count is
    the count of its visits."""
    link = _followed_link(code)
    url = destination(link.kind, link.target_public_id)
    if url is None:
        raise ShareTargetNotFound()
    user = visitor if visitor is not None and visitor.is_authenticated else None
    ip_hash = hash_ip(ip)
    with transaction.atomic():
        visit = ShareVisit.objects.create(link_id=link.pk, visitor=user, ip_hash=ip_hash)
        publish(
            "referrals.link.visited",
            link_public_id=link.code,
            sharer_public_id=link.sharer_public_id,
            visitor_public_id=user.public_id if user else "",
            kind=link.kind,
            target_public_id=link.target_public_id,
        )
        if user is not None:
            _maybe_bind(user=user, link=link, ip_hash=ip_hash)
    return link, visit, url


def claim_visit(*, visit_id: int, user) -> ShareVisit | None:
    """At sign-in, the signed-out visit of this session becomes the user's. Someone whose
    account is newer than the visit signed up through the link."""
    with transaction.atomic():
        visit = (
            ShareVisit.objects.select_for_update()
            .select_related("link__sharer")
            .filter(pk=visit_id, visitor__isnull=True)
            .first()
        )
        if visit is None:
            return None
        signed_up = user.date_joined >= visit.created_at and user.pk != visit.link.sharer_id
        ShareVisit.objects.filter(pk=visit.pk).update(visitor=user, signed_up=signed_up)
        if signed_up:
            ShareLink.objects.filter(pk=visit.link_id).update(signups_count=F("signups_count") + 1)
            publish(
                "referrals.link.signed_up",
                link_public_id=visit.link.code,
                sharer_public_id=visit.link.sharer.public_id,
                user_public_id=user.public_id,
            )
        _maybe_bind(user=user, link=FollowedLink.of(visit.link), ip_hash=visit.ip_hash)
    visit.refresh_from_db()
    return visit


# --- binding ----------------------------------------------------------------------------------


def _chain_contains(*, start_user_id: int, needle_id: int) -> bool:
    """Whether ``needle`` is ``start`` or anyone above it in the binding chain."""
    current, seen = start_user_id, 0
    while current is not None and seen < MAX_CHAIN:
        if current == needle_id:
            return True
        current = Binding.objects.filter(user_id=current).values_list("promoter_id", flat=True)
        current = current.first()
        seen += 1
    return False


# PostgreSQL advisory lock key of the binding rule (any constant no other code uses).
BINDING_LOCK_KEY = 0x5EF3B1D0


def _one_binding_at_a_time() -> None:
    """The cycle check reads the whole chain above the promoter, so locking the two people being
    bound is not enough: with B→C and D→A in place, A→B and C→D made at once each pass their
    check and together close a circle. A person is bound once, so bindings are rare and one
    lock for all of them (held to the end of the transaction) costs nothing that matters.
    SQLite already runs one writing transaction at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BINDING_LOCK_KEY])


def _maybe_bind(*, user, link: FollowedLink, ip_hash: str) -> Binding | None:
    """The binding rule: the first visit through a promoter's link binds the visitor to that
    promoter, once (until the binding expires, if ``REFERRALS_BINDING_DAYS`` is set). Never to
    oneself, never in a circle. Runs inside the caller's transaction."""
    promoter_id = link.sharer_id
    if user.pk == promoter_id or not Promoter.objects.filter(user_id=promoter_id).exists():
        return None
    now = clock.now()
    _one_binding_at_a_time()
    existing = Binding.objects.filter(user=user).first()
    if existing is not None:
        if existing.expires_at is None or existing.expires_at > now:
            return None
        existing.delete()
    if _chain_contains(start_user_id=promoter_id, needle_id=user.pk):
        return None
    days = conf.binding_days()
    try:
        with transaction.atomic():
            binding = Binding.objects.create(
                user=user,
                promoter_id=promoter_id,
                link_id=link.pk,
                ip_hash=ip_hash,
                expires_at=now + timedelta(days=days) if days else None,
            )
    except IntegrityError:
        return None
    publish(
        "referrals.user.bound",
        user_public_id=user.public_id,
        promoter_public_id=link.sharer_public_id,
        link_public_id=link.code,
    )
    return binding


def live_binding(user) -> Binding | None:
    binding = Binding.objects.select_related("promoter").filter(user=user).first()
    if binding and binding.expires_at and binding.expires_at <= clock.now():
        return None
    return binding


# --- promoters and shop schemes --------------------------------------------------------------


def become_promoter(*, user) -> Promoter:
    _require_user(user)
    promoter, created = Promoter.objects.get_or_create(user=user)
    if created:
        publish("referrals.promoter.joined", user_public_id=user.public_id)
    return promoter


def apply_to_shop(*, user, shop_public_id: str) -> ShopPromoter:
    _require_user(user)
    promoter = Promoter.objects.filter(user=user).first()
    if promoter is None:
        raise NotAPromoter()
    scheme = ShopCommission.objects.select_related("shop").filter(
        shop__public_id=shop_public_id, enabled=True
    )
    scheme = scheme.first()
    if scheme is None:
        raise NotFound(_("This shop pays no commissions."), code="no_commission_scheme")
    state = ShopPromoter.State.PENDING if scheme.requires_approval else ShopPromoter.State.APPROVED
    application, _created = ShopPromoter.objects.get_or_create(
        shop=scheme.shop, promoter=promoter, defaults={"state": state}
    )
    return application


def decide_application(*, actor, application_id: int, approve: bool) -> ShopPromoter:
    shop = merchant_shop(actor)
    with transaction.atomic():
        application = (
            ShopPromoter.objects.select_for_update().filter(pk=application_id, shop=shop).first()
        )
        if application is None:
            raise NotFound(code="application_not_found")
        if application.state != ShopPromoter.State.PENDING:
            raise AlreadyDecided()
        application.state = ShopPromoter.State.APPROVED if approve else ShopPromoter.State.REJECTED
        application.save(update_fields=["state"])
    return application


def merchant_shop(actor):
    _require_user(actor)
    shop = shop_of(user=actor)
    if shop is None:
        raise PermissionDenied(_("Only a merchant can do that."), code="no_shop")
    return shop


def _clean_rates(level1_bps, level2_bps) -> tuple[int, int]:
    for value in (level1_bps, level2_bps):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidRates(fields={"level1_bps": "invalid", "level2_bps": "invalid"})
    if level1_bps + level2_bps > conf.max_total_bps():
        raise InvalidRates(
            _("Level 1 and level 2 together may be at most %(cap)s%%.")
            % {"cap": conf.max_total_bps() / 100},
            code="commission_above_cap",
            fields={"level1_bps": "above_cap", "level2_bps": "above_cap"},
        )
    return level1_bps, level2_bps


def set_shop_commission(
    *, actor, enabled: bool, level1_bps: int, level2_bps: int, requires_approval: bool = False
) -> ShopCommission:
    shop = merchant_shop(actor)
    level1_bps, level2_bps = _clean_rates(level1_bps, level2_bps)
    scheme, _created = ShopCommission.objects.update_or_create(
        shop=shop,
        defaults={
            "enabled": bool(enabled),
            "level1_bps": level1_bps,
            "level2_bps": level2_bps,
            "requires_approval": bool(requires_approval),
            "updated_at": clock.now(),
        },
    )
    return scheme


def set_product_commission(
    *, actor, product_public_id: str, level1_bps: int | None, level2_bps: int | None
) -> ProductCommission | None:
    """A per-product override; ``None`` rates remove it (the shop's rates apply again)."""
    shop = merchant_shop(actor)
    from shoploop.catalog.models import Product

    product = Product.objects.filter(public_id=product_public_id, shop=shop).first()
    if product is None:
        raise NotFound(code="product_not_found")
    if level1_bps is None and level2_bps is None:
        ProductCommission.objects.filter(product=product).delete()
        return None
    level1_bps, level2_bps = _clean_rates(level1_bps, level2_bps)
    override, _created = ProductCommission.objects.update_or_create(
        product=product, defaults={"level1_bps": level1_bps, "level2_bps": level2_bps}
    )
    return override


def rates_for(*, shop, product_public_id: str) -> tuple[int, int]:
    scheme = ShopCommission.objects.filter(shop=shop, enabled=True).first()
    if scheme is None:
        return 0, 0
    override = ProductCommission.objects.filter(
        product__public_id=product_public_id, product__shop=shop
    ).first()
    if override is not None:
        return override.level1_bps, override.level2_bps
    return scheme.level1_bps, scheme.level2_bps


def _earns_at(*, user, shop) -> bool:
    """A promoter earns at a shop if the shop needs no approval, or approved them."""
    if user is None or not Promoter.objects.filter(user=user).exists():
        return False
    scheme = ShopCommission.objects.filter(shop=shop, enabled=True).first()
    if scheme is None:
        return False
    if not scheme.requires_approval:
        return True
    return ShopPromoter.objects.filter(
        shop=shop, promoter__user=user, state=ShopPromoter.State.APPROVED
    ).exists()


# --- attribution and commissions -------------------------------------------------------------


def attribute_order(*, order_public_id: str, now=None) -> Attribution | None:
    """The attribution rule: the last share link the buyer opened within the window before the
    payment, never their own. Then the commissions of both levels are accrued (frozen).
    Repeating it for the same order changes nothing (one attribution per order)."""
    from shoploop.orders.models import Order

    now = now or clock.now()
    paid = Order.objects.filter(public_id=order_public_id).values("pk", "buyer_id", "paid_at")
    paid = paid.first()
    if paid is None:
        return None
    # The window is measured back from the payment, however late the event is delivered.
    now = paid["paid_at"] or now
    since = now - timedelta(days=conf.attribution_days())
    # Most orders come from no shared link: the visit is looked for first, so they cost no more.
    visit = (
        ShareVisit.objects.select_related("link__sharer")
        .filter(visitor_id=paid["buyer_id"], created_at__gte=since, created_at__lte=now)
        .exclude(link__sharer_id=paid["buyer_id"])
        .order_by("-created_at", "-pk")
        .first()
    )
    if visit is None:
        return None
    existing = Attribution.objects.filter(order_id=paid["pk"]).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        # Lock the order and read its refunds afresh: a cancellation or refund committed before
        # this (late) delivery must shrink the base, and one racing it waits for this commit so
        # its sync_refunds (which takes the same lock) finds the commissions.
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("buyer", "shop")
            .get(pk=paid["pk"])
        )
        try:
            with transaction.atomic():
                attribution = Attribution.objects.create(
                    order=order,
                    link=visit.link,
                    sharer=visit.link.sharer,
                    total_fen=order.total_fen,
                )
        except IntegrityError:
            return Attribution.objects.get(order=order)
        ShareLink.objects.filter(pk=visit.link_id).update(purchases_count=F("purchases_count") + 1)
        publish(
            "referrals.purchase.attributed",
            order_public_id=order.public_id,
            link_public_id=visit.link.code,
            sharer_public_id=visit.link.sharer.public_id,
            buyer_public_id=order.buyer.public_id,
            total_fen=order.total_fen,
        )
        accrue_commissions(order=order, sharer=visit.link.sharer, now=now)
    return attribution


def _earned_today(*, promoter, now) -> int:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    total = Commission.objects.filter(promoter=promoter, created_at__gte=start).aggregate(
        total=Sum("original_fen")
    )["total"]
    return total or 0


def accrue_commissions(*, order, sharer, now) -> list[Commission]:
    """Level 1 goes to the sharer, level 2 to whoever brought the sharer (their binding), each
    if they are promoters who earn at the shop and are not the buyer. One per (line, level): a
    repeat finds the unique key taken and moves nothing."""
    earners = []
    if sharer.pk != order.buyer_id and _earns_at(user=sharer, shop=order.shop):
        earners.append((1, sharer))
    binding = live_binding(sharer)
    if (
        binding is not None
        and binding.promoter_id not in (order.buyer_id, sharer.pk)
        and _earns_at(user=binding.promoter, shop=order.shop)
    ):
        earners.append((2, binding.promoter))
    # The daily cap is a contended sum: lock the earners' promoter rows (in key order, so two
    # orders with the levels swapped cannot deadlock) before reading what they earned today.
    list(
        Promoter.objects.select_for_update()
        .filter(user_id__in=[earner.pk for _level, earner in earners])
        .order_by("pk")
    )
    created = []
    for line in order.lines.order_by("pk"):
        rates = rates_for(shop=order.shop, product_public_id=line.product_public_id)
        # What is left of the line after refunds so far, whole-order ones and cancellation
        # included (the paid event may be delivered after them).
        base = _remaining_base(line=line, order=order)
        for level, promoter in earners:
            amount = base * rates[level - 1] // BPS
            # Per-day cap per promoter: beyond it nothing more accrues that day.
            room = conf.daily_cap_fen() - _earned_today(promoter=promoter, now=now)
            amount = min(amount, max(room, 0))
            if amount <= 0:
                continue
            commission = _create_commission(
                order=order,
                line=line,
                promoter=promoter,
                level=level,
                rate=rates[level - 1],
                base=base,
                amount=amount,
                now=now,
            )
            if commission is not None:
                created.append(commission)
    return created


def _create_commission(*, order, line, promoter, level, rate, base, amount, now):
    commission = ledger_commissions.accrue_commission_row(
        Commission,
        shop_public_id=order.shop.public_id,
        beneficiary_ref=beneficiary_ref(promoter),
        order=order,
        order_line=line,
        shop=order.shop,
        promoter=promoter,
        level=level,
        rate_bps=rate,
        base_fen=base,
        original_fen=amount,
        amount_fen=amount,
        created_at=now,
    )
    if commission is None:
        return None  # this line's commission of this level exists already
    publish(
        "referrals.commission.accrued",
        commission_public_id=commission.public_id,
        order_public_id=order.public_id,
        promoter_public_id=promoter.public_id,
        level=level,
        amount_fen=amount,
    )
    return commission


def _remaining_base(*, line, order) -> int:
    """What is left of a line after refunds: the line's own refunds, and the order's share for
    refunds booked on the whole order (a cancellation refunds everything)."""
    if order.total_fen <= 0 or order.state == order.State.CANCELLED:
        return 0
    by_line = line.paid_fen - line.refunded_fen
    by_order = line.paid_fen * (order.total_fen - order.refunded_fen) // order.total_fen
    return max(min(by_line, by_order), 0)


def sync_refunds(*, order_public_id: str) -> int:
    """Bring each frozen commission of the order down in proportion to what was refunded.
    Computed from the order's refunded amounts (not from the event), under the commissions'
    row locks, so two refunds, a repeat delivery or a replay take it back exactly once."""
    from shoploop.orders.models import Order, OrderLine

    changed = 0
    with transaction.atomic():
        # The order's lock orders this after an attribution in flight (attribute_order).
        order = Order.objects.select_for_update().filter(public_id=order_public_id).first()
        if order is None:
            return 0
        commissions = list(
            Commission.objects.select_for_update()
            .filter(order=order, state=Commission.State.FROZEN)
            .select_related("promoter", "shop")
            .order_by("pk")
        )
        for commission in commissions:
            line = OrderLine.objects.get(pk=commission.order_line_id)
            remaining = _remaining_base(line=line, order=order)
            target = commission.original_fen * remaining // commission.base_fen
            if target >= commission.amount_fen:
                continue
            _reduce(commission, target)
            changed += 1
    return changed


def _reduce(commission: Commission, target: int) -> None:
    taken = ledger_commissions.reduce_commission_row(
        commission,
        target=target,
        shop_public_id=commission.shop.public_id,
        beneficiary_ref=beneficiary_ref(commission.promoter),
    )
    publish(
        "referrals.commission.reversed",
        commission_public_id=commission.public_id,
        promoter_public_id=commission.promoter.public_id,
        amount_fen=taken,
        remaining_fen=max(target, 0),
    )


def frozen_at_completion(order_public_id: str) -> list[ledger_commissions.FrozenCommission]:
    """What the order's frozen commissions amount to when it completes (refunds synced first,
    under the rows' locks), for the ledger to keep back from the shop's share."""
    sync_refunds(order_public_id=order_public_id)
    rows = (
        Commission.objects.select_for_update()
        .filter(order__public_id=order_public_id, state=Commission.State.FROZEN)
        .order_by("pk")
        .values_list("public_id", "amount_fen")
    )
    return [
        ledger_commissions.FrozenCommission(ref=f"commission:{public_id}", amount=amount)
        for public_id, amount in rows
    ]


def release_commissions(*, order_public_id: str, now=None) -> int:
    """The order can no longer be refunded (it completed after the after-sale window): each
    frozen commission becomes available, its hold posted and settled by the shop."""
    from shoploop.orders.models import Order

    now = now or clock.now()
    sync_refunds(order_public_id=order_public_id)
    released = 0
    with transaction.atomic():
        order = Order.objects.filter(public_id=order_public_id).first()
        if order is None or order.state != Order.State.COMPLETED:
            return 0
        commissions = list(
            Commission.objects.select_for_update()
            .filter(order=order, state=Commission.State.FROZEN)
            .select_related("promoter", "shop")
            .order_by("pk")
        )
        for commission in commissions:
            ledger_commissions.release_commission_row(
                commission, shop_public_id=commission.shop.public_id, now=now
            )
            publish(
                "referrals.commission.available",
                commission_public_id=commission.public_id,
                promoter_public_id=commission.promoter.public_id,
                amount_fen=commission.amount_fen,
            )
            released += 1
    return released


# --- deadlines --------------------------------------------------------------------------------


def release_due(now) -> int:
    """Second safety net: frozen commissions whose order completed (the event was lost)."""
    from shoploop.orders.models import Order

    orders = (
        Commission.objects.filter(state=Commission.State.FROZEN, order__state=Order.State.COMPLETED)
        .values_list("order__public_id", flat=True)
        .distinct()[:100]
    )
    released = 0
    for public_id in orders:
        try:
            released += release_commissions(order_public_id=public_id, now=now)
        except InsufficientFunds:
            # That shop cannot settle yet (it withdrew its funds): retried next run, and the
            # other orders are not held back by it.
            logger.warning("commission release of order %s: insufficient funds", public_id)
    return released


def forget_ip_hashes(now) -> int:
    """Erase the hashed networks of visits and bindings older than REFERRALS_IP_HASH_HOURS."""
    cutoff = now - timedelta(hours=conf.ip_hash_hours())
    erased = 0
    for model in (ShareVisit, Binding):
        while True:
            ids = list(
                model.objects.filter(created_at__lt=cutoff)
                .exclude(ip_hash="")
                .values_list("pk", flat=True)[:FORGET_BATCH]
            )
            if not ids:
                break
            erased += model.objects.filter(pk__in=ids).update(ip_hash="")
    return erased
