"""The content API: shapes, public ids, cursor pages, error codes; bad input stores nothing."""

import pytest

from shoploop.content import services
from shoploop.content.models import Comment, Post, PostLike, Review, ReviewPhoto
from shoploop.content.tests.conftest import image_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_post_comment_like_through_the_api(api, member, owner, community):
    made = api.post(
        f"/content/communities/{community.public_id}/posts",
        {"body": "**hi** - [x](https://a.example)"},
        user=member,
    )
    assert made.status_code == 201, made.content
    post = made.json()
    assert post["author"]["id"] == member.public_id
    assert "<strong>hi</strong>" in post["body_html"]
    listed = api.get(f"/content/communities/{community.public_id}/posts")
    assert listed.status_code == 200
    body = listed.json()
    assert [p["id"] for p in body["results"]] == [post["id"]] and "next" in body
    comment = api.post(f"/content/posts/{post['id']}/comments", {"body": "好"}, user=owner)
    assert comment.status_code == 201
    reply = api.post(
        f"/content/posts/{post['id']}/comments",
        {"body": "谢", "parent_id": comment.json()["id"]},
        user=member,
    )
    assert reply.json()["parent_id"] == comment.json()["id"]
    liked = api.post(f"/content/posts/{post['id']}/like", user=owner)
    assert liked.status_code == 201 and liked.json()["like_count"] == 1
    again = api.post(f"/content/posts/{post['id']}/like", user=owner)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_liked"
    assert PostLike.objects.count() == 1


def test_photo_upload_is_checked(client, make_token, member, community):
    post = services.create_post(actor=member, community=community, body="x")
    headers = {"Authorization": f"Bearer {make_token(member)}"}
    from django.core.files.uploadedfile import SimpleUploadedFile

    ok = client.post(
        f"/api/v1/content/posts/{post.public_id}/photos",
        {"photo": SimpleUploadedFile("a.png", image_bytes("PNG", (50, 40)), "image/png")},
        headers=headers,
    )
    assert ok.status_code == 201 and ok.json()["width"] == 50
    bad = client.post(
        f"/api/v1/content/posts/{post.public_id}/photos",
        {"photo": SimpleUploadedFile("a.png", b"GIF89a nope", "image/png")},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "photos_not_image"
    assert post.photos.count() == 1


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("outsider", {"body": "hi"}, 403, "not_a_member"),
        ("member", {"body": "<script>alert(1)</script>"}, 422, "html_not_allowed"),
        ("member", {"body": ""}, 422, "empty_post"),
        ("member", {"body": "x", "card_kind": "product", "card_id": "zzz"}, 422, "card_not_found"),
    ],
)
def test_bad_posts_are_clear_errors(api, request, community, who, body, status, code):
    answer = api.post(
        f"/content/communities/{community.public_id}/posts", body, user=request.getfixturevalue(who)
    )
    assert answer.status_code == status, answer.content
    assert answer.json()["error"]["code"] == code
    assert not Post.objects.exists()


def test_reply_to_a_deleted_comment_is_409(api, member, owner, community):
    post = services.create_post(actor=member, community=community, body="x")
    comment = services.add_comment(actor=owner, post=post, body="a")
    services.delete_comment(actor=owner, comment=comment)
    answer = api.post(
        f"/content/posts/{post.public_id}/comments",
        {"body": "b", "parent_id": comment.public_id},
        user=member,
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "comment_deleted"
    assert Comment.objects.count() == 1


def test_members_only_posts_through_the_api(api, member, outsider, private_community):
    post = services.create_post(actor=member, community=private_community, body="内部")
    assert api.get(f"/content/posts/{post.public_id}", user=member).status_code == 200
    assert api.get(f"/content/posts/{post.public_id}", user=outsider).status_code == 403
    listed = api.get(f"/content/communities/{private_community.public_id}/posts")
    assert listed.status_code == 403


def test_review_through_the_api(api, buyer, merchant, make_user, received_line):
    path = "/content/reviews"
    stranger = api.post(
        path, {"order_line_id": received_line.public_id, "stars": 5}, user=make_user()
    )
    assert stranger.status_code == 403
    assert stranger.json()["error"]["code"] == "not_your_order_line"
    bad = api.post(path, {"order_line_id": received_line.public_id, "stars": 9}, user=buyer)
    assert bad.status_code == 422
    awaiting = api.get("/content/reviews/awaiting", user=buyer).json()["results"]
    assert [line["order_line_id"] for line in awaiting] == [received_line.public_id]
    made = api.post(
        path, {"order_line_id": received_line.public_id, "stars": 4, "body": "好"}, user=buyer
    )
    assert made.status_code == 201
    review = made.json()
    assert review["author"]["id"] == buyer.public_id and review["refunded"] is False
    second = api.post(path, {"order_line_id": received_line.public_id, "stars": 1}, user=buyer)
    assert second.status_code == 409 and second.json()["error"]["code"] == "already_reviewed"
    assert Review.objects.count() == 1
    reply = api.post(f"/content/reviews/{review['id']}/reply", {"body": "谢谢"}, user=merchant)
    assert reply.json()["reply_body"] == "谢谢"
    product_id = received_line.product_public_id
    rating = api.get(f"/content/products/{product_id}/rating").json()
    assert rating == {
        "average": 4.0,
        "count": 1,
        "distribution": {"5": 0, "4": 1, "3": 0, "2": 0, "1": 0},
    }
    listed = api.get(f"/content/products/{product_id}/reviews").json()
    assert [r["id"] for r in listed["results"]] == [review["id"]]
    assert not ReviewPhoto.objects.exists()


def test_reports_queue_through_the_api(api, member, owner, outsider, community):
    post = services.create_post(actor=member, community=community, body="x")
    made = api.post(
        "/content/reports", {"post_id": post.public_id, "reason": "广告"}, user=outsider
    )
    assert made.status_code == 201
    queue = api.get("/content/reports", user=owner, community_id=community.public_id)
    assert [r["id"] for r in queue.json()["results"]] == [made.json()["id"]]
    assert (
        api.get("/content/reports", user=member, community_id=community.public_id).status_code
        == 403
    )
    handled = api.post(
        f"/content/reports/{made.json()['id']}/handle", {"action": "remove"}, user=owner
    )
    assert handled.json()["state"] == "acted"


def test_operation_ids_and_declared_errors(client):
    document = client.get("/api/v1/openapi.json").json()
    ops = [
        op
        for path, methods in document["paths"].items()
        if path.startswith("/api/v1/content/")
        for op in methods.values()
    ]
    assert ops and all(op["operationId"].startswith("content_") for op in ops)
    assert all("422" in op["responses"] and "409" in op["responses"] for op in ops)
    create = document["paths"]["/api/v1/content/communities/{community_id}/posts"]["post"]
    assert create["responses"]["429"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }
