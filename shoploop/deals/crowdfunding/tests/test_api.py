"""The crowdfunding API through the HTTP client."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.deals.crowdfunding.models import Pledge, Project
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.tests.conftest import address_id_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

BASE = "/deals/crowdfunding"


def _body(**change):
    body = {
        "title": "折叠露营椅",
        "story": "<b>轻</b>",
        "target_kind": "fen",
        "target_value": 50000,
        "deadline": (clock.now() + timedelta(days=10)).isoformat(),
        "tiers": [
            {
                "title": "单椅",
                "price_fen": 12900,
                "limit": 1,
                "estimated_delivery": (clock.now() + timedelta(days=60)).date().isoformat(),
            }
        ],
    }
    body.update(change)
    return body


def test_create_list_detail(api, shop, buyer):
    created = api.post(f"{BASE}/projects", _body(), user=shop.owner)
    assert created.status_code == 201, created.content
    project = created.json()
    assert project["state"] == "live"
    assert project["story"] == "<b>轻</b>"
    assert project["tiers"][0]["remaining"] == 1
    listed = api.get(f"{BASE}/projects")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["results"]] == [project["id"]]
    assert api.get(f"{BASE}/projects/{project['id']}").json()["title"] == "折叠露营椅"
    tiers = api.get(f"{BASE}/projects/{project['id']}/tiers").json()
    assert tiers[0]["price_fen"] == 12900
    mine = api.get(f"{BASE}/projects/mine", user=shop.owner).json()["results"]
    assert len(mine) == 1
    assert api.get(f"{BASE}/projects/mine", user=buyer).status_code == 403


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"target_value": 0}, 422, "target_value"),
        ({"deadline": "2001-01-01T00:00:00Z"}, 422, "deadline"),
        ({"tiers": []}, 422, "tiers"),
    ],
)
def test_create_bad_input(api, shop, change, status, field):
    response = api.post(f"{BASE}/projects", _body(**change), user=shop.owner)
    assert response.status_code == status
    assert field in response.json()["error"]["fields"]
    assert not Project.objects.exists()


def test_create_needs_a_shop_and_sign_in(api, buyer):
    assert api.post(f"{BASE}/projects", _body(), user=buyer).status_code == 403
    assert api.post(f"{BASE}/projects", _body()).status_code == 401


def test_back_pay_cancel_and_my_pledges(api, shop, buyer, make_user, pay, committed):
    project = api.post(f"{BASE}/projects", _body(), user=shop.owner).json()
    tier_id = project["tiers"][0]["id"]
    backed = api.post(
        f"{BASE}/tiers/{tier_id}/back", {"address_id": address_id_for(buyer)}, user=buyer
    )
    assert backed.status_code == 201, backed.content
    pledge = backed.json()
    assert pledge["state"] == "pending_payment"
    assert pledge["amount_fen"] == 12900
    assert pledge["pay_url"]
    late = make_user()
    sold_out = api.post(
        f"{BASE}/tiers/{tier_id}/back", {"address_id": address_id_for(late)}, user=late
    )
    assert sold_out.status_code == 409
    assert sold_out.json()["error"]["code"] == "tier_sold_out"

    pay(Pledge.objects.get(public_id=pledge["id"]).order.checkout)
    mine = api.get(f"{BASE}/pledges/mine", user=buyer).json()["results"]
    assert [(item["id"], item["state"]) for item in mine] == [(pledge["id"], "active")]
    assert api.get(f"{BASE}/projects/{project['id']}").json()["backers"] == 1

    assert api.post(f"{BASE}/pledges/{pledge['id']}/cancel", user=make_user()).status_code == 403
    with committed():
        cancelled = api.post(f"{BASE}/pledges/{pledge['id']}/cancel", user=buyer)
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["refunded_fen"] == 12900
    again = api.post(f"{BASE}/pledges/{pledge['id']}/cancel", user=buyer)
    assert again.status_code == 409
    assert api.get(f"{BASE}/projects/{project['id']}").json()["backers"] == 0
    assert verify_ledger().ok


def test_updates(api, shop, other_merchant):
    project = api.post(f"{BASE}/projects", _body(), user=shop.owner).json()
    path = f"{BASE}/projects/{project['id']}/updates"
    assert api.post(path, {"body": "样品到了"}, user=shop.owner).status_code == 201
    assert api.post(path, {"body": "假的"}, user=other_merchant).status_code == 403
    assert [item["body"] for item in api.get(path).json()["results"]] == ["样品到了"]


def test_unknown_ids_are_404(api, buyer):
    assert api.get(f"{BASE}/projects/nope").status_code == 404
    assert (
        api.post(
            f"{BASE}/tiers/nope/back", {"address_id": address_id_for(buyer)}, user=buyer
        ).status_code
        == 404
    )
    assert api.post(f"{BASE}/pledges/nope/cancel", user=buyer).status_code == 404


def test_creator_cancels_the_project(api, shop, buyer):
    project = api.post(f"{BASE}/projects", _body(), user=shop.owner).json()
    assert api.post(f"{BASE}/projects/{project['id']}/cancel", user=buyer).status_code == 403
    done = api.post(f"{BASE}/projects/{project['id']}/cancel", user=shop.owner)
    assert done.status_code == 200
    assert done.json()["state"] == "cancelled"


def test_creator_pauses_and_resumes_new_pledges(api, shop, buyer, other_merchant):
    project = api.post(f"{BASE}/projects", _body(), user=shop.owner).json()
    path = f"{BASE}/projects/{project['id']}"
    assert project["paused"] is False
    assert api.post(f"{path}/pause", user=other_merchant).status_code == 403
    paused = api.post(f"{path}/pause", user=shop.owner)
    assert paused.status_code == 200 and paused.json()["paused"] is True
    tier_id = paused.json()["tiers"][0]["id"]
    refused = api.post(
        f"{BASE}/tiers/{tier_id}/back", {"address_id": address_id_for(buyer)}, user=buyer
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "paused"
    assert not Pledge.objects.exists()
    resumed = api.post(f"{path}/resume", user=shop.owner)
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    assert (
        api.post(
            f"{BASE}/tiers/{tier_id}/back", {"address_id": address_id_for(buyer)}, user=buyer
        ).status_code
        == 201
    )
