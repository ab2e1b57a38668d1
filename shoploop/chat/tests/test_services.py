"""Chat services: every rule and every bad input (which stores nothing)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shoploop.accounts import services as accounts
from shoploop.chat import selectors, services
from shoploop.chat.models import Conversation, Message, MessageReport
from shoploop.chat.tests.conftest import image_file
from shoploop.communities import services as communities
from shoploop.core.errors import (
    Conflict,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from shoploop.core.events import recorded_events

pytestmark = pytest.mark.django_db


def test_a_buyer_asks_a_shop_about_a_product_and_the_shop_answers(buyer, merchant, shop, product):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop, product=product)
    assert chat.topic_kind == "product" and chat.topic_title == "手冲咖啡豆"
    with recorded_events() as events:
        question = services.send_message(actor=buyer, conversation=chat, text="有现货吗？")
    assert question.seq == 1 and not question.sent_for_shop
    sent = [e for e in events if e.name == "chat.message.sent"]
    assert sent[0].payload == {
        "conversation_public_id": chat.public_id,
        "message_public_id": question.public_id,
        "sender_public_id": buyer.public_id,
        "recipient_public_ids": [merchant.public_id],
        "conversation_kind": "shop",
        "shop_public_id": shop.public_id,
    }
    inbox = selectors.shop_inbox(user=merchant, shop=shop)
    assert [e.conversation for e in inbox] == [chat]
    assert inbox[0].conversation.awaiting_shop and inbox[0].unread == 1
    answer = services.send_message(actor=merchant, conversation=chat, text="有的")
    assert answer.seq == 2 and answer.sent_for_shop
    chat.refresh_from_db()
    assert not chat.awaiting_shop
    assert selectors.my_conversations(user=buyer)[0].unread == 1
    services.mark_read(actor=buyer, conversation=chat, seq=2)
    assert selectors.my_conversations(user=buyer)[0].unread == 0


def test_starting_again_keeps_one_conversation_and_changes_the_card(buyer, shop, product):
    first = services.start_shop_conversation(buyer=buyer, shop=shop)
    again = services.start_shop_conversation(buyer=buyer, shop=shop, product=product)
    assert first.pk == again.pk
    assert Conversation.objects.filter(kind="shop").count() == 1


def test_unanswered_conversations_come_first_in_the_shop_inbox(seasoned, merchant, shop):
    a, b = seasoned("甲"), seasoned("乙")
    chat_a = services.start_shop_conversation(buyer=a, shop=shop)
    chat_b = services.start_shop_conversation(buyer=b, shop=shop)
    services.send_message(actor=a, conversation=chat_a, text="1")
    services.send_message(actor=b, conversation=chat_b, text="2")
    services.send_message(actor=merchant, conversation=chat_b, text="answer")
    services.send_message(actor=merchant, conversation=chat_b, text="answer 2")
    order = [e.conversation.pk for e in selectors.shop_inbox(user=merchant, shop=shop)]
    assert order == [chat_a.pk, chat_b.pk]


def test_someone_else_cannot_read_or_write(buyer, other_user, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    with pytest.raises(PermissionDenied) as error:
        services.send_message(actor=other_user, conversation=chat, text="hi")
    assert error.value.status == 403
    with pytest.raises(PermissionDenied):
        selectors.access(user=other_user, conversation=chat)
    assert Message.objects.count() == 0


def test_a_blocked_buyer_cannot_message_the_shop(buyer, merchant, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    accounts.block(blocker=merchant, blocked=buyer)
    with pytest.raises(PermissionDenied) as error:
        services.send_message(actor=buyer, conversation=chat, text="hi")
    assert error.value.code == "blocked"
    with pytest.raises(PermissionDenied):
        services.start_shop_conversation(buyer=buyer, shop=shop)
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_message"),
        ("   ", "empty_message"),
        ("x" * 2001, "invalid"),
        ("a\x00b", "invalid"),
    ],
)
def test_bad_text_is_refused(buyer, shop, text, code):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    with pytest.raises(ValidationFailed) as error:
        services.send_message(actor=buyer, conversation=chat, text=text)
    assert error.value.code == code
    assert Message.objects.count() == 0


def test_images_are_resized_and_unknown_types_refused(buyer, shop, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    message = services.send_message(
        actor=buyer, conversation=chat, image=image_file(size=(3000, 1500))
    )
    assert (message.width, message.height) == (1280, 640)
    gif = SimpleUploadedFile("a.gif", b"GIF89a" + b"\x00" * 50, content_type="image/gif")
    with pytest.raises(ValidationFailed) as error:
        services.send_message(actor=buyer, conversation=chat, image=gif)
    assert error.value.code == "image_not_image"
    huge = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024 + 1))
    with pytest.raises(ValidationFailed) as error:
        services.send_message(actor=buyer, conversation=chat, image=huge)
    assert error.value.code == "image_too_large"
    assert Message.objects.count() == 1


def test_images_lose_their_exif(buyer, shop, settings, tmp_path):
    import io

    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    Image.new("RGB", (100, 80), "red").save(buffer, format="JPEG", exif=exif)
    upload = SimpleUploadedFile("p.jpg", buffer.getvalue(), content_type="image/jpeg")
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    message = services.send_message(actor=buyer, conversation=chat, image=upload)
    with Image.open(message.image.path) as stored:
        assert not stored.getexif()


def test_private_messages_need_mutual_follows(friends, seasoned):
    a, b = friends
    chat = services.start_direct_conversation(actor=a, other=b)
    assert services.start_direct_conversation(actor=b, other=a).pk == chat.pk
    services.send_message(actor=b, conversation=chat, text="你好")
    stranger = seasoned("陌生人")
    accounts.follow(follower=stranger, followee=a)
    with pytest.raises(PermissionDenied) as error:
        services.start_direct_conversation(actor=stranger, other=a)
    assert error.value.code == "not_mutual_followers"


def test_a_block_stops_private_messages_and_hides_the_conversation(friends):
    a, b = friends
    chat = services.start_direct_conversation(actor=a, other=b)
    accounts.block(blocker=b, blocked=a)
    with pytest.raises(PermissionDenied) as error:
        services.send_message(actor=a, conversation=chat, text="还在吗")
    assert error.value.code == "blocked"
    assert selectors.my_conversations(user=a) == []


def test_a_room_is_for_members_and_hides_blocked_people(
    owner, member, another_member, seasoned, community
):
    room = services.open_room(actor=member, community=community)
    assert services.open_room(actor=owner, community=community).pk == room.pk
    with recorded_events() as events:
        services.send_message(actor=member, conversation=room, text="大家好")
    (sent,) = [e.payload for e in events if e.name == "chat.message.sent"]
    assert sent["community_public_id"] == community.public_id  # insights count it there
    assert "shop_public_id" not in sent
    outsider = seasoned("路人")
    with pytest.raises(PermissionDenied):
        services.send_message(actor=outsider, conversation=room, text="hi")
    with pytest.raises(PermissionDenied):
        services.open_room(actor=outsider, community=community)
    accounts.block(blocker=another_member, blocked=member)
    seen = selectors.message_page(user=another_member, conversation=room)
    assert seen == []
    assert len(selectors.message_page(user=owner, conversation=room)) == 1


def test_room_moderation_mute_remove_close(owner, member, community):
    room = services.open_room(actor=member, community=community)
    message = services.send_message(actor=member, conversation=room, text="广告")
    with pytest.raises(PermissionDenied):
        services.set_muted(actor=member, conversation=room, user=owner, muted=True)
    services.set_muted(actor=owner, conversation=room, user=member, muted=True)
    with pytest.raises(PermissionDenied) as error:
        services.send_message(actor=member, conversation=room, text="again")
    assert error.value.code == "muted"
    services.remove_message(actor=owner, message=message)
    message.refresh_from_db()
    assert message.is_removed
    services.set_room_closed(actor=owner, conversation=room, closed=True)
    with pytest.raises(Conflict) as error:
        services.send_message(actor=owner, conversation=room, text="closed?")
    assert error.value.code == "conversation_closed"
    assert Message.objects.count() == 1


def test_a_member_who_left_cannot_send(member, community):
    room = services.open_room(actor=member, community=community)
    communities.leave_community(actor=member, community=community)
    with pytest.raises(PermissionDenied):
        services.send_message(actor=member, conversation=room, text="hi")


def test_reports_reach_the_room_moderators_once_per_person(
    owner, member, another_member, community
):
    room = services.open_room(actor=member, community=community)
    message = services.send_message(actor=member, conversation=room, text="spam")
    services.report_message(actor=another_member, message=message, reason="广告")
    with pytest.raises(Conflict):
        services.report_message(actor=another_member, message=message)
    with pytest.raises(ValidationFailed):
        services.report_message(actor=member, message=message)
    assert [r.message for r in selectors.open_reports(user=owner, conversation=room)] == [message]
    with pytest.raises(PermissionDenied):
        selectors.open_reports(user=another_member, conversation=room)
    assert MessageReport.objects.count() == 1


def test_bursts_are_rate_limited(buyer, shop, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 1
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    services.send_message(actor=buyer, conversation=chat, text="1")
    with pytest.raises(RateLimited):
        services.send_message(actor=buyer, conversation=chat, text="2")
    assert Message.objects.count() == 1


def test_new_accounts_are_limited_more(make_user, shop, settings):
    settings.CHAT_NEW_ACCOUNT_MESSAGES_PER_MINUTE = 1
    newcomer = make_user(display_name="新人")
    chat = services.start_shop_conversation(buyer=newcomer, shop=shop)
    services.send_message(actor=newcomer, conversation=chat, text="1")
    with pytest.raises(RateLimited):
        services.send_message(actor=newcomer, conversation=chat, text="2")
    assert Message.objects.count() == 1


def test_cursor_pages(buyer, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    for n in range(5):
        services.send_message(actor=buyer, conversation=chat, text=str(n))
    assert [m.seq for m in selectors.message_page(user=buyer, conversation=chat, limit=2)] == [4, 5]
    assert [
        m.seq for m in selectors.message_page(user=buyer, conversation=chat, before=4, limit=2)
    ] == [2, 3]
    assert [m.seq for m in selectors.message_page(user=buyer, conversation=chat, after=3)] == [4, 5]


def test_mark_read_never_goes_back_and_is_capped(buyer, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    services.send_message(actor=buyer, conversation=chat, text="1")
    chat.refresh_from_db()
    assert services.mark_read(actor=buyer, conversation=chat, seq=99).last_read_seq == 1
    assert services.mark_read(actor=buyer, conversation=chat, seq=0).last_read_seq == 1
