"""/ws/notifications/: the count on connect, new notifications and read changes pushed live."""

import pytest
from asgiref.sync import async_to_sync
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache

from shoploop.notifications import services
from shoploop.notifications.models import Activity
from shoploop.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)

application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))


def shipped(user, key):
    return services.notify(
        recipient=user,
        kind="order_shipped",
        key=key,
        params={"order": "ord123456789", "title": "手冲咖啡豆"},
    )


def _unread_of(user):
    from shoploop.notifications.selectors import unread_count

    return unread_count(user=user)


def cookie_header(client, user, language="en"):
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookies = (
        f"{settings.SESSION_COOKIE_NAME}={session}; {settings.LANGUAGE_COOKIE_NAME}={language}"
    )
    return [(b"cookie", cookies.encode())]


def test_a_new_notification_and_a_read_arrive_live(client, user):
    shipped(user, "before")
    headers = cookie_header(client, user)

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        connected, _ = await socket.connect()
        assert connected
        assert await socket.receive_json_from() == {"type": "unread", "unread": 1}
        note = await database_sync_to_async(shipped)(user, "after")
        pushed = await socket.receive_json_from(timeout=5)
        assert pushed["type"] == "notification" and pushed["unread"] == 2
        assert pushed["notification"]["id"] == note.public_id
        assert pushed["notification"]["text"] == "Your order of 手冲咖啡豆 has shipped."
        assert pushed["notification"]["url"] == "/orders/ord123456789/"
        await database_sync_to_async(services.mark_all_read)(user=user)
        assert await socket.receive_json_from(timeout=5) == {"type": "unread", "unread": 0}
        # Frames from the client change nothing and get no answer.
        await socket.send_json_to({"type": "notification", "forged": True})
        await socket.send_to(text_data="{not json")
        await socket.send_to(bytes_data=b"\x00\xff")
        assert await socket.receive_nothing(timeout=0.2)
        assert await database_sync_to_async(_unread_of)(user) == 0
        await socket.disconnect()

    async_to_sync(scenario)()


def test_pushes_reach_only_their_person(client, user, other_user):
    headers = cookie_header(client, user)

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        await socket.connect()
        await socket.receive_json_from()
        await database_sync_to_async(shipped)(other_user, "theirs")
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    async_to_sync(scenario)()


def test_the_text_speaks_the_pages_language(client, user, chinese_catalogue):
    headers = cookie_header(client, user, language="zh-hans")

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        await socket.connect()
        await socket.receive_json_from()
        await database_sync_to_async(shipped)(user, "zh")
        pushed = await socket.receive_json_from(timeout=5)
        assert pushed["notification"]["text"] == "你的订单「手冲咖啡豆」已发货。"
        await socket.disconnect()

    async_to_sync(scenario)()


def test_a_connection_without_a_session_is_closed():
    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/")
        connected, code = await socket.connect()
        assert not connected and code == 4401

    async_to_sync(scenario)()


def test_connecting_counts_as_being_here(client, user):
    headers = cookie_header(client, user)
    cache.clear()  # signing in above went through the activity middleware
    Activity.objects.filter(user=user).delete()

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        await socket.connect()
        await socket.receive_json_from()
        await socket.disconnect()

    assert services.is_away(user)
    async_to_sync(scenario)()
    assert not services.is_away(user)


def test_the_projects_asgi_application_serves_the_route(client, user):
    """The real stack: origin check, session auth, the project's websocket routes."""
    from shoploop.asgi import application as project

    headers = [*cookie_header(client, user), (b"origin", b"http://testserver")]

    async def scenario():
        socket = WebsocketCommunicator(project, "/ws/notifications/", headers=headers)
        connected, _ = await socket.connect()
        assert connected
        assert await socket.receive_json_from() == {"type": "unread", "unread": 0}
        await socket.disconnect()
        stranger = WebsocketCommunicator(
            project, "/ws/notifications/", headers=[(b"origin", b"http://evil.example")]
        )
        connected, _ = await stranger.connect()
        assert not connected

    async_to_sync(scenario)()
