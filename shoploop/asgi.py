"""ASGI entry point: Django over HTTP, Channels for websockets (the chat at /ws/chat/)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shoploop.settings")
django_asgi_app = get_asgi_application()

from shoploop.core.checks import refuse_to_start_if_unsafe  # noqa: E402

refuse_to_start_if_unsafe()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from shoploop.chat.origin import origin_checked  # noqa: E402
from shoploop.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_checked(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
