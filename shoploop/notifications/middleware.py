"""Last activity, for "away": a signed-in request (page or API, session or token) marks the
person present; ``services.touch_activity`` keeps it to about one write a minute."""

import logging

from shoploop.notifications import services

logger = logging.getLogger(__name__)


class ActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Read after the view: an API bearer token sets request.user inside the view.
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            try:
                services.touch_activity(user=user)
            except Exception:  # never fail a request for a presence mark
                logger.exception("could not record activity")
        return response
