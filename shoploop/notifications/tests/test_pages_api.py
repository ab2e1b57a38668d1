"""The inbox page, the top bar's count, the preferences page, and the API."""

import pytest

from shoploop.notifications import selectors, services
from shoploop.notifications.models import Notification

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def shipped(user, key="k", title="手冲咖啡豆", order="ord123456789"):
    return services.notify(
        recipient=user, kind="order_shipped", key=key, params={"order": order, "title": title}
    )


# --- pages -------------------------------------------------------------------------------------


def test_the_inbox_needs_sign_in(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


def test_the_top_bar_counts_unread_without_javascript(client, user):
    client.force_login(user)
    page = client.get("/").content.decode()
    assert 'class="bell-count is-zero" data-unread>0<' in page
    shipped(user, key="a")
    shipped(user, key="b")
    page = client.get("/").content.decode()
    assert 'class="bell-count" data-unread>2<' in page
    assert 'aria-label="Notifications, 2 unread"' in page
    assert 'data-notifications-ws="/ws/notifications/"' in page


def test_a_visitor_sees_no_bell(client):
    assert "data-notifications-ws" not in client.get("/").content.decode()


def test_the_inbox_lists_newest_first_and_opening_one_reads_it(client, user, other_user):
    first = shipped(user, key="a", title="第一单")
    shipped(user, key="b", title="第二单")
    shipped(other_user, key="a", title="别人的单")
    client.force_login(user)
    page = client.get("/notifications/").content.decode()
    assert page.index("第二单") < page.index("第一单")
    assert "别人的单" not in page
    response = client.post(f"/notifications/{first.public_id}/open/")
    assert response.status_code == 302 and response["Location"] == "/orders/ord123456789/"
    assert selectors.unread_count(user=user) == 1


def test_opening_is_post_only_and_only_ones_own(client, user, other_user):
    note = shipped(other_user)
    client.force_login(user)
    assert client.get(f"/notifications/{note.public_id}/open/").status_code == 405
    assert client.post(f"/notifications/{note.public_id}/open/").status_code == 404
    assert Notification.objects.get(pk=note.pk).read_at is None


def test_mark_all_read_page(client, user):
    shipped(user, key="a")
    shipped(user, key="b")
    client.force_login(user)
    assert client.post("/notifications/read-all/").status_code == 302
    assert selectors.unread_count(user=user) == 0


def test_the_inbox_is_empty_politely(client, user):
    client.force_login(user)
    assert "No notifications yet." in client.get("/notifications/").content.decode()


def test_the_preferences_page_saves_choices(client, user):
    client.force_login(user)
    page = client.get("/notifications/preferences/").content.decode()
    assert 'name="order_shipped-sms"' in page and 'name="new_follower-sms"' not in page
    form = {f"{kind}-in_app": "on" for kind in ("order_shipped", "order_refunded")}
    client.post("/notifications/preferences/", form)
    choices = {c.kind: c for c in services.preferences_of(user)}
    assert choices["order_shipped"].in_app and not choices["order_shipped"].sms
    assert not choices["new_follower"].in_app


# --- API ---------------------------------------------------------------------------------------


def test_api_lists_by_cursor_newest_first(api, user):
    for index in range(3):
        shipped(user, key=str(index), title=f"单{index}")
    first = api.get("/notifications?page_size=2", user=user).json()
    assert [item["text"] for item in first["results"]] == [
        "Your order of 单2 has shipped.",
        "Your order of 单1 has shipped.",
    ]
    assert first["results"][0]["url"] == "/orders/ord123456789/"
    assert first["results"][0]["read"] is False
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    rest = api.get(f"/notifications?page_size=2&cursor={cursor}", user=user).json()
    assert [item["text"] for item in rest["results"]] == ["Your order of 单0 has shipped."]


def test_api_texts_follow_the_requests_language(user, client, chinese_catalogue):
    shipped(user)
    answer = client.get(
        "/api/v1/notifications",
        headers={"Authorization": f"Bearer {_token(user)}", "Accept-Language": "zh-hans"},
    ).json()
    assert answer["results"][0]["text"] == "你的订单「手冲咖啡豆」已发货。"


def _token(user):
    from shoploop.accounts import services as accounts

    return accounts.issue_api_token(user=user, name="t").raw


def test_api_unread_count_and_mark_read(api, user, other_user):
    note = shipped(user, key="a")
    shipped(user, key="b")
    assert api.get("/notifications/unread-count", user=user).json() == {"unread": 2}
    read = api.post(f"/notifications/{note.public_id}/read", user=user).json()
    assert read["read"] is True and read["id"] == note.public_id
    assert api.get("/notifications/unread-count", user=user).json() == {"unread": 1}
    other = api.post(f"/notifications/{note.public_id}/read", user=other_user)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "notification_not_found"
    assert api.post("/notifications/read-all", user=user).json() == {"marked": 1, "unread": 0}


def test_api_needs_sign_in(api):
    answer = api.get("/notifications/unread-count")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"


def test_api_preferences(api, user):
    listed = {row["kind"]: row for row in api.get("/notifications/preferences", user=user).json()}
    assert listed["group_failed"]["sms"] is True and listed["group_failed"]["sms_available"]
    changed = api.put(
        "/notifications/preferences",
        {"kind": "group_failed", "in_app": True, "sms": False},
        user=user,
    ).json()
    assert changed["sms"] is False
    refused = api.put(
        "/notifications/preferences", {"kind": "new_follower", "sms": True}, user=user
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "sms_not_available"
    unknown = api.put("/notifications/preferences", {"kind": "nope"}, user=user)
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "kind_unknown"


def test_api_operation_ids_read_notifications_then_function(client):
    document = client.get("/api/v1/openapi.json").json()
    ids = {
        operation["operationId"]
        for path, methods in document["paths"].items()
        if path.startswith("/api/v1/notifications")
        for operation in methods.values()
    }
    assert ids == {
        "notifications_list_notifications",
        "notifications_unread_count",
        "notifications_mark_read",
        "notifications_mark_all_read",
        "notifications_list_preferences",
        "notifications_set_preference",
    }
