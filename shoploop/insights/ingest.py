"""What each outbox event means for insights: one table, ``INGESTORS``, event name → function.

A function reads one event and records facts on the batch: ``batch.stage(...)`` (a counted
event in a loop stage, and the person who did it), ``batch.count(...)`` (a number), and
``batch.person(...)`` (a person fact for distinct counting). Adding an event kind is one entry:
most use ``stage_fact`` (who did what where), e.g. a future ``ideas.idea.created`` is

    "ideas.idea.created": stage_fact(CONVERSATION, "ideas", "author_public_id",
                                     community="community_public_id"),

The batch (``shoploop.insights.batch.Batch``) holds the projections (links, products,
memberships, first purchases) in memory for the batch and writes everything at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shoploop.insights.batch import Batch, Event

REACH, CONVERSATION, PURCHASE, SHARING = "reach", "conversation", "purchase", "sharing"
STAGES = (REACH, CONVERSATION, PURCHASE, SHARING)
PLATFORM = "platform"
# Price bands by what a buyer paid per unit, in fen: [lower, upper).
PRICE_BANDS = ((0, 2_000), (2_000, 5_000), (5_000, 10_000), (10_000, 30_000), (30_000, None))

Ingestor = Callable[["Event", "Batch"], None]


def shop_scope(public_id: str | None) -> str | None:
    return f"shop:{public_id}" if public_id else None


def community_scope(public_id: str | None) -> str | None:
    return f"community:{public_id}" if public_id else None


def price_band(unit_fen: int) -> str:
    for lower, upper in PRICE_BANDS:
        if upper is None or unit_fen < upper:
            return f"{lower // 100}-{upper // 100}" if upper else f"{lower // 100}+"
    return "other"  # pragma: no cover


def scopes_of(payload: dict, *, shop: str | None = None, community: str | None = None) -> list:
    """The platform, plus the shop and community the payload names (by key)."""
    found = [PLATFORM]
    if shop and (scope := shop_scope(payload.get(shop))):
        found.append(scope)
    if community and (scope := community_scope(payload.get(community))):
        found.append(scope)
    return found


def stage_fact(
    stage: str | None,
    metric: str,
    person_key: str | None,
    *,
    shop: str | None = None,
    community: str | None = None,
) -> Ingestor:
    """The common case: count ``metric`` (and the person, in ``stage``) in the platform and in
    the shop / community whose public ids are under the payload keys ``shop`` / ``community``."""

    def ingest(event: Event, batch: Batch) -> None:
        scopes = scopes_of(event.payload, shop=shop, community=community)
        person = event.payload.get(person_key) if person_key else None
        batch.stage(event, scopes, stage, metric, person)

    ingest.__name__ = f"ingest_{metric}"
    return ingest


def want_added(event: Event, batch: Batch) -> None:
    """A want (想要) at a price band: counted for the shop it was raised with and for every
    community of the person who wants it (``community_public_ids``), so a shop sees which
    communities want what, at which band."""
    payload = event.payload
    scopes = [PLATFORM]
    if scope := shop_scope(payload.get("shop_public_id")):
        scopes.append(scope)
    scopes.extend(community_scope(c) for c in payload.get("community_public_ids") or () if c)
    band = payload.get("price_band") or "unknown"
    batch.stage(event, scopes, CONVERSATION, f"want:{band}", payload.get("user_public_id"))


# ---- reach ------------------------------------------------------------------------------------


def member_joined(event: Event, batch: Batch) -> None:
    community, person = event.payload["community_public_id"], event.payload["user_public_id"]
    batch.join(community, person)
    batch.stage(
        event, scopes_of(event.payload, community="community_public_id"), REACH, "joins", person
    )


def member_left(event: Event, batch: Batch) -> None:
    batch.leave(event.payload["community_public_id"], event.payload["user_public_id"])
    batch.count(event, scopes_of(event.payload, community="community_public_id"), "leaves")


def community_dissolved(event: Event, batch: Batch) -> None:
    for person in event.payload.get("member_public_ids") or ():
        batch.leave(event.payload["community_public_id"], person)


def views_counted(event: Event, batch: Batch) -> None:
    """A batch of page views counted by one process (``insights.views``): each entry names a
    page, its shop and community, how many views and (a bounded sample of) who viewed."""
    for entry in event.payload.get("views") or ():
        scopes = scopes_of(entry, shop="shop_public_id", community="community_public_id")
        batch.count(event, scopes, "views", int(entry.get("count") or 0))
        batch.count(
            event, scopes, f"views:{entry.get('kind', 'page')}", int(entry.get("count") or 0)
        )
        for viewer in entry.get("viewer_public_ids") or ():
            for scope in scopes:
                batch.person(event, scope, REACH, viewer)
                batch.person(event, scope, "viewers", viewer)


# ---- purchase ---------------------------------------------------------------------------------


def order_paid(event: Event, batch: Batch) -> None:
    """A paid order counts in the platform, its shop and every community of the buyer: the
    purchase stage, revenue, first / repeat buyers and cohorts, categories and price bands, and
    (when the buyer opened a link to one of its products shortly before) a purchase the link
    brought."""
    payload = event.payload
    buyer, order = payload["buyer_public_id"], payload["order_public_id"]
    scopes = scopes_of(payload, shop="shop_public_id")
    scopes += [community_scope(c) for c in sorted(batch.communities_of(buyer))]
    lines = payload.get("lines") or ()
    batch.stage(event, scopes, PURCHASE, "orders", buyer)
    batch.count(event, scopes, "gmv_fen", int(payload.get("total_fen") or 0))
    week = batch.week_of(event)
    for scope in scopes:
        first_week, first_order = batch.first_purchase(scope, buyer, week=week, order=order)
        batch.person(event, scope, "new_buyers" if first_order == order else "repeat_buyers", buyer)
        batch.person(event, scope, f"cohort:{first_week.isoformat()}", buyer)
        for line in lines:
            _segment(event, batch, scope, buyer, line)
    products = dict.fromkeys(line.get("product_public_id", "") for line in lines)
    for product in products:
        link = batch.visited_link(buyer, product, event.occurred_at)
        if link is not None:
            batch.stage(event, batch.link_scopes(link), None, "link_purchases", buyer)


def _segment(event: Event, batch: Batch, scope: str, buyer: str, line: dict) -> None:
    quantity = max(int(line.get("quantity") or 1), 1)
    category = line.get("category") or "other"
    band = price_band(int(line.get("paid_fen") or 0) // quantity)
    for key in (f"cat:{category}", f"band:{band}"):
        batch.count(event, [scope], key, quantity)
        batch.person(event, scope, key, buyer)


def deal_completed(*, people: str) -> Ingestor:
    """A completed deal (a full group, a paid bargain, pledge or flash purchase): counted in the
    platform, the deal's shop and the community it names (a pickup order's community), with
    the people behind it (``people``: the payload key of one public id or of a list) so the
    k-anonymity rule can hide it. Old payloads name no shop: platform only."""

    def ingest(event: Event, batch: Batch) -> None:
        payload = event.payload
        scopes = scopes_of(payload, shop="shop_public_id", community="community_public_id")
        batch.count(event, scopes, "deal_completions")
        who = payload.get(people)
        for person in who if isinstance(who, list) else [who]:
            for scope in scopes:
                batch.person(event, scope, "deal_completions", person)

    ingest.__name__ = "ingest_deal_completions"
    return ingest


# ---- sharing ----------------------------------------------------------------------------------


def link_created(event: Event, batch: Batch) -> None:
    link = batch.add_link(event.payload)
    batch.stage(event, batch.link_scopes(link), SHARING, "shares", link.sharer)


def link_visited(event: Event, batch: Batch) -> None:
    payload = event.payload
    link = batch.link(payload["link_public_id"])
    visitor = payload.get("visitor_public_id") or None
    scopes = batch.link_scopes(link) if link else [PLATFORM]
    batch.stage(event, scopes, None, "visits", visitor)
    if visitor and link is not None and link.product:
        batch.add_visit(visitor=visitor, link=link, at=event.occurred_at)


def link_signed_up(event: Event, batch: Batch) -> None:
    link = batch.link(event.payload["link_public_id"])
    scopes = batch.link_scopes(link) if link else [PLATFORM]
    batch.stage(event, scopes, None, "share_signups", event.payload.get("user_public_id"))


def purchase_attributed(event: Event, batch: Batch) -> None:
    """An order a sharer brought; when it was the buyer's first in a scope, a new buyer brought
    there (the viral coefficient's numerator)."""
    payload = event.payload
    buyer, order = payload["buyer_public_id"], payload["order_public_id"]
    link = batch.link(payload["link_public_id"])
    scopes = batch.link_scopes(link) if link else [PLATFORM]
    batch.stage(event, scopes, None, "share_purchases", buyer)
    for scope in batch.scopes_first_bought_with(buyer, order):
        batch.person(event, scope, "brought_new_buyers", buyer)


def product_published(event: Event, batch: Batch) -> None:
    batch.add_product(event.payload)
    batch.count(event, scopes_of(event.payload, shop="shop_public_id"), "products_published")


INGESTORS: dict[str, Ingestor] = {
    # reach
    "accounts.user.signed_up": stage_fact(None, "signups", "user_public_id"),
    "accounts.user.followed": stage_fact(REACH, "user_follows", "follower_public_id"),
    "catalog.shop.followed": stage_fact(REACH, "follows", "user_public_id", shop="shop_public_id"),
    "communities.community.member_joined": member_joined,
    "communities.community.member_left": member_left,
    "communities.community.dissolved": community_dissolved,
    "insights.views.counted": views_counted,
    # conversation
    "content.post.created": stage_fact(
        CONVERSATION, "posts", "author_public_id", community="community_public_id"
    ),
    "content.comment.created": stage_fact(
        CONVERSATION, "comments", "author_public_id", community="community_public_id"
    ),
    "content.review.created": stage_fact(
        CONVERSATION, "reviews", "author_public_id", shop="shop_public_id"
    ),
    # A shop conversation names its shop, a community room its community (since issue 13;
    # older events and private conversations name neither: platform only).
    "chat.message.sent": stage_fact(
        CONVERSATION,
        "chats",
        "sender_public_id",
        shop="shop_public_id",
        community="community_public_id",
    ),
    # co-creation (众创, 众包): ideas, votes and comments, wants, task entries
    "ideas.idea.proposed": stage_fact(
        CONVERSATION,
        "ideas",
        "author_public_id",
        shop="shop_public_id",
        community="community_public_id",
    ),
    "ideas.idea.voted": stage_fact(
        CONVERSATION,
        "idea_votes",
        "voter_public_id",
        shop="shop_public_id",
        community="community_public_id",
    ),
    "ideas.idea.commented": stage_fact(
        CONVERSATION,
        "idea_comments",
        "commenter_public_id",
        shop="shop_public_id",
        community="community_public_id",
    ),
    "ideas.idea.shipped": stage_fact(
        None, "ideas_shipped", None, shop="shop_public_id", community="community_public_id"
    ),
    "ideas.want.added": want_added,
    "crowdtasks.entry.submitted": stage_fact(
        CONVERSATION, "task_entries", "author_public_id", shop="shop_public_id"
    ),
    # purchase
    "orders.order.paid": order_paid,
    "deals.group.completed": deal_completed(people="member_public_ids"),
    "bargains.bargain.paid": deal_completed(people="buyer_public_id"),
    "crowdfunding.pledge.paid": deal_completed(people="backer_public_id"),
    "flash.purchase.paid": deal_completed(people="buyer_public_id"),
    # sharing
    "referrals.link.created": link_created,
    "referrals.link.visited": link_visited,
    "referrals.link.signed_up": link_signed_up,
    "referrals.purchase.attributed": purchase_attributed,
    # projections only
    "catalog.product.published": product_published,
}
