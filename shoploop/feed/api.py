"""/api/v1/feed: the signed-in reader's home feed, one page by cursor, ranked or latest.

Texts (the reasons) are in the request's language."""

from datetime import datetime
from typing import Literal

from ninja import Query, Router, Schema
from pydantic import Field

from shoploop.feed import selectors
from shoploop.feed.presenters import card

router = Router(tags=["feed"])


class FeedReasonOut(Schema):
    code: str
    text: str
    count: int


class FeedLinkOut(Schema):
    name: str
    url: str


class FeedItemOut(Schema):
    kind: str
    id: str
    title: str
    summary: str
    url: str
    image_url: str
    stars: int | None = None
    at: datetime
    reason: FeedReasonOut
    person: FeedLinkOut | None = None
    shop: FeedLinkOut | None = None
    community: FeedLinkOut | None = None


class FeedPageOut(Schema):
    order: str
    items: list[FeedItemOut]
    next_cursor: str | None = Field(None, description="Pass as ``cursor`` for the next page.")


class FeedQuery(Schema):
    cursor: str | None = Field(None, max_length=400)
    order: Literal["ranked", "latest"] = "ranked"
    limit: int = Field(selectors.DEFAULT_PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE)


def _link(name: str, url: str) -> dict | None:
    return {"name": name, "url": url} if name and url else None


def _item(item) -> dict:
    shown = card(item)
    return {
        "kind": shown.kind,
        "id": shown.public_id,
        "title": shown.title,
        "summary": shown.summary,
        "url": shown.url,
        "image_url": shown.image_url,
        "stars": shown.stars,
        "at": item.at,
        "reason": {"code": item.reason, "text": item.reason_text, "count": item.count},
        "person": _link(shown.person_name, shown.person_url),
        "shop": _link(shown.shop_name, shown.shop_url),
        "community": _link(shown.community_name, shown.community_url),
    }


@router.get("", response=FeedPageOut)
def list_feed_items(request, query: Query[FeedQuery]):
    """Newest or best first (``order``); every item says why it is there (``reason``). A cursor
    that is not one this endpoint gave, or one of the other order, is a 400 ``bad_cursor``."""
    page = selectors.feed_page(
        user=request.auth, cursor=query.cursor, order=query.order, limit=query.limit
    )
    return {
        "order": page.order,
        "items": [_item(item) for item in page.items],
        "next_cursor": page.next_cursor,
    }
