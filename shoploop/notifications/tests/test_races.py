"""Races on PostgreSQL: the daily SMS cap and one notification per event hold under threads."""

import pytest

from shoploop.core import clock
from shoploop.core.testing import race
from shoploop.notifications import services
from shoploop.notifications.models import Notification, SmsAllowance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PARAMS = {"order": "ord123456789", "title": "手冲咖啡豆"}


def test_parallel_important_notifications_send_at_most_the_cap(user, sms_sent, settings):
    settings.NOTIFY_SMS_PER_DAY = 1
    # Today's row exists already (an earlier SMS day-start), so nothing but the cap's own
    # conditional UPDATE can serialise the threads.
    SmsAllowance.objects.create(user=user, day=services.sms_day(clock.now()), sent=0)
    outcomes = race(
        lambda i: services.notify(
            recipient=user, kind="order_shipped", key=f"shipped:{i}", params=PARAMS
        ),
        12,
    )
    made = [o for o in outcomes if isinstance(o, Notification)]
    assert len(made) == 12, outcomes
    states = sorted(Notification.objects.filter(recipient=user).values_list("sms", flat=True))
    assert states.count(Notification.Sms.SENT) == 1, states
    assert states.count(Notification.Sms.CAPPED) == 11, states
    assert SmsAllowance.objects.get(user=user).sent == 1
    assert len(sms_sent) == 1


def test_the_same_event_delivered_in_parallel_makes_one_notification(user, sms_sent):
    outcomes = race(
        lambda i: services.notify(
            recipient=user, kind="order_shipped", key="shipped:same", params=PARAMS
        ),
        10,
    )
    made = [o for o in outcomes if isinstance(o, Notification)]
    assert len(made) == 1, outcomes
    assert [o for o in outcomes if o is not None and not isinstance(o, Notification)] == []
    assert Notification.objects.filter(recipient=user).count() == 1
    assert len(sms_sent) == 1
