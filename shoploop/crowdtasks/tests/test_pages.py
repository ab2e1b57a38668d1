"""Pages: the shop's tasks, a task with its entry form, my entries, and the merchant console."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shoploop.core import clock
from shoploop.crowdtasks import services
from shoploop.crowdtasks.models import Entry, Task, Winner
from shoploop.ledger.verification import verify_ledger

pytestmark = pytest.mark.django_db


def _photo() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(buffer, format="PNG")
    return SimpleUploadedFile("cup.png", buffer.getvalue(), content_type="image/png")


def test_a_member_reads_and_enters_a_task_with_a_photo(client, money_task, entrants, funded):
    shop_page = client.get(f"/crowdtasks/shop/{funded.public_id}/")
    assert shop_page.status_code == 200 and money_task.title in shop_page.content.decode()
    anonymous = client.get(f"/crowdtasks/{money_task.public_id}/")
    assert "Sign in to enter" in anonymous.content.decode()
    client.force_login(entrants[0])
    page = client.get(f"/crowdtasks/{money_task.public_id}/")
    assert "Submit my entry" in page.content.decode()
    posted = client.post(
        f"/crowdtasks/{money_task.public_id}/enter/", {"text": "青瓷", "photo": _photo()}
    )
    assert posted.status_code == 302
    entry = Entry.objects.get()
    assert entry.photo and entry.text == "青瓷"
    again = client.post(f"/crowdtasks/{money_task.public_id}/enter/", {"text": "又一个"})
    assert again.status_code == 422
    assert "You have already entered this task." in again.content.decode()
    mine = client.get("/crowdtasks/mine/")
    assert "Waiting for the shop" in mine.content.decode()


def test_a_bad_photo_is_refused_and_stores_nothing(client, money_task, entrants):
    client.force_login(entrants[0])
    fake = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    response = client.post(
        f"/crowdtasks/{money_task.public_id}/enter/", {"text": "名字", "photo": fake}
    )
    assert response.status_code == 422
    assert not Entry.objects.exists()
    money_task.refresh_from_db()
    assert money_task.entries_count == 0


def test_the_merchant_publishes_picks_and_the_winner_sees_it(client, funded, entrants):
    client.force_login(funded.owner)
    deadline = (clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "kind": "label",
        "title": "设计标签",
        "brief": "给白茶设计一个标签。",
        "deadline": deadline,
        "winners_count": "1",
        "audience": "everyone",
        "reward_kind": "money",
        "reward": "5.50",
    }
    created = client.post("/console/crowdtasks/new/", form)
    assert created.status_code == 302, created.content.decode()
    task = Task.objects.get()
    assert task.reserved_fen == 550
    entry = services.submit_entry(task=task, author=entrants[0], text="山与水")
    console = client.get(f"/console/crowdtasks/{task.public_id}/")
    assert "Pick as a winner" in console.content.decode()
    picked = client.post(f"/console/crowdtasks/{task.public_id}/pick/{entry.public_id}/")
    assert picked.status_code == 302 and Winner.objects.count() == 1
    client.post(f"/console/crowdtasks/{task.public_id}/pick/{entry.public_id}/")
    assert Winner.objects.count() == 1
    assert "设计标签" in client.get("/console/crowdtasks/").content.decode()
    client.force_login(entrants[0])
    assert "¥5.50" in client.get("/crowdtasks/mine/").content.decode()
    assert "You won!" in client.get(f"/crowdtasks/{task.public_id}/").content.decode()
    assert verify_ledger().ok


def test_the_console_shows_insufficient_balance_and_stores_nothing(client, shop):
    client.force_login(shop.owner)
    form = {
        "kind": "name",
        "title": "起名",
        "brief": "起个名字",
        "deadline": (clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "winners_count": "1",
        "audience": "everyone",
        "reward_kind": "money",
        "reward": "10",
    }
    response = client.post("/console/crowdtasks/new/", form)
    assert response.status_code == 200
    assert "larger than your shop&#x27;s available balance" in response.content.decode()
    assert not Task.objects.exists()


def test_another_merchant_gets_403_and_strangers_404(client, money_task, other_shop, entrants):
    client.force_login(other_shop.owner)
    assert client.get(f"/console/crowdtasks/{money_task.public_id}/").status_code == 403
    entry = services.submit_entry(task=money_task, author=entrants[0], text="名字")
    pick = client.post(f"/console/crowdtasks/{money_task.public_id}/pick/{entry.public_id}/")
    assert pick.status_code == 403 and not Winner.objects.exists()
    assert client.get("/crowdtasks/nope/").status_code == 404
