"""Two people chat live in two browser contexts at 390 px: a buyer asks a shop about a product,
the merchant answers from the shop inbox, and each sees the other's message appear without
reloading. The server is the project's ASGI application under uvicorn (pytest-django's live
server speaks only HTTP, and the chat needs its WebSocket)."""

import socket
import threading
import time

import pytest
import uvicorn
from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application
from playwright.sync_api import expect

from shoploop.catalog import services as catalog
from shoploop.chat.origin import origin_checked
from shoploop.routing import websocket_urlpatterns
from shoploop.web.tests.browser.conftest import (
    assert_accessible,
    assert_no_horizontal_overflow,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asgi_server(plain_static_files):
    """The ASGI application (HTTP with static files, and the chat WebSocket) on a free port."""
    application = ProtocolTypeRouter(
        {
            "http": ASGIStaticFilesHandler(get_asgi_application()),
            "websocket": origin_checked(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            application, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_a_buyer_and_a_merchant_chat_live(phone, asgi_server, make_user, operator, screenshot):
    merchant = make_user(display_name="Hua")
    buyer = make_user(display_name="Wang")
    shop = catalog.approve_shop(
        shop=catalog.apply_for_shop(user=merchant, name="Hua's Tea", contact="wx hua"),
        actor=operator,
    )
    product = catalog.create_product(
        shop=shop, actor=merchant, title="Oolong", description="", category="food"
    )
    catalog.add_sku(product=product, actor=merchant, options={}, price_fen=3900, stock=5)
    catalog.publish_product(product=product, actor=merchant)

    context_b, context_m = (
        phone(buyer, base_url=asgi_server, language="en"),
        phone(merchant, base_url=asgi_server, language="en"),
    )
    b, m = context_b.new_page(), context_m.new_page()
    try:
        # 1. The buyer asks the shop from the product page; the conversation shows the card.
        b.goto(f"/p/{product.public_id}/")
        b.get_by_role("button", name="Ask the shop").click()
        expect(b.locator(".chat-topic")).to_contain_text("Oolong")
        expect(b.locator("#chat-messages")).to_have_attribute("data-connected", "1")
        b.get_by_label("Message").fill("Is it in stock? <b>now</b>")
        b.get_by_role("button", name="Send").click()
        expect(b.locator("#chat-messages .chat-text").last).to_have_text(
            "Is it in stock? <b>now</b>"
        )

        # 2. The merchant finds it first in the shop inbox, opens it.
        m.goto("/messages/shop/")
        expect(m.get_by_text("Waiting for your answer")).to_be_visible()
        m.get_by_role("link", name="Wang").click()
        expect(m.locator("#chat-messages")).to_contain_text("Is it in stock? <b>now</b>")
        expect(m.locator("#chat-messages")).to_have_attribute("data-connected", "1")

        # 3. Live both ways: no reload on either side.
        m.get_by_label("Message").fill("Yes, ships today")
        m.get_by_role("button", name="Send").click()
        expect(b.locator("#chat-messages")).to_contain_text("Yes, ships today")
        b.get_by_label("Message").fill("Great, buying now")
        b.get_by_role("button", name="Send").click()
        expect(m.locator("#chat-messages")).to_contain_text("Great, buying now")
        # A sent message is drawn when the server's echo reaches its own socket, which may come
        # after the other side's copy: wait for it before counting (no message drawn twice).
        expect(b.locator("#chat-messages")).to_contain_text("Great, buying now")
        expect(b.locator("#chat-messages li")).to_have_count(3)
        screenshot(b, "chat-buyer")
        screenshot(m, "chat-merchant")
        assert_no_horizontal_overflow(b)
        assert_no_horizontal_overflow(m)
        assert_accessible(b)
    finally:
        context_b.close()
        context_m.close()
