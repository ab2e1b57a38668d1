"""The ideas API: the same rules as the services, with 4xx error codes that change nothing."""

import pytest

from shoploop.ideas import services
from shoploop.ideas.models import Idea, IdeaVote, Want, WantedProduct

pytestmark = pytest.mark.django_db


def test_propose_vote_and_read_an_idea(api, member, fan, shop, community):
    created = api.post(
        "/ideas/ideas",
        {
            "shop_id": shop.public_id,
            "community_id": community.public_id,
            "title": "小罐装",
            "body": "50g",
        },
        user=member,
    )
    assert created.status_code == 201, created.json()
    idea_id = created.json()["id"]
    assert created.json()["kind"] == "new_product"
    assert created.json()["url"] == f"/ideas/{idea_id}/"
    voted = api.post(f"/ideas/ideas/{idea_id}/vote", user=fan)
    assert voted.status_code == 201
    assert voted.json() == {"idea_id": idea_id, "vote_count": 1, "voted": True}
    again = api.post(f"/ideas/ideas/{idea_id}/vote", user=fan)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_voted"
    assert IdeaVote.objects.count() == 1
    listed = api.get(f"/ideas/communities/{community.public_id}/ideas", sort="new")
    assert [item["id"] for item in listed.json()["items"]] == [idea_id]
    assert api.get(f"/ideas/shops/{shop.public_id}/ideas").json()["count"] == 1


def test_refusals_have_codes(api, idea, outsider, member, shop):
    assert api.post(f"/ideas/ideas/{idea.public_id}/vote").status_code == 401
    outsider_vote = api.post(f"/ideas/ideas/{idea.public_id}/vote", user=outsider)
    assert outsider_vote.status_code == 403
    assert outsider_vote.json()["error"]["code"] == "not_a_member"
    not_owner = api.post(
        f"/ideas/ideas/{idea.public_id}/status", {"status": "planned"}, user=member
    )
    assert not_owner.status_code == 403
    assert not_owner.json()["error"]["code"] == "not_shop_owner"
    missing = api.get("/ideas/ideas/nope")
    assert missing.status_code == 404
    as_outsider = api.post(
        "/ideas/ideas", {"shop_id": shop.public_id, "title": "t", "body": "b"}, user=outsider
    )
    assert as_outsider.json()["error"]["code"] == "not_a_follower"
    assert Idea.objects.count() == 1 and IdeaVote.objects.count() == 0


def test_the_merchant_answers_and_the_changelog_lists_it(api, idea, merchant, member, product):
    declined = api.post(
        f"/ideas/ideas/{idea.public_id}/status", {"status": "declined"}, user=merchant
    )
    assert declined.status_code == 422
    assert declined.json()["error"]["code"] == "reason_required"
    planned = api.post(
        f"/ideas/ideas/{idea.public_id}/status", {"status": "planned"}, user=merchant
    )
    assert planned.json()["status"] == "planned"
    back = api.post(
        f"/ideas/ideas/{idea.public_id}/status", {"status": "under_review"}, user=merchant
    )
    assert back.status_code == 409 and back.json()["error"]["code"] == "invalid_transition"
    shipped = api.post(
        f"/ideas/ideas/{idea.public_id}/status",
        {"status": "shipped", "product_id": product.public_id},
        user=merchant,
    )
    assert shipped.status_code == 200
    assert shipped.json()["shipped_product"] == {"id": product.public_id, "title": product.title}
    closed = api.post(f"/ideas/ideas/{idea.public_id}/vote", user=member)
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "idea_closed"
    history = api.get(f"/ideas/ideas/{idea.public_id}/history").json()
    assert [h["to_status"] for h in history] == ["planned", "shipped"]
    changelog = api.get(f"/ideas/shops/{idea.shop.public_id}/changelog").json()
    assert [item["id"] for item in changelog["items"]] == [idea.public_id]


def test_comments(api, idea, fan, merchant):
    assert (
        api.post(f"/ideas/ideas/{idea.public_id}/comments", {"body": "好"}, user=fan).status_code
        == 201
    )
    shop_answer = api.post(
        f"/ideas/ideas/{idea.public_id}/comments", {"body": "收到"}, user=merchant
    )
    assert shop_answer.json()["from_shop"] is True
    listed = api.get(f"/ideas/ideas/{idea.public_id}/comments").json()
    assert [c["body"] for c in listed["items"]] == ["好", "收到"]


def test_wants_and_presale(api, wanted, member, fan, merchant, shop):
    no_band = api.post(f"/ideas/wanted/{wanted.public_id}/wants", {}, user=fan)
    assert no_band.status_code == 422
    assert no_band.json()["error"]["code"] == "price_band_required"
    assert Want.objects.count() == 0
    assert (
        api.post(
            f"/ideas/wanted/{wanted.public_id}/wants", {"price_band": "100_200"}, user=fan
        ).status_code
        == 201
    )
    twice = api.post(f"/ideas/wanted/{wanted.public_id}/wants", {"price_band": "100_200"}, user=fan)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_wanted"
    assert api.get(f"/ideas/wanted/{wanted.public_id}/demand", user=member).status_code == 403
    demand = api.get(f"/ideas/wanted/{wanted.public_id}/demand", user=merchant).json()
    assert demand["want_count"] == 1
    assert demand["presale_draft"]["price_fen"] == 14900
    started = api.post(
        f"/ideas/wanted/{wanted.public_id}/presale", {"target_units": 5}, user=merchant
    )
    assert started.status_code == 201, started.json()
    assert started.json()["state"] == "presale" and started.json()["project_id"]
    wanted.refresh_from_db()
    assert wanted.project.target_value == 5
    again = api.post(f"/ideas/wanted/{wanted.public_id}/presale", {}, user=merchant)
    assert again.status_code == 409
    listed = api.get(f"/ideas/shops/{shop.public_id}/wanted").json()
    assert listed["items"][0]["id"] == wanted.public_id
    bands = api.get("/ideas/price-bands").json()
    assert [b["code"] for b in bands] == ["under_50", "50_100", "100_200", "200_500", "500_up"]


def test_proposing_a_wanted_product(api, fan, shop, outsider):
    made = api.post(f"/ideas/shops/{shop.public_id}/wanted", {"title": "冷泡茶"}, user=fan)
    assert made.status_code == 201
    refused = api.post(f"/ideas/shops/{shop.public_id}/wanted", {"title": "x"}, user=outsider)
    assert refused.status_code == 403
    assert WantedProduct.objects.count() == 1


def test_a_bad_body_is_a_422(api, member, idea):
    bad = api.post(f"/ideas/ideas/{idea.public_id}/status", [], user=member)
    assert bad.status_code == 422
    assert services.TRANSITIONS  # the module imports


def test_the_author_adds_a_photo(client, make_token, idea, member, outsider):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from shoploop.catalog.tests.conftest import image_bytes

    def upload(user):
        photo = SimpleUploadedFile("p.png", image_bytes("PNG", (2000, 1000)), "image/png")
        return client.post(
            f"/api/v1/ideas/ideas/{idea.public_id}/photos",
            {"photo": photo},
            headers={"Authorization": f"Bearer {make_token(user)}"},
        )

    added = upload(member)
    assert added.status_code == 201 and added.json()["width"] == 1600
    refused = upload(outsider)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_author"
    assert idea.photos.count() == 1
