"""How the deal kinds plug into the rest of Shoploop; each registers in its ``AppConfig.ready``.

- ``register_deal_kind``: a kind names the ``deal_ref`` prefix of the checkouts it places
  (``orders.services.place_deal_order``) and answers their payments' outcomes.
- ``register_block``: a snippet a kind adds to a product or community page (open groups, a
  flash-sale countdown, a bargain button…). A block is ``fn(request, obj) -> str`` (safe HTML
  rendered from the kind's own template, or "").
- ``register_link``: an entry on the buyer's "my deals" page or the merchant's campaigns page.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class DealKind:
    prefix: str
    # Called once the payment of a checkout with this prefix succeeded / failed or was canceled,
    # with the checkout's order. Must be idempotent (events may be replayed).
    on_payment_succeeded: Callable
    on_payment_failed: Callable


@dataclass(frozen=True)
class DealLink:
    label: str | Promise
    url_name: str
    order: int = 100


_kinds: dict[str, DealKind] = {}
_blocks: dict[str, list[tuple[int, Callable]]] = {"product": [], "community": []}
_links: dict[str, list[DealLink]] = {"mine": [], "console": []}


def deal_ref(prefix: str, public_id: str) -> str:
    return f"{prefix}:{public_id}"


def register_deal_kind(kind: DealKind) -> None:
    _kinds[kind.prefix] = kind


def kind_for(ref: str) -> DealKind | None:
    return _kinds.get(ref.split(":", 1)[0]) if ref else None


def register_block(page: str, block: Callable, *, order: int = 100) -> None:
    if all(existing is not block for _, existing in _blocks[page]):
        _blocks[page].append((order, block))


def blocks(page: str) -> list[Callable]:
    return [block for _, block in sorted(_blocks[page], key=lambda item: item[0])]


def register_link(area: str, link: DealLink) -> None:
    if link not in _links[area]:
        _links[area].append(link)


def links(area: str) -> list[DealLink]:
    return sorted(_links[area], key=lambda link: link.order)
