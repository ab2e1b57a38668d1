"""Catalog template helpers: money formatting and the product tiles other apps' pages embed."""

from django import template

from shoploop.catalog import selectors
from shoploop.core.money import format_fen

register = template.Library()


@register.filter
def fen(amount):
    """``{{ sku.price_fen|fen }}`` → ``¥59.00``; empty for a missing amount."""
    if amount is None or amount == "":
        return ""
    return format_fen(int(amount))


@register.inclusion_tag("catalog/_product_tiles.html")
def community_products(community, limit=20):
    """``{% community_products community %}``: products on sale offered in the community."""
    return {
        "products": selectors.products_in_community(community=community, limit=limit),
        "empty_message": True,
    }


@register.inclusion_tag("catalog/_product_tiles.html")
def product_tiles(products):
    return {"products": products}
