"""notify, preferences, rendering in the reader's language, activity and SMS."""

from datetime import timedelta

import pytest
from django.utils import translation

from shoploop.core import clock
from shoploop.core.errors import NotFound, ValidationFailed
from shoploop.notifications import kinds, selectors, services
from shoploop.notifications.models import Activity, Notification, SmsAllowance
from shoploop.notifications.presenters import present

pytestmark = pytest.mark.django_db

SHIPPED = {"order": "ord123456789", "title": "手冲咖啡豆"}


def shipped(user, key="k1", committed=None):
    if committed is None:
        return services.notify(recipient=user, kind="order_shipped", key=key, params=SHIPPED)
    with committed():
        return services.notify(recipient=user, kind="order_shipped", key=key, params=SHIPPED)


def test_the_same_key_makes_one_notification(user):
    first = shipped(user)
    assert first is not None
    assert shipped(user) is None
    assert Notification.objects.filter(recipient=user).count() == 1
    assert selectors.unread_count(user=user) == 1


def test_an_unknown_kind_is_a_programming_error(user):
    with pytest.raises(ValueError):
        services.notify(recipient=user, kind="nope", key="k", params={})


def test_every_kind_renders_in_both_languages_and_links(chinese_catalogue):
    samples = {
        "group_joined": {"group": "g", "product": "茶", "member_name": "小李"},
        "group_completed": {"group": "g", "product": "茶"},
        "group_failed": {"group": "g", "product": "茶", "refund_fen": 3900},
        "bargain_helped": {"bargain": "b", "product": "壶", "helper_name": "阿强", "cut_fen": 120},
        "bargain_floor_reached": {"bargain": "b", "product": "壶", "price_fen": 1000},
        "bargain_expiring": {"bargain": "b", "product": "壶"},
        "crowdfunding_succeeded": {"project": "p", "title": "灯"},
        "crowdfunding_failed": {"project": "p", "title": "灯"},
        "order_paid": {"order": "o", "title": "豆", "total_fen": 5900},
        "order_shipped": {"order": "o", "title": "豆"},
        "order_auto_received": {"order": "o", "title": "豆"},
        "order_refunded": {"order": "o", "title": "豆", "amount_fen": 5900},
        "after_sale_requested": {"order": "o", "title": "豆", "after_sale": "a"},
        "after_sale_accepted": {"order": "o", "title": "豆", "after_sale": "a"},
        "after_sale_rejected": {"order": "o", "title": "豆", "after_sale": "a"},
        "after_sale_escalated": {"order": "o", "title": "豆", "after_sale": "a"},
        "new_follower": {"user": "u", "name": "粉丝"},
        "chat_message": {"conversation": "c", "sender_name": "店主"},
        "order_pickup_ready": {"order": "o", "title": "豆", "point": "东门自提点"},
        "pickup_order_sent": {"point_id": "p", "point": "东门自提点", "buyer_name": "小红"},
        "idea_shipped": {"idea": "i", "title": "小罐装", "product": "小罐绿茶"},
        "idea_answered": {
            "idea": "i",
            "title": "小罐装",
            "shop": "阿花的小店",
            "status": "planned",
        },
        "wanted_presale_started": {"project": "p", "title": "冷泡茶"},
        "crowdtask_won": {"task": "t", "title": "起名", "shop": "茶铺", "amount_fen": 1000},
        "crowdtask_ended": {"task": "t", "title": "起名"},
    }
    assert set(samples) == set(kinds.KINDS)
    for kind, params in samples.items():
        with translation.override("en"):
            english = kinds.render(kind, params)
        with translation.override("zh-hans"):
            chinese = kinds.render(kind, params)
        assert english and chinese and english != chinese, kind
        own_words = chinese
        for value in params.values():
            own_words = own_words.replace(str(value), "")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in own_words), kind
        assert kinds.link(kind, params).startswith("/"), kind


def test_switching_language_re_renders_a_stored_notification(user, chinese_catalogue):
    note = shipped(user)
    with translation.override("en"):
        assert present(note)["text"] == "Your order of 手冲咖啡豆 has shipped."
    with translation.override("zh-hans"):
        assert present(note)["text"] == "你的订单「手冲咖啡豆」已发货。"


def test_a_kind_turned_off_in_app_is_not_in_the_inbox(user):
    services.set_preference(user=user, kind="order_shipped", in_app=False, sms=False)
    assert shipped(user) is None
    services.set_preference(user=user, kind="order_shipped", in_app=False, sms=True)
    note = shipped(user, key="k2")
    assert note is not None and note.in_app is False
    assert selectors.unread_count(user=user) == 0
    assert list(selectors.inbox(user=user)) == []


