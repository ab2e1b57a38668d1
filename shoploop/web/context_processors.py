from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Bottom navigation: (key, label, url name). Order matters on a phone: thumb reach.
NAV_ITEMS = [
    # "Home" alone is also a product category (家居), hence the context.
    ("home", pgettext_lazy("navigation", "Home"), "web:home"),
    ("communities", _("Communities"), "communities:list"),
    ("cart", _("Cart"), "orders:cart"),
    ("messages", _("Messages"), "chat:inbox"),
    ("me", _("Me"), "web:me"),
]


def _nav():
    items = []
    for key, label, url_name in NAV_ITEMS:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            # Leave the item out rather than break every page (the 500 page renders this too).
            continue
        items.append({"key": key, "label": label, "url": url})
    return items


def shell(request):
    return {"nav_items": _nav(), "debug": settings.DEBUG, "languages": settings.LANGUAGES}
