"""The demo world talks: buyers ask shops before buying and shops answer; rooms are busy."""

import pytest
from django.core.management import call_command

from shoploop.chat.models import Conversation, Message
from shoploop.simulation.engine import plan_world, play_world
from shoploop.simulation.parameters import WorldParameters


@pytest.mark.django_db(transaction=True)
def test_the_simulated_world_has_conversations():
    try:
        world, activities = plan_world(WorldParameters(users=60, days=6, seed=11))
        play_world(world, activities)
        questions = Message.objects.filter(conversation__kind="shop", sent_for_shop=False)
        answers = Message.objects.filter(conversation__kind="shop", sent_for_shop=True)
        assert questions.count() == world.outcomes["chat.question"] > 0
        assert answers.count() == world.outcomes["chat.answer"] > 0
        assert (
            Message.objects.filter(conversation__kind="room").count()
            == (world.outcomes["chat.room_message"])
            > 0
        )
        shop_chat = Conversation.objects.filter(kind="shop").first()
        assert shop_chat.topic_kind == "product" and shop_chat.topic_title
        # Messages are stamped with the simulated moment, inside the simulated days.
        first = Message.objects.order_by("created_at").first().created_at
        assert world.start <= first <= world.day_end(world.params.days - 1)
    finally:
        call_command("flush", interactive=False, verbosity=0)
