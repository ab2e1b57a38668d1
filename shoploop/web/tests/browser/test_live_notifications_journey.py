"""A group completes and every member sees the notification appear, live, at 390 px: two real
ASGI web processes behind Redis, each member's page connected to one of them, the notification
made in a third process (this one) — the push crosses processes through the Redis channel layer."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from playwright.sync_api import expect

from shoploop.core import clock
from shoploop.deals.groups import services as groups
from shoploop.orders.testing import address_id_for
from shoploop.tests.processes import REDIS_URL, free_port, scale_out_env, web_process
from shoploop.web.tests.browser.conftest import PHONE_VIEWPORT, session_cookies

pytestmark = [pytest.mark.postgres, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_group_completes_and_every_member_sees_it_live(
    browser, make_user, merchant, sku, pay, settings, screenshot
):
    members = [make_user(display_name=f"Member {i}") for i in range(3)]
    for member in members:  # a live push speaks its reader's language
        member.locale = "en"
        member.save(update_fields=["locale"])
    now = clock.now()
    campaign = groups.create_campaign(
        actor=merchant,
        sku=sku,
        group_price_fen=3900,
        group_size=3,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=7),
        stock=10,
    )
    leader, *others = members
    seat = groups.open_group(campaign=campaign, user=leader, address_id=address_id_for(leader))
    pay(seat.order.checkout)
    group = seat.group
    seats = [groups.join_group(group=group, user=u, address_id=address_id_for(u)) for u in others]
    pay(seats[0].order.checkout)

    # DEBUG in the children only so that whitenoise serves today's static files from the apps'
    # folders (no collectstatic in a test run).
    env = scale_out_env(SHOPLOOP_DEBUG="1")
    ports = [free_port(), free_port()]
    contexts = []
    with web_process(ports[0], env), web_process(ports[1], env):
        pages = []
        for index, member in enumerate(members):
            base = f"http://127.0.0.1:{ports[index % 2]}"
            context = browser.new_context(viewport=PHONE_VIEWPORT, locale="en-US")
            contexts.append(context)
            context.add_cookies(session_cookies(member, base))
            page = context.new_page()
            page.goto(f"{base}/notifications/")
            expect(page.locator("a.bell[data-live='on']")).to_have_count(1, timeout=20_000)
            # Each was already told of the members who joined after them: the leader of two,
            # the first joiner of one, the last of none.
            expect(page.locator("a.bell [data-unread]")).to_have_text(str(2 - index))
            pages.append(page)

        # This process pushes through Redis too, as a worker delivering the event would, with
        # the layer the web processes use (production's default: the pub/sub one).
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL]},
            }
        }

        def last_member_pays():
            """In a thread of its own, as a request or a worker would run (Playwright's event
            loop owns this one, and a push from a thread with a running loop is refused)."""
            try:
                pay(seats[1].order.checkout)  # the last member pays: the group completes
                group.refresh_from_db()
                outcome.append(group.state)  # the service published deals.group.completed
            finally:
                connection.close()

        outcome = []
        worker = threading.Thread(target=last_member_pays)
        worker.start()
        worker.join()
        assert outcome == ["succeeded"]

        for index, page in enumerate(pages):
            expect(page.locator("a.bell [data-unread]")).to_have_text(
                str(2 - index + 1), timeout=20_000
            )
            expect(page.locator("[data-notifications-list] .notif-text").first).to_contain_text(
                "is complete"
            )
        screenshot(pages[0], "notifications-live")
        for context in contexts:
            context.close()
