"""Many members send to one room at the same moment: every message gets its own number, the
numbers have no gaps, and the room's counter ends at the last one (PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection

from shoploop.chat import services
from shoploop.chat.models import Conversation, Message
from shoploop.communities import services as communities

SENDERS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_are_numbered_without_gaps_or_repeats(owner, community, seasoned):
    members = []
    for n in range(SENDERS):
        person = seasoned(f"成员{n}")
        communities.join_community(actor=person, community=community)
        members.append(person)
    room = services.open_room(actor=owner, community=community)
    barrier = threading.Barrier(SENDERS)
    errors = []

    def send(person):
        try:
            barrier.wait()
            services.send_message(actor=person, conversation=room, text=f"来自{person}")
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(person,)) for person in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = sorted(Message.objects.filter(conversation=room).values_list("seq", flat=True))
    assert seqs == list(range(1, SENDERS + 1))
    assert Conversation.objects.get(pk=room.pk).last_seq == SENDERS
