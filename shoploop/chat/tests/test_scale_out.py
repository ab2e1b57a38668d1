"""Two web processes behind Redis: a message sent through one reaches a client connected to the
other (the channel layer is Redis, so each process hears the conversation's group)."""

import json
import urllib.request

import pytest
from django.conf import settings
from websockets.sync.client import connect

from shoploop.chat import services
from shoploop.chat.models import Message
from shoploop.tests.processes import free_port, scale_out_env, web_process


def _frame(ws) -> dict:
    return json.loads(ws.recv(timeout=30))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_message_sent_to_one_process_reaches_a_client_of_the_other(
    client, buyer, merchant, shop, make_token
):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    client.force_login(merchant)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    token = make_token(buyer)
    env = scale_out_env()
    port_a, port_b = free_port(), free_port()

    with (
        web_process(port_a, env),
        web_process(port_b, env),
        connect(
            f"ws://127.0.0.1:{port_a}/ws/chat/",
            additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port_a}"},
        ) as ws,
    ):
        assert _frame(ws)["type"] == "ready"
        ws.send(json.dumps({"type": "subscribe", "conversation": chat.public_id}))
        assert _frame(ws)["type"] == "subscribed"

        request = urllib.request.Request(
            f"http://127.0.0.1:{port_b}/api/v1/chat/conversations/{chat.public_id}/messages",
            data=json.dumps({"text": "从另一个进程来的"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            sent = json.loads(response.read())

        frame = _frame(ws)
        assert frame["type"] == "message"
        assert frame["message"]["id"] == sent["id"]
        assert frame["message"]["text"] == "从另一个进程来的"
    assert Message.objects.get().public_id == sent["id"]
