"""GET /api/v1/feed: shape, paging, orders, declared errors."""

import pytest

from shoploop.feed.tests.test_read import _post

pytestmark = pytest.mark.django_db


def test_the_feed_answers_items_with_reasons_and_a_next_cursor(api, community, member, owner):
    posts = [_post(community, member, minutes, [owner]) for minutes in range(3)]
    first = api.get("/feed", user=owner, order="latest", limit=2)
    assert first.status_code == 200
    body = first.json()
    assert body["order"] == "latest" and len(body["items"]) == 2
    item = body["items"][0]
    assert item["kind"] == "post" and item["id"] == posts[0].public_id
    # No language asked for: the site's default, Chinese.
    assert item["reason"] == {"code": "community", "text": "发布于 茶友会", "count": 1}
    assert item["url"] == f"/posts/{posts[0].public_id}/"
    assert item["person"]["name"] == str(member) and item["community"]["name"] == "茶友会"
    assert set(item) >= {"title", "summary", "image_url", "stars", "at", "shop"}
    rest = api.get("/feed", user=owner, order="latest", limit=2, cursor=body["next_cursor"])
    assert [i["id"] for i in rest.json()["items"]] == [posts[2].public_id]
    assert rest.json()["next_cursor"] is None


def test_reasons_follow_the_requested_language(client, community, member, owner, make_token):
    _post(community, member, 1, [owner])
    answer = client.get(
        "/api/v1/feed",
        headers={"Authorization": f"Bearer {make_token(owner)}", "Accept-Language": "en"},
    )
    assert answer.status_code == 200
    assert answer.json()["items"][0]["reason"] == {
        "code": "community",
        "text": "Posted in 茶友会",
        "count": 1,
    }


def test_ranked_is_the_default(api, owner):
    body = api.get("/feed", user=owner).json()
    assert body == {"order": "ranked", "items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "params, status, code",
    [
        ({"cursor": "not-a-cursor"}, 400, "bad_cursor"),
        ({"order": "best"}, 422, "invalid"),
        ({"limit": 0}, 422, "invalid"),
        ({"limit": 500}, 422, "invalid"),
    ],
)
def test_bad_input_is_a_declared_error(api, owner, params, status, code):
    answer = api.get("/feed", user=owner, **params)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code


def test_a_cursor_of_the_other_order_is_refused(api, community, member, owner):
    for minutes in range(3):
        _post(community, member, minutes, [owner])
    ranked = api.get("/feed", user=owner, limit=1).json()["next_cursor"]
    answer = api.get("/feed", user=owner, order="latest", cursor=ranked)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_cursor"


def test_signed_out_is_401(api):
    assert api.get("/feed").status_code == 401


def test_the_operation_is_documented(client):
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/feed"]["get"]
    assert operation["operationId"] == "feed_list_feed_items"
    assert {"400", "401", "422"} <= set(operation["responses"])
    assert {"FeedPageOut", "FeedItemOut", "FeedReasonOut"} <= set(document["components"]["schemas"])