def test_preferences_refuse_unknown_kinds_and_sms_where_not_offered(user):
    with pytest.raises(ValidationFailed) as unknown:
        services.set_preference(user=user, kind="nope", in_app=True, sms=False)
    assert unknown.value.code == "kind_unknown"
    with pytest.raises(ValidationFailed) as not_offered:
        services.set_preference(user=user, kind="new_follower", in_app=True, sms=True)
    assert not_offered.value.code == "sms_not_available"
    choices = {c.kind: c for c in services.preferences_of(user)}
    assert choices["order_shipped"].sms and choices["order_shipped"].sms_available
    assert not choices["new_follower"].sms_available


def test_mark_read_and_mark_all(user, other_user):
    first = shipped(user, key="a")
    shipped(user, key="b")
    services.mark_read(user=user, public_id=first.public_id)
    assert selectors.unread_count(user=user) == 1
    with pytest.raises(NotFound):
        services.mark_read(user=other_user, public_id=first.public_id)
    assert services.mark_all_read(user=user) == 1
    assert selectors.unread_count(user=user) == 0
    assert services.mark_all_read(user=user) == 0


# --- activity ----------------------------------------------------------------------------------


def test_activity_is_written_at_most_once_a_minute(user, django_assert_max_num_queries):
    now = clock.now()
    services.touch_activity(user=user, now=now)
    assert Activity.objects.get(user=user).last_seen_at == now
    with django_assert_max_num_queries(0):
        services.touch_activity(user=user, now=now + timedelta(seconds=30))
    assert not services.is_away(user, now=now + timedelta(minutes=5))
    assert services.is_away(user, now=now + services.away_after() + timedelta(seconds=1))


def test_someone_never_seen_is_away(user):
    assert services.is_away(user)


def test_a_signed_in_page_marks_the_person_present(client, user):
    client.force_login(user)
    assert services.is_away(user)
    client.get("/notifications/")
    assert not services.is_away(user)


# --- SMS ---------------------------------------------------------------------------------------


def test_an_important_kind_goes_by_sms_only_when_away(user, sms_sent, committed, english):
    # The SMS speaks the person's language, not the one active in the test's thread.
    user.locale = "en"
    user.save(update_fields=["locale"])
    services.touch_activity(user=user)
    assert shipped(user, key="here", committed=committed).sms == ""
    assert sms_sent == []
    Activity.objects.filter(user=user).update(last_seen_at=clock.now() - timedelta(hours=1))
    note = shipped(user, key="away", committed=committed)
    assert note.sms == Notification.Sms.QUEUED
    note.refresh_from_db()
    assert note.sms == Notification.Sms.SENT
    assert sms_sent == [
        {"phone": user.phone, "text": "[Shoploop] Your order of 手冲咖啡豆 has shipped."}
    ]


def test_the_sms_speaks_the_persons_language(make_user, sms_sent, committed, chinese_catalogue):
    person = make_user(locale="zh-hans")
    with translation.override("en"):
        shipped(person, committed=committed)
    assert sms_sent[0]["text"] == "【Shoploop】你的订单「手冲咖啡豆」已发货。"


def test_an_ordinary_kind_never_goes_by_sms(user, sms_sent, committed):
    with committed():
        services.notify(
            recipient=user, kind="new_follower", key="f", params={"user": "u", "name": "n"}
        )
    assert sms_sent == []


def test_sms_turned_off_is_not_sent(user, sms_sent, committed):
    services.set_preference(user=user, kind="order_shipped", in_app=True, sms=False)
    assert shipped(user, committed=committed).sms == ""
    assert sms_sent == []


def test_at_most_the_daily_cap(user, sms_sent, committed, settings):
    settings.NOTIFY_SMS_PER_DAY = 2
    states = [shipped(user, key=f"k{i}", committed=committed).sms for i in range(4)]
    assert states == ["queued", "queued", "capped", "capped"]
    assert len(sms_sent) == 2
    assert SmsAllowance.objects.get(user=user).sent == 2


def test_a_failed_send_gives_the_allowance_back(user, committed, settings):
    settings.SMS_PROVIDER = "shoploop.notifications.testing.FailingSMSProvider"
    settings.NOTIFY_SMS_PER_DAY = 1
    note = shipped(user, committed=committed)
    note.refresh_from_db()
    assert note.sms == Notification.Sms.FAILED
    assert SmsAllowance.objects.get(user=user).sent == 0


