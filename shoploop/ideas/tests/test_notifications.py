"""Events become notifications: voters hear that an idea shipped, the author hears each answer,
wanters get the link to the pre-sale."""

import pytest
from django.urls import reverse

from shoploop.ideas import selectors, services
from shoploop.notifications import kinds
from shoploop.notifications.models import Notification

pytestmark = pytest.mark.django_db


def notes(user, kind):
    return list(Notification.objects.filter(recipient=user, kind=kind))


def test_voters_hear_that_the_idea_shipped(
    idea, member, fan, merchant, product, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.vote(actor=member, idea=idea)
        services.vote(actor=fan, idea=idea)
        services.change_status(actor=merchant, idea=idea, status="shipped", product=product)
    for voter in (member, fan):
        (note,) = notes(voter, "idea_shipped")
        assert kinds.link(note.kind, note.params) == reverse("ideas:idea", args=[idea.public_id])
        assert product.title in kinds.render(note.kind, note.params)
    (answered,) = notes(member, "idea_answered")
    assert "Shipped" in kinds.render(answered.kind, answered.params)
    assert notes(merchant, "idea_shipped") == []


def test_wanters_get_the_presale_link(
    wanted, member, fan, merchant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.add_want(actor=member, wanted_product=wanted, price_band="50_100")
        services.add_want(actor=fan, wanted_product=wanted, price_band="under_50")
        wanted.refresh_from_db()
        draft = selectors.presale_draft(wanted_product=wanted)
        services.start_presale(
            actor=merchant,
            wanted_product=wanted,
            title=draft.title,
            story=draft.story,
            price_fen=draft.price_fen,
            target_units=draft.target_units,
            deadline=draft.deadline,
            estimated_delivery=draft.estimated_delivery,
        )
    link = reverse("deals_crowdfunding:project", args=[wanted.project.public_id])
    for wanter in (member, fan):
        (note,) = notes(wanter, "wanted_presale_started")
        assert kinds.link(note.kind, note.params) == link
        assert "冷泡茶" in kinds.render(note.kind, note.params)


def test_a_repeated_delivery_makes_no_second_notification(
    idea, member, merchant, product, django_capture_on_commit_callbacks
):
    from shoploop.core.events import recorded_events
    from shoploop.notifications import handlers

    with django_capture_on_commit_callbacks(execute=True), recorded_events() as events:
        services.vote(actor=member, idea=idea)
        services.change_status(actor=merchant, idea=idea, status="shipped", product=product)
    (shipped,) = [event for event in events if event.name == "ideas.idea.shipped"]
    handlers.idea_shipped(shipped)
    assert len(notes(member, "idea_shipped")) == 1
