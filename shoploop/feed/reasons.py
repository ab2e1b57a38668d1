"""Why an item is in the feed, in the reader's language (the active language when rendered).

Aggregated where it says more: "3 people you follow joined this group".
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shoploop.feed.models import Kind, Reason


def reason_text(item) -> str:
    name = str(item.actor) if item.actor is not None else ""
    community = item.community.name if item.community is not None else ""
    shop = item.shop.name if item.shop is not None else ""
    if item.reason == Reason.FOLLOWED_SHOP:
        if item.kind == Kind.REVIEW:
            return _("Review of a product from %(shop)s (a shop you follow)") % {"shop": shop}
        return _("New from %(shop)s (a shop you follow)") % {"shop": shop}
    if item.reason == Reason.FRIEND_BOUGHT:
        if community:
            return _("%(name)s in %(community)s bought this") % {
                "name": name,
                "community": community,
            }
        return _("%(name)s bought this") % {"name": name}
    if item.reason in (Reason.FRIEND_OPENED, Reason.FRIEND_JOINED):
        if item.count > 1:
            return ngettext(
                "%(count)d person you follow joined this group",
                "%(count)d people you follow joined this group",
                item.count,
            ) % {"count": item.count}
        if item.reason == Reason.FRIEND_OPENED:
            return _("%(name)s opened this group") % {"name": name}
        return _("%(name)s joined this group") % {"name": name}
    if item.reason == Reason.FRIEND_BARGAINING:
        return _("%(name)s is bargaining for this: help cut the price") % {"name": name}
    if item.reason == Reason.FRIEND_BACKED:
        if item.count > 1:
            return ngettext(
                "%(count)d person you follow backed this project",
                "%(count)d people you follow backed this project",
                item.count,
            ) % {"count": item.count}
        return _("%(name)s backed this project") % {"name": name}
    if item.kind == Kind.REVIEW:
        return _("%(name)s, whom you follow, reviewed this") % {"name": name}
    if item.kind == Kind.POST:
        community = item.obj.community.name
        shared = item.obj.review_id is not None
        if item.reason == Reason.FOLLOWED_PERSON:
            if shared:
                return _("%(name)s, whom you follow, shared a review in %(community)s") % {
                    "name": name or str(item.obj.author),
                    "community": community,
                }
            return _("%(name)s, whom you follow, posted in %(community)s") % {
                "name": name or str(item.obj.author),
                "community": community,
            }
        if shared:
            return _("Review shared in %(community)s") % {"community": community}
        return _("Posted in %(community)s") % {"community": community}
    return ""
