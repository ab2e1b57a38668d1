"""Template helpers for the shell's pages."""

from django import template

from shoploop.core.money import format_fen

register = template.Library()


@register.filter
def fen(amount):
    """``{{ product.min_price_fen|fen }}`` → ¥12.30; nothing for a missing price."""
    if amount is None or amount == "":
        return ""
    return format_fen(int(amount))
