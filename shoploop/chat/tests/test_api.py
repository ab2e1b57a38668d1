"""The chat API through the HTTP client."""

import pytest

from shoploop.accounts import services as accounts
from shoploop.chat import services
from shoploop.chat.models import Message
from shoploop.chat.tests.conftest import image_file

pytestmark = pytest.mark.django_db


def test_ask_a_shop_about_a_product_then_read_send_and_mark_read(
    api, buyer, merchant, shop, product
):
    started = api.post(
        "/chat/conversations/shop",
        {"shop_id": shop.public_id, "product_id": product.public_id},
        user=buyer,
    )
    assert started.status_code == 201, started.content
    chat = started.json()
    assert chat["kind"] == "shop" and chat["title"] == "阿花的小店"
    assert chat["topic"] == {"kind": "product", "id": product.public_id, "title": "手冲咖啡豆"}
    sent = api.post(f"/chat/conversations/{chat['id']}/messages", {"text": "有现货吗"}, user=buyer)
    assert sent.status_code == 201 and sent.json()["seq"] == 1
    inbox = api.get("/chat/shop-inbox", user=merchant).json()
    assert inbox[0]["id"] == chat["id"] and inbox[0]["awaiting_shop"] and inbox[0]["unread"] == 1
    api.post(f"/chat/conversations/{chat['id']}/messages", {"text": "有"}, user=merchant)
    listed = api.get("/chat/conversations", user=buyer).json()
    assert listed[0]["unread"] == 1 and listed[0]["last_message"]["text"] == "有"
    page = api.get(f"/chat/conversations/{chat['id']}/messages", user=buyer, after=1).json()
    assert [m["text"] for m in page["messages"]] == ["有"] and page["last_seq"] == 2
    assert api.get("/chat/unread", user=buyer).json() == {"unread": 1, "conversations": 1}
    read = api.post(f"/chat/conversations/{chat['id']}/read", {"seq": 2}, user=buyer)
    assert read.json() == {"conversation": chat["id"], "last_read_seq": 2}
    assert api.get("/chat/conversations", user=buyer).json()[0]["unread"] == 0


def test_someone_not_in_the_conversation_gets_403_and_nothing_is_stored(
    api, buyer, other_user, shop
):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    answer = api.post(
        f"/chat/conversations/{chat.public_id}/messages", {"text": "hi"}, user=other_user
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "not_in_conversation"
    assert (
        api.get(f"/chat/conversations/{chat.public_id}/messages", user=other_user).status_code
        == 403
    )
    assert Message.objects.count() == 0


def test_signed_out_is_401(api, buyer, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    assert (
        api.post(f"/chat/conversations/{chat.public_id}/messages", {"text": "hi"}).status_code
        == 401
    )
    assert api.get("/chat/conversations").status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": "x" * 2001}, 422, "invalid"),
        ({"text": ""}, 422, "empty_message"),
        ({"text": 5}, 422, "invalid"),
        ([], 422, "invalid"),
    ],
)
def test_bad_messages_are_refused(api, buyer, shop, body, status, code):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    answer = api.post(f"/chat/conversations/{chat.public_id}/messages", body, user=buyer)
    assert answer.status_code == status and answer.json()["error"]["code"] == code
    assert Message.objects.count() == 0


def test_images_by_multipart(client, make_token, buyer, shop, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    headers = {"Authorization": f"Bearer {make_token(buyer)}"}
    url = f"/api/v1/chat/conversations/{chat.public_id}/images"
    ok = client.post(url, {"image": image_file(), "text": "看这个"}, headers=headers)
    assert ok.status_code == 201, ok.content
    assert ok.json()["image_url"] and ok.json()["width"] == 1280
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = client.post(url, {"image": SimpleUploadedFile("x.txt", b"hello")}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "image_not_image"
    assert Message.objects.count() == 1


def test_messages_to_someone_who_blocked_you(api, friends):
    a, b = friends
    chat = api.post("/chat/conversations/direct", {"user_id": b.public_id}, user=a).json()
    accounts.block(blocker=b, blocked=a)
    answer = api.post(f"/chat/conversations/{chat['id']}/messages", {"text": "hi"}, user=a)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "blocked"


def test_room_moderation_and_reports(api, owner, member, another_member, community):
    room = api.post(
        "/chat/conversations/room", {"community_id": community.public_id}, user=member
    ).json()
    message = api.post(
        f"/chat/conversations/{room['id']}/messages", {"text": "spam"}, user=member
    ).json()
    report = api.post(
        f"/chat/messages/{message['id']}/report", {"reason": "广告"}, user=another_member
    )
    assert report.status_code == 201
    muted = api.post(
        f"/chat/conversations/{room['id']}/mute", {"user_id": member.public_id}, user=owner
    )
    assert muted.json()["muted"] is True
    refused = api.post(f"/chat/conversations/{room['id']}/messages", {"text": "again"}, user=member)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "muted"
    removed = api.post(f"/chat/messages/{message['id']}/remove", user=owner).json()
    assert removed["removed"] and removed["text"] == ""
    closed = api.post(
        f"/chat/conversations/{room['id']}/close", {"closed": True}, user=owner
    ).json()
    assert closed["closed"]
    late = api.post(f"/chat/conversations/{room['id']}/messages", {"text": "x"}, user=owner)
    assert late.status_code == 409 and late.json()["error"]["code"] == "conversation_closed"
    not_mod = api.post(f"/chat/conversations/{room['id']}/close", {"closed": False}, user=member)
    assert not_mod.status_code == 403


def test_operation_ids_and_declared_errors(client):
    document = client.get("/api/v1/openapi.json").json()
    operations = {
        op["operationId"]: op for path in document["paths"].values() for op in path.values()
    }
    chat_ops = {name for name in operations if name.startswith("chat_")}
    assert {
        "chat_list_conversations",
        "chat_list_messages",
        "chat_send_message",
        "chat_mark_read",
        "chat_start_shop_conversation",
    } <= chat_ops
    assert "429" in operations["chat_send_message"]["responses"]
    assert "403" in operations["chat_send_message"]["responses"]


@pytest.mark.parametrize("query", [{"after": 2**63}, {"before": -1}, {"after": 10**30}])
def test_out_of_range_cursors_are_422(api, buyer, shop, query):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    answer = api.get(f"/chat/conversations/{chat.public_id}/messages", user=buyer, **query)
    assert answer.status_code == 422


def test_out_of_range_read_is_422(api, buyer, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    answer = api.post(f"/chat/conversations/{chat.public_id}/read", {"seq": 2**64}, user=buyer)
    assert answer.status_code == 422