def test_a_template_provider_sends_the_kinds_template(user, committed, settings, sms_sent):
    settings.SMS_PROVIDER = "shoploop.notifications.testing.RecordingTemplateSMSProvider"
    settings.SMS_TEMPLATES = {**settings.SMS_TEMPLATES, "notify_order_refunded": "123456"}
    with committed():
        services.notify(
            recipient=user,
            kind="order_refunded",
            key="r",
            params={"order": "o", "title": "豆", "amount_fen": 5900},
        )
    assert sms_sent == [
        {"phone": user.phone, "kind": "notify_order_refunded", "params": ["¥59.00", "豆"]}
    ]


def test_a_template_provider_without_the_template_fails_cleanly(user, committed, settings):
    settings.SMS_PROVIDER = "shoploop.notifications.testing.RecordingTemplateSMSProvider"
    settings.SMS_TEMPLATES = {"sign_in_code": "1"}
    note = shipped(user, committed=committed)
    note.refresh_from_db()
    assert note.sms == Notification.Sms.FAILED


# --- one event, many people --------------------------------------------------------------------


def _notes(people, key="event-1"):
    return [services.Note(person, key, SHIPPED) for person in people]


def test_notify_all_makes_one_each_and_a_repeat_makes_none(make_user):
    people = [make_user() for _ in range(3)]
    made = services.notify_all(kind="order_shipped", notes=_notes(people))
    assert sorted(n.recipient_id for n in made) == sorted(p.pk for p in people)
    assert all(n.pk and Notification.objects.get(pk=n.pk).public_id == n.public_id for n in made)
    assert services.notify_all(kind="order_shipped", notes=_notes(people)) == []
    assert Notification.objects.filter(key="event-1").count() == 3


def test_notify_all_makes_only_the_missing_ones(make_user):
    first, second = make_user(), make_user()
    services.notify_all(kind="order_shipped", notes=_notes([first]))
    made = services.notify_all(kind="order_shipped", notes=_notes([first, second]))
    assert [n.recipient_id for n in made] == [second.pk]


def test_notify_all_respects_each_persons_choice_and_skips_the_inactive(make_user):
    quiet, banned, listening = make_user(), make_user(is_active=False), make_user()
    services.set_preference(user=quiet, kind="order_shipped", in_app=False, sms=False)
    made = services.notify_all(kind="order_shipped", notes=_notes([quiet, banned, listening]))
    assert [n.recipient_id for n in made] == [listening.pk]


def test_notify_all_texts_only_the_people_who_are_away(make_user, sms_sent, committed):
    here, away = make_user(), make_user()
    services.touch_activity(user=here)
    with committed():
        made = services.notify_all(kind="order_shipped", notes=_notes([here, away]))
    states = {n.recipient_id: n.sms for n in made}
    assert states == {here.pk: "", away.pk: Notification.Sms.QUEUED}
    assert [sent["phone"] for sent in sms_sent] == [away.phone]


def test_notify_all_pushes_everyone_live_in_one_trip_after_the_commit(
    make_user, committed, monkeypatch
):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from shoploop.notifications import live

    people = [make_user() for _ in range(3)]
    quiet = make_user()
    services.set_preference(user=quiet, kind="order_shipped", in_app=False, sms=True)
    layer = get_channel_layer()
    channels = {}
    for person in [*people, quiet]:
        channels[person.pk] = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(live.group_name(person.public_id), channels[person.pk])
    trips = []
    send_all = live._group_send_all

    async def counted(*args):
        trips.append(args)
        await send_all(*args)

    monkeypatch.setattr(live, "_group_send_all", counted)

    with committed():
        made = services.notify_all(kind="order_shipped", notes=_notes([*people, quiet]))
        assert trips == []  # nothing before the commit
    assert len(trips) == 1
    ids = {note.recipient_id: note.public_id for note in made}
    for person in people:
        message = async_to_sync(layer.receive)(channels[person.pk])
        assert message == {"type": "notification.created", "id": ids[person.pk]}
    assert len(made) == 4 and len(trips[0][1]) == 3  # the one who turned in-app off: no push


def test_notify_all_costs_the_same_statements_for_one_person_or_many(
    make_user, django_assert_num_queries
):
    alone, crowd = [make_user()], [make_user() for _ in range(6)]
    # The preference read, the INSERT and the read of the new rows' ids.
    with django_assert_num_queries(3):
        services.notify_all(kind="group_completed", notes=_notes(alone))
    with django_assert_num_queries(3):
        services.notify_all(kind="group_completed", notes=_notes(crowd))
