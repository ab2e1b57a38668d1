from django.utils.functional import SimpleLazyObject

from shoploop.notifications import selectors


def unread(request):
    """The unread count for the top bar, counted only when a template shows it."""
    user = getattr(request, "user", None)
    return {
        "notifications_unread": SimpleLazyObject(lambda: selectors.unread_count(user=user)),
    }
