"""The chat WebSocket through channels' WebsocketCommunicator, with the project's ASGI stack
(origin check, session auth) and the in-memory channel layer."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from shoploop.accounts import services as accounts
from shoploop.chat import realtime, services
from shoploop.chat.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def _application():
    from shoploop.asgi import application

    return application


def _cookie_of(client, user) -> bytes:
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


def _communicator(*, cookie: bytes | None = None, token: str | None = None):
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return WebsocketCommunicator(_application(), "/ws/chat/", headers=headers)


async def _frame(communicator, timeout=3):
    return json.loads(await communicator.receive_from(timeout=timeout))


async def _connected(communicator):
    connected, _sub = await communicator.connect()
    assert connected
    ready = await _frame(communicator)
    assert ready["type"] == "ready"
    return ready


send = database_sync_to_async(services.send_message)


def test_a_message_sent_is_pushed_to_the_other_side(client, buyer, merchant, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    cookie = _cookie_of(client, merchant)

    async def scenario():
        ws = _communicator(cookie=cookie)
        await _connected(ws)
        await ws.send_json_to({"type": "subscribe", "conversation": chat.public_id, "ref": 1})
        subscribed = await _frame(ws)
        assert subscribed == {
            "type": "subscribed",
            "ref": 1,
            "conversation": chat.public_id,
            "last_seq": 0,
            "closed": False,
        }
        await send(actor=buyer, conversation=chat, text="<b>有现货吗</b>")
        frame = await _frame(ws)
        assert frame["type"] == "message"
        assert frame["message"]["text"] == "<b>有现货吗</b>"  # escaped by whoever shows it
        assert frame["message"]["seq"] == 1 and frame["message"]["sender"]["id"] == buyer.public_id
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_reconnecting_client_catches_up_without_loss_or_duplicates(client, buyer, merchant, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    for n in range(3):
        services.send_message(actor=buyer, conversation=chat, text=f"m{n + 1}")
    cookie = _cookie_of(client, merchant)

    async def scenario():
        ws = _communicator(cookie=cookie)
        await _connected(ws)
        await ws.send_json_to({"type": "subscribe", "conversation": chat.public_id, "after_seq": 1})
        assert (await _frame(ws))["type"] == "subscribed"
        caught_up = [(await _frame(ws))["message"]["seq"] for _ in range(2)]
        assert caught_up == [2, 3]
        await send(actor=buyer, conversation=chat, text="m4")
        # The same message published again (a second process, a retry) is not shown twice.
        message = await database_sync_to_async(
            Message.objects.select_related("sender", "conversation").get
        )(seq=4)
        await database_sync_to_async(realtime.push_message)(message)
        assert (await _frame(ws))["message"]["seq"] == 4
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    async_to_sync(scenario)()


def test_live_gap_is_filled(client, buyer, merchant, shop, monkeypatch):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    cookie = _cookie_of(client, merchant)

    async def scenario():
        ws = _communicator(cookie=cookie)
        await _connected(ws)
        await ws.send_json_to({"type": "subscribe", "conversation": chat.public_id})
        await _frame(ws)
        held = []

        def store_two_push_only_the_second():
            monkeypatch.setattr(realtime, "push_message", held.append)
            services.send_message(actor=buyer, conversation=chat, text="m1")
            services.send_message(actor=buyer, conversation=chat, text="m2")
            monkeypatch.undo()

        await database_sync_to_async(store_two_push_only_the_second)()
        await database_sync_to_async(realtime.push_message)(held[1])
        assert [(await _frame(ws))["message"]["text"] for _ in range(2)] == ["m1", "m2"]
        await database_sync_to_async(realtime.push_message)(held[0])  # late: dropped
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_message_published_ahead_waits_for_the_older_one_without_reading_the_database(
    client, buyer, merchant, shop, monkeypatch
):
    """Two web processes commit 1 then 2 and publish 2 then 1: every connected client would read
    the gap from the database at once. The newer message waits for the older one instead."""
    from shoploop.chat import consumers

    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    cookie = _cookie_of(client, merchant)
    reads = []

    async def missing(*args):
        reads.append(args)
        return []

    monkeypatch.setattr(consumers, "_missing", missing)

    async def scenario():
        ws = _communicator(cookie=cookie)
        await _connected(ws)
        await ws.send_json_to({"type": "subscribe", "conversation": chat.public_id})
        await _frame(ws)
        held = []

        def store_three_push_none():
            with monkeypatch.context() as patched:
                patched.setattr(realtime, "push_message", held.append)
                for n in range(3):
                    services.send_message(actor=buyer, conversation=chat, text=f"m{n + 1}")

        await database_sync_to_async(store_three_push_none)()
        for message in (held[2], held[1]):
            await database_sync_to_async(realtime.push_message)(message)
        assert await ws.receive_nothing(timeout=0.05)  # 3 and 2 wait for 1
        await database_sync_to_async(realtime.push_message)(held[0])
        assert [(await _frame(ws))["message"]["text"] for _ in range(3)] == ["m1", "m2", "m3"]
        assert await ws.receive_nothing(timeout=consumers.GAP_WAIT_SECONDS + 0.2)
        await ws.disconnect()

    async_to_sync(scenario)()
    assert reads == []


def test_a_pushed_message_is_forwarded_without_a_hop_to_the_sync_thread(
    client, buyer, merchant, shop, monkeypatch
):
    """channels closes stale database connections before every event through the one thread
    that runs the process's synchronous views; a pushed chat event reads no database, so in a big
    room that was one queued hop per connection per message ahead of the next send."""
    import channels.consumer

    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    cookie = _cookie_of(client, merchant)
    hops = []
    original = channels.consumer.aclose_old_connections

    async def counted():
        hops.append(1)
        await original()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)

    async def scenario():
        ws = _communicator(cookie=cookie)
        await _connected(ws)
        await ws.send_json_to({"type": "subscribe", "conversation": chat.public_id})
        await _frame(ws)
        hops_before_pushes = len(hops)
        for n in range(3):
            await send(actor=buyer, conversation=chat, text=f"m{n + 1}")
        assert [(await _frame(ws))["message"]["text"] for _ in range(3)] == ["m1", "m2", "m3"]
        assert len(hops) == hops_before_pushes
        await ws.disconnect()

    async_to_sync(scenario)()
    assert hops  # the client's own frames still go through channels' clean-up


def test_without_a_session_or_token_the_socket_says_so_and_closes():
    async def scenario():
        ws = _communicator(token="not-a-real-token")
        connected, _ = await ws.connect()
        assert connected
        frame = await _frame(ws)
        assert frame["type"] == "error" and frame["code"] == "not_authenticated"
        closed = await ws.receive_output(timeout=3)
        assert closed == {"type": "websocket.close", "code": 4401}

    async_to_sync(scenario)()


def test_an_api_token_works_and_sending_over_the_socket_stores_first(buyer, shop, make_token):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    token = make_token(buyer)

    async def scenario():
        ws = _communicator(token=token)
        ready = await _connected(ws)
        assert ready["user"] == buyer.public_id
        await ws.send_json_to({"type": "subscribe", "conversation": chat.public_id})
        await _frame(ws)
        await ws.send_json_to(
            {"type": "send", "conversation": chat.public_id, "text": "你好", "ref": "c1"}
        )
        frames = [await _frame(ws), await _frame(ws)]
        kinds = sorted(f["type"] for f in frames)
        assert kinds == ["message", "sent"]
        sent = next(f for f in frames if f["type"] == "sent")
        assert sent["ref"] == "c1" and sent["message"]["seq"] == 1
        await ws.send_json_to({"type": "read", "conversation": chat.public_id, "seq": 1})
        assert (await _frame(ws))["last_read_seq"] == 1
        await ws.disconnect()

    async_to_sync(scenario)()
    assert Message.objects.get().text == "你好"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "explode"}', "unknown_type"),
        ('{"type": "send", "conversation": "../../x", "text": "hi"}', "bad_frame"),
        ('{"type": "send", "conversation": "CONV", "text": 42}', "bad_frame"),
        ('{"type": "send", "conversation": "CONV", "text": ""}', "empty_message"),
        ('{"type": "subscribe", "conversation": "CONV", "after_seq": "1"}', "bad_frame"),
        ('{"type": "read", "conversation": "CONV", "seq": -1}', "bad_frame"),
        ('{"type": "send", "conversation": "nosuchconv1", "text": "hi"}', "conversation_not_found"),
        (
            '{"type": "send", "conversation": "CONV", "text": "' + "x" * 16001 + '"}',
            "frame_too_large",
        ),
        ('{"type": "send", "conversation": "CONV", "text": "' + "x" * 2001 + '"}', "invalid"),
    ],
)
def test_forged_frames_get_a_clear_error_and_store_nothing(client, buyer, shop, raw, code):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    cookie = _cookie_of(client, buyer)

    async def scenario():
        ws = _communicator(cookie=cookie)
        await _connected(ws)
        await ws.send_to(text_data=raw.replace("CONV", chat.public_id))
        frame = await _frame(ws)
        assert frame["type"] == "error" and frame["code"] == code
        await ws.send_json_to({"type": "ping"})
        assert (await _frame(ws))["type"] == "pong"  # the connection stays usable
        await ws.disconnect()

    async_to_sync(scenario)()
    assert Message.objects.count() == 0


def test_no_subscribing_or_sending_to_someone_elses_conversation(client, buyer, other_user, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    cookie = _cookie_of(client, other_user)

    async def scenario():
        ws = _communicator(cookie=cookie)
        await _connected(ws)
        await ws.send_json_to({"type": "subscribe", "conversation": chat.public_id})
        assert (await _frame(ws))["code"] == "not_in_conversation"
        await ws.send_json_to({"type": "send", "conversation": chat.public_id, "text": "hi"})
        assert (await _frame(ws))["code"] == "not_in_conversation"
        await send(actor=buyer, conversation=chat, text="private")
        assert await ws.receive_nothing(timeout=0.3)  # not in the group either
        await ws.disconnect()

    async_to_sync(scenario)()
    assert Message.objects.count() == 1


def test_a_room_hides_people_the_reader_blocked(client, owner, member, another_member, community):
    room = services.open_room(actor=member, community=community)
    accounts.block(blocker=another_member, blocked=member)
    cookie = _cookie_of(client, another_member)

    async def scenario():
        ws = _communicator(cookie=cookie)
        await _connected(ws)
        await ws.send_json_to({"type": "subscribe", "conversation": room.public_id})
        await _frame(ws)
        await send(actor=member, conversation=room, text="hidden")
        await send(actor=owner, conversation=room, text="visible")
        frame = await _frame(ws)
        assert frame["message"]["text"] == "visible"
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_block_made_while_connected_hides_the_other_at_once_both_ways(
    client, owner, member, another_member, community
):
    room = services.open_room(actor=member, community=community)
    from django.test import Client

    blocker_cookie = _cookie_of(client, another_member)
    blocked_cookie = _cookie_of(Client(), member)
    block = database_sync_to_async(accounts.block)

    async def scenario():
        blocker, blocked = (
            _communicator(cookie=blocker_cookie),
            _communicator(cookie=blocked_cookie),
        )
        for ws in (blocker, blocked):
            await _connected(ws)
            await ws.send_json_to({"type": "subscribe", "conversation": room.public_id})
            await _frame(ws)
        await block(blocker=another_member, blocked=member)
        await send(actor=member, conversation=room, text="from the blocked")
        await send(actor=another_member, conversation=room, text="from the blocker")
        await send(actor=owner, conversation=room, text="from the owner")
        blocker_saw = [(await _frame(blocker))["message"]["text"] for _ in range(2)]
        blocked_saw = [(await _frame(blocked))["message"]["text"] for _ in range(2)]
        assert blocker_saw == ["from the blocker", "from the owner"]
        assert blocked_saw == ["from the blocked", "from the owner"]
        for ws in (blocker, blocked):
            assert await ws.receive_nothing(timeout=0.2)
            await ws.disconnect()

    async_to_sync(scenario)()


def test_a_browser_page_from_another_site_is_refused(client, buyer):
    cookie = _cookie_of(client, buyer)

    async def scenario():
        ws = WebsocketCommunicator(
            _application(),
            "/ws/chat/",
            headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)],
        )
        connected, _ = await ws.connect()
        assert not connected

    async_to_sync(scenario)()


def test_errors_come_in_the_pages_language(client, buyer, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    cookie = _cookie_of(client, buyer)

    async def scenario(language):
        ws = _communicator(cookie=cookie + f"; django_language={language}".encode())
        await _connected(ws)
        await ws.send_json_to({"type": "send", "conversation": chat.public_id, "text": "x" * 2001})
        frame = await _frame(ws)
        await ws.disconnect()
        return frame

    chinese = async_to_sync(scenario)("zh-hans")
    english = async_to_sync(scenario)("en")
    assert chinese["code"] == english["code"] == "invalid"
    assert english["fields"] == {"text": "too_long"}
    assert "too long" in english["message"] and "too long" not in chinese["message"]


def test_a_connection_behind_a_backlog_keeps_waiting_instead_of_reading_the_database(
    client, buyer, merchant, shop, monkeypatch
):
    """In a burst, a connection can be more than the wait behind the frames queued for it: the
    older message is then still in its queue. While the frames it works through were published
    before the wait was up, it keeps waiting; it reads the database only once it caught up."""
    import time

    from channels.layers import get_channel_layer

    from shoploop.chat import consumers

    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    cookie = _cookie_of(client, merchant)
    reads = []

    async def missing(*args):
        reads.append(args)
        return []

    monkeypatch.setattr(consumers, "_missing", missing)

    async def scenario():
        ws = _communicator(cookie=cookie)
        await _connected(ws)
        await ws.send_json_to({"type": "subscribe", "conversation": chat.public_id})
        await _frame(ws)
        held = []

        def store_two_push_none():
            with monkeypatch.context() as patched:
                patched.setattr(realtime, "push_message", held.append)
                for n in range(2):
                    services.send_message(actor=buyer, conversation=chat, text=f"m{n + 1}")

        await database_sync_to_async(store_two_push_none)()
        await database_sync_to_async(realtime.push_message)(held[1])  # 2 waits for 1
        # Frames published just after 2 (within its wait) keep coming for three waits: this
        # connection is behind, and 1 is still on its way.
        published_within_the_wait = time.time()
        backlog = await database_sync_to_async(realtime.message_frame)(held[1])
        layer, group = get_channel_layer(), realtime.group_name(chat.public_id)
        for _ in range(int(3 * consumers.GAP_WAIT_SECONDS / 0.05)):
            await layer.group_send(
                group,
                {
                    "type": "chat.message",
                    "message": backlog,
                    "published_at": published_within_the_wait,
                },
            )
            assert await ws.receive_nothing(timeout=0.05)
        await database_sync_to_async(realtime.push_message)(held[0])
        assert [(await _frame(ws))["message"]["text"] for _ in range(2)] == ["m1", "m2"]
        await ws.disconnect()

    async_to_sync(scenario)()
    assert reads == []
