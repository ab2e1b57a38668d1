"""Chat pages without JavaScript: send by form post, reload to read."""

import re

import pytest
from django.urls import reverse

from shoploop.chat import services
from shoploop.chat.models import Conversation, Message
from shoploop.chat.tests.conftest import image_file

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


def test_the_nav_entry_is_the_inbox(client, buyer):
    html = _text(client.get("/messages/"))
    assert "Sign in to see your messages" in html
    assert "Coming soon" not in html
    client.force_login(buyer)
    html = _text(client.get("/messages/"))
    assert 'href="/messages/" class="nav-messages is-active" aria-current="page"' in html


def test_ask_a_shop_from_a_product_and_talk_by_form(client, buyer, merchant, shop, product):
    client.force_login(buyer)
    started = client.post(
        reverse("chat:start_shop", args=[shop.public_id]), {"product": product.public_id}
    )
    chat = Conversation.objects.get()
    url = reverse("chat:conversation", args=[chat.public_id])
    assert started.status_code == 302 and started["Location"] == url
    page = _text(client.get(url))
    assert "手冲咖啡豆" in page
    # Hashed once collectstatic has run (as in CI), plain before.
    assert re.search(r'src="/static/chat/chat(\.[0-9a-f]+)?\.js"', page)
    assert "<script>" not in page and "onclick" not in page
    sent = client.post(url, {"text": "<script>alert(1)</script> 有货吗"})
    assert sent.status_code == 302
    page = _text(client.get(url))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 有货吗" in page
    client.force_login(merchant)
    inbox = _text(client.get(reverse("chat:shop_inbox")))
    assert "Waiting for your answer" in inbox and url in inbox
    client.post(url, {"text": "有的"})
    client.force_login(buyer)
    listing = _text(client.get("/messages/"))
    assert re.search(r'class="badge"[^>]*>1</span>', listing)
    assert "有的" in _text(client.get(url))
    assert "有的" in _text(client.get("/messages/")) and not re.search(
        r'class="badge"[^>]*>1</span>', _text(client.get("/messages/"))
    )


def test_a_picture_by_form(client, buyer, shop, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    client.force_login(buyer)
    url = reverse("chat:conversation", args=[chat.public_id])
    assert client.post(url, {"text": "", "image": image_file()}).status_code == 302
    assert '<img class="chat-image"' in _text(client.get(url))


def test_bad_input_on_the_page_shows_the_error_and_stores_nothing(client, buyer, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    client.force_login(buyer)
    url = reverse("chat:conversation", args=[chat.public_id])
    page = _text(client.post(url, {"text": "   "}))
    assert "Write a message or add a picture." in page
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = _text(client.post(url, {"image": SimpleUploadedFile("a.svg", b"<svg/>")}))
    assert "Upload a JPEG, PNG or WebP image." in page
    assert Message.objects.count() == 0


def test_someone_elses_conversation_is_403(client, buyer, other_user, shop):
    chat = services.start_shop_conversation(buyer=buyer, shop=shop)
    client.force_login(other_user)
    url = reverse("chat:conversation", args=[chat.public_id])
    assert client.get(url).status_code == 403
    assert client.post(url, {"text": "hi"}).status_code == 403
    assert Message.objects.count() == 0


def test_room_page_with_moderation(client, owner, member, another_member, community):
    client.force_login(member)
    opened = client.get(reverse("chat:room", args=[community.public_id]))
    room = Conversation.objects.get(kind="room")
    url = reverse("chat:conversation", args=[room.public_id])
    assert opened["Location"] == url
    client.post(url, {"text": "大家好"})
    message = Message.objects.get()
    client.force_login(another_member)
    report_url = reverse("chat:report", args=[message.public_id])
    assert client.post(report_url, {"reason": "spam"}).status_code == 302
    client.force_login(owner)
    reports = _text(client.get(reverse("chat:reports", args=[room.public_id])))
    assert "大家好" in reports and "spam" in reports
    # Removing asks once more (no-JS confirmation), then removes.
    remove_url = reverse("chat:remove", args=[message.public_id])
    assert "Remove this message?" in _text(client.post(remove_url))
    message.refresh_from_db()
    assert not message.is_removed
    client.post(remove_url, {"confirm": "1"})
    message.refresh_from_db()
    assert message.is_removed
    client.post(reverse("chat:mute", args=[room.public_id]), {"user": member.public_id})
    close_url = reverse("chat:close", args=[room.public_id])
    client.post(close_url, {"closed": "1", "confirm": "1"})
    room.refresh_from_db()
    assert room.is_closed
    client.force_login(member)
    page = _text(client.get(url))
    assert "This conversation is closed." in page and 'id="chat-form"' not in page


def test_private_messages_between_friends(client, friends):
    a, b = friends
    client.force_login(a)
    response = client.post(reverse("chat:start_direct", args=[b.public_id]))
    chat = Conversation.objects.get(kind="direct")
    assert response["Location"] == reverse("chat:conversation", args=[chat.public_id])
    assert "阿乙" in _text(client.get("/messages/"))


def test_product_order_and_console_pages_link_to_the_chat(client, buyer, merchant, shop, product):
    client.force_login(buyer)
    page = _text(client.get(reverse("catalog:product", args=[product.public_id])))
    assert reverse("chat:start_shop", args=[shop.public_id]) in page and "Ask the shop" in page
    client.force_login(merchant)
    page = _text(client.get(reverse("catalog:product", args=[product.public_id])))
    assert "Ask the shop" not in page
    assert reverse("chat:shop_inbox") in _text(client.get(reverse("catalog:console")))


def test_asking_about_an_order_shows_its_card(client, buyer, shop, product, ship_to):
    from shoploop.orders import services as orders

    orders.add_to_cart(user=buyer, sku_public_id=product.skus.first().public_id, quantity=1)
    checkout = orders.checkout(buyer=buyer, address_public_id=ship_to(buyer))
    order = checkout.orders.first()
    client.force_login(buyer)
    assert "Ask the shop" in _text(client.get(reverse("orders:detail", args=[order.public_id])))
    client.post(reverse("chat:start_shop", args=[shop.public_id]), {"order": order.public_id})
    chat = Conversation.objects.get()
    assert chat.topic_kind == "order" and chat.topic_public_id == order.public_id
    page = _text(client.get(reverse("chat:conversation", args=[chat.public_id])))
    assert reverse("orders:detail", args=[order.public_id]) in page


def test_a_member_finds_the_room_on_the_community_page(client, member, community):
    client.force_login(member)
    page = _text(client.get(reverse("communities:detail", args=[community.public_id])))
    assert reverse("chat:room", args=[community.public_id]) in page
