"""The JSON API: the whole journey through HTTP, and clear 4xx codes that change nothing."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.crowdtasks.models import Entry, Task, Winner
from shoploop.crowdtasks.tests.conftest import FUNDED_FEN
from shoploop.ledger.models import Transfer
from shoploop.ledger.selectors import commission_balance_fen
from shoploop.ledger.verification import verify_ledger

pytestmark = pytest.mark.django_db


def _body(**overrides):
    body = {
        "kind": "photo",
        "title": "拍一张新杯子",
        "brief": "用自然光拍。",
        "deadline": (clock.now() + timedelta(days=2)).isoformat(),
        "winners_count": 1,
        "reward_kind": "money",
        "reward_fen": 800,
    }
    body.update(overrides)
    return body


def _error(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]["code"]


def test_publish_enter_pick_through_the_api(api, funded, entrants):
    created = api.post("/crowdtasks/console", _body(), user=funded.owner)
    assert created.status_code == 201, created.content
    task = created.json()
    assert (task["reserved_fen"], task["state"]) == (800, "open")
    listed = api.get(f"/crowdtasks/shops/{funded.public_id}")
    assert [t["id"] for t in listed.json()] == [task["id"]]
    entry = api.post(f"/crowdtasks/{task['id']}/entries", {"text": "窗边"}, user=entrants[0])
    assert entry.status_code == 201 and entry.json()["won"] is False
    entries = api.get(f"/crowdtasks/console/{task['id']}/entries", user=funded.owner).json()
    assert [e["id"] for e in entries] == [entry.json()["id"]]
    path = f"/crowdtasks/console/{task['id']}/winners"
    picked = api.post(path, {"entry": entry.json()["id"]}, user=funded.owner)
    retried = api.post(path, {"entry": entry.json()["id"]}, user=funded.owner)
    assert picked.status_code == retried.status_code == 201
    assert picked.json()["id"] == retried.json()["id"] and picked.json()["amount_fen"] == 800
    assert commission_balance_fen(user=entrants[0]) == 800
    mine = api.get("/crowdtasks/mine/entries", user=entrants[0]).json()
    assert mine["results"][0]["won"] is True
    assert api.get(f"/crowdtasks/{task['id']}").json()["state"] == "closed"
    assert len(api.get(f"/crowdtasks/{task['id']}/winners").json()) == 1
    assert verify_ledger().ok


def test_errors_have_codes_and_change_nothing(api, funded, entrants, make_user, shop):
    before = Transfer.objects.count()
    too_much = api.post("/crowdtasks/console", _body(reward_fen=FUNDED_FEN + 1), user=funded.owner)
    assert _error(too_much, 409) == "insufficient_balance"
    assert _error(api.post("/crowdtasks/console", _body(reward_fen=8.5), user=funded.owner), 422)
    assert _error(api.post("/crowdtasks/console", _body(), user=entrants[0]), 404) == "no_shop"
    assert _error(api.post("/crowdtasks/console", _body()), 401) == "not_authenticated"
    assert not Task.objects.exists() and Transfer.objects.count() == before

    task = api.post("/crowdtasks/console", _body(winners_count=2), user=funded.owner).json()
    api.post(f"/crowdtasks/{task['id']}/entries", {"text": "一"}, user=entrants[0])
    again = api.post(f"/crowdtasks/{task['id']}/entries", {"text": "二"}, user=entrants[0])
    assert _error(again, 409) == "already_entered"
    entry = Entry.objects.get()
    path = f"/crowdtasks/console/{task['id']}/winners"
    assert _error(api.post(path, {"entry": entry.public_id}, user=entrants[1]), 403) == (
        "not_shop_owner"
    )
    assert _error(api.post(path, {"entry": "nope"}, user=funded.owner), 404) == "entry_not_found"
    assert _error(api.get(f"/crowdtasks/console/{task['id']}", user=entrants[1]), 403) == (
        "not_shop_owner"
    )
    cancel = api.post(f"/crowdtasks/console/{task['id']}/cancel", user=funded.owner)
    assert _error(cancel, 409) == "has_entries"
    with clock.frozen_at(clock.now() + timedelta(days=3)):
        late = api.post(path, {"entry": entry.public_id}, user=funded.owner)
        assert _error(late, 409) == "deadline_passed"
        late_entry = api.post(f"/crowdtasks/{task['id']}/entries", {"text": "三"}, user=entrants[1])
        assert _error(late_entry, 409) == "deadline_passed"
    assert not Winner.objects.exists() and Entry.objects.count() == 1
    assert _error(api.get("/crowdtasks/nope"), 404) == "task_not_found"
    assert verify_ledger().ok


def test_cancel_through_the_api_refunds(api, funded):
    task = api.post("/crowdtasks/console", _body(), user=funded.owner).json()
    cancelled = api.post(f"/crowdtasks/console/{task['id']}/cancel", user=funded.owner)
    assert cancelled.status_code == 200
    assert (cancelled.json()["state"], cancelled.json()["refunded_fen"]) == ("cancelled", 800)
    assert verify_ledger().ok
