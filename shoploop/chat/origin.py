"""Which WebSocket handshakes to accept by their ``Origin``.

A browser always sends ``Origin``; a page on another site must not open a socket that rides on
our session cookie, so a present Origin must name one of ``ALLOWED_HOSTS``. Native apps send no
Origin and authenticate with an API token, which another site's page cannot attach; they are let
through (the consumer then requires a valid session or token).
"""

from channels.security.websocket import OriginValidator
from django.conf import settings


class BrowserOriginValidator(OriginValidator):
    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def origin_checked(application):
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    # The host list channels' AllowedHostsOriginValidator uses, with the no-Origin case allowed.
    return BrowserOriginValidator(application, allowed)
