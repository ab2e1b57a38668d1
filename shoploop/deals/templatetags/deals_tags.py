from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from shoploop.deals import registry

register = template.Library()


@register.simple_tag(takes_context=True)
def deal_blocks(context, page: str, obj):
    """The deal kinds' snippets for a product or community page, in their registered order."""
    request = context.get("request")
    rendered = [block(request, obj) for block in registry.blocks(page)]
    # Each block is rendered from its kind's own (auto-escaping) template.
    return format_html_join("", "{}", ((mark_safe(html),) for html in rendered if html))
