"""``{% person someone %}``: every name shown on a page, as a link to that person's profile.

One tag so that names look and behave the same everywhere (authors, members, owners, group
members, helpers, backers, chat participants, reviewers) and so that escaping happens in one
place: the display name is user content and is always escaped here.
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def person(someone, css_class: str = "person") -> str:
    """The escaped display name as a link to ``/u/<public_id>/``. A closed (inactive) account
    has no profile to visit, so its name is shown without a link; nobody shows as nothing."""
    if someone is None or not getattr(someone, "public_id", None):
        return ""
    name = str(someone)
    if not getattr(someone, "is_active", True):
        return format_html('<span class="{}">{}</span>', css_class, name)
    url = reverse("accounts:profile", args=[someone.public_id])
    return format_html('<a class="{}" href="{}">{}</a>', css_class, url, name)
