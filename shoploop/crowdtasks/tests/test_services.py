"""Publishing, entering, picking winners, cancelling and the deadline: rules and bad input."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.errors import DomainError, NotAuthenticated
from shoploop.coupons import services as coupons
from shoploop.coupons.models import CouponClaim
from shoploop.crowdtasks import services
from shoploop.crowdtasks.models import Entry, Task, Winner
from shoploop.crowdtasks.tests.conftest import FUNDED_FEN
from shoploop.ledger.models import Account, Transfer
from shoploop.ledger.selectors import commission_balance_fen
from shoploop.ledger.verification import verify_ledger

pytestmark = pytest.mark.django_db


def _available(shop) -> int:
    account = Account.objects.get(code=f"merchant_available:shop:{shop.public_id}")
    return account.credits_posted - account.debits_posted - account.debits_pending


def _code(call) -> str:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


def _coupon(shop, **overrides):
    fields = {
        "actor": shop.owner,
        "shop": shop,
        "name": "新茶券",
        "kind": "fixed",
        "amount_off_fen": 500,
        "starts_at": clock.now() - timedelta(hours=1),
        "ends_at": clock.now() + timedelta(days=30),
        "total_quantity": 5,
    }
    fields.update(overrides)
    return coupons.create_coupon(**fields)


# --- publishing --------------------------------------------------------------------------------


def test_a_money_task_reserves_its_whole_reward(money_task, funded):
    assert money_task.state == Task.State.OPEN
    assert money_task.reserved_fen == 2000
    assert _available(funded) == FUNDED_FEN - 2000
    assert (
        Account.objects.get(code=f"task_rewards:crowdtask:{money_task.public_id}").credit_balance
        == 2000
    )
    assert verify_ledger().ok


def test_a_reward_larger_than_the_balance_is_refused_and_changes_nothing(funded, post_task):
    before = Transfer.objects.count()
    code = _code(lambda: post_task(funded, reward_fen=FUNDED_FEN, winners_count=2))
    assert code == "insufficient_balance"
    assert not Task.objects.exists()
    assert Transfer.objects.count() == before
    assert _available(funded) == FUNDED_FEN


def test_a_shop_without_money_cannot_post_a_money_task(shop, post_task):
    assert _code(lambda: post_task(shop)) == "insufficient_balance"
    assert not Task.objects.exists()


def test_only_the_shop_owner_posts(funded, post_task, make_user):
    stranger = make_user()
    assert _code(lambda: post_task(funded, actor=stranger)) == "not_shop_owner"
    with pytest.raises(NotAuthenticated):
        post_task(funded, actor=None)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"kind": "sing"}, "invalid_kind"),
        ({"title": "  "}, "invalid"),
        ({"brief": "x" * 2001}, "invalid"),
        ({"winners_count": 0}, "invalid_winners_count"),
        ({"winners_count": 21}, "invalid_winners_count"),
        ({"winners_count": True}, "invalid_winners_count"),
        ({"reward_kind": "hugs"}, "invalid_reward_kind"),
        ({"reward_fen": 0}, "invalid"),
        ({"reward_fen": 12.5}, "invalid"),
        ({"reward_fen": None}, "invalid"),
        ({"audience": "vips"}, "invalid_audience"),
        ({"deadline": "tomorrow"}, "invalid_deadline"),
        ({"deadline": "past"}, "invalid_deadline"),
        ({"deadline": "far"}, "invalid_deadline"),
        ({"reward_kind": "coupon"}, "coupon_not_found"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(funded, post_task, overrides, code):
    moments = {"past": clock.now() - timedelta(minutes=1), "far": clock.now() + timedelta(days=91)}
    if overrides.get("deadline") in moments:
        overrides["deadline"] = moments[overrides["deadline"]]
    before = Transfer.objects.count()
    assert _code(lambda: post_task(funded, **overrides)) == code
    assert not Task.objects.exists() and Transfer.objects.count() == before


def test_a_coupon_task_needs_a_suitable_coupon_of_the_shop(funded, other_shop, post_task):
    foreign = _coupon(other_shop)
    assert (
        _code(lambda: post_task(funded, reward_kind="coupon", coupon_public_id=foreign.public_id))
        == "coupon_not_found"
    )
    short = _coupon(funded, ends_at=clock.now() + timedelta(days=1))
    assert (
        _code(lambda: post_task(funded, reward_kind="coupon", coupon_public_id=short.public_id))
        == "coupon_unsuitable"
    )
    few = _coupon(funded, total_quantity=1)
    assert (
        _code(lambda: post_task(funded, reward_kind="coupon", coupon_public_id=few.public_id))
        == "coupon_unsuitable"
    )
    assert not Task.objects.exists()


# --- entering ----------------------------------------------------------------------------------


def test_one_entry_per_person(money_task, entrants):
    services.submit_entry(task=money_task, author=entrants[0], text="白露")
    code = _code(lambda: services.submit_entry(task=money_task, author=entrants[0], text="又一个"))
    assert code == "already_entered"
    money_task.refresh_from_db()
    assert money_task.entries_count == 1 and Entry.objects.count() == 1


def test_entries_after_the_deadline_or_from_the_owner_are_refused(money_task, entrants, funded):
    assert (
        _code(lambda: services.submit_entry(task=money_task, author=funded.owner, text="我自己"))
        == "not_eligible"
    )
    assert _code(lambda: services.submit_entry(task=money_task, author=entrants[0], text=" ")) == (
        "invalid"
    )
    with clock.frozen_at(money_task.deadline):
        code = _code(
            lambda: services.submit_entry(task=money_task, author=entrants[0], text="晚了")
        )
    assert code == "deadline_passed"
    money_task.refresh_from_db()
    assert money_task.entries_count == 0


def test_a_followers_task_is_open_to_followers_only(funded, post_task, entrants):
    from shoploop.catalog import services as catalog

    task = post_task(funded, audience="followers")
    code = _code(lambda: services.submit_entry(task=task, author=entrants[0], text="名字"))
    assert code == "not_eligible"
    catalog.follow_shop(actor=entrants[0], shop=funded)
    assert services.submit_entry(task=task, author=entrants[0], text="名字").text == "名字"


# --- winners -----------------------------------------------------------------------------------


def test_a_winner_is_paid_once_into_their_person_balance(money_task, entered, entrants, funded):
    first = services.pick_winner(
        actor=funded.owner, task=money_task, entry_public_id=entered[0].public_id
    )
    again = services.pick_winner(
        actor=funded.owner, task=money_task, entry_public_id=entered[0].public_id
    )
    assert again.pk == first.pk and first.amount_fen == 1000
    assert commission_balance_fen(user=entrants[0]) == 1000
    money_task.refresh_from_db()
    assert (money_task.winners_picked, money_task.paid_fen, money_task.state) == (1, 1000, "open")
    assert Transfer.objects.filter(reason="task_reward_paid").count() == 1
    assert verify_ledger().ok


def test_the_last_prize_closes_the_task_and_more_are_refused(money_task, entered, funded):
    for entry in entered[:2]:
        services.pick_winner(actor=funded.owner, task=money_task, entry_public_id=entry.public_id)
    money_task.refresh_from_db()
    assert (money_task.state, money_task.refunded_fen, money_task.still_reserved_fen) == (
        "closed",
        0,
        0,
    )
    code = _code(
        lambda: services.pick_winner(
            actor=funded.owner, task=money_task, entry_public_id=entered[2].public_id
        )
    )
    assert code == "winners_full"
    assert Winner.objects.count() == 2
    assert verify_ledger().ok


def test_picking_after_the_deadline_is_refused(money_task, entered, funded):
    with clock.frozen_at(money_task.deadline + timedelta(seconds=1)):
        code = _code(
            lambda: services.pick_winner(
                actor=funded.owner, task=money_task, entry_public_id=entered[0].public_id
            )
        )
    assert code == "deadline_passed"
    assert not Winner.objects.exists() and commission_balance_fen(user=entered[0].author) == 0


def test_only_the_owner_picks_and_only_entries_of_the_task(
    money_task, entered, entrants, funded, post_task
):
    code = _code(
        lambda: services.pick_winner(
            actor=entrants[1], task=money_task, entry_public_id=entered[0].public_id
        )
    )
    assert code == "not_shop_owner"
    other = post_task(funded, winners_count=1)
    assert (
        _code(
            lambda: services.pick_winner(
                actor=funded.owner, task=other, entry_public_id=entered[0].public_id
            )
        )
        == "entry_not_found"
    )
    assert not Winner.objects.exists()


def test_a_coupon_winner_gets_a_copy_even_past_the_per_person_limit(funded, post_task, entrants):
    coupon = _coupon(funded)
    coupons.claim_coupon(coupon=coupon, user=entrants[0])  # already holds the one allowed
    task = post_task(
        funded, reward_kind="coupon", coupon_public_id=coupon.public_id, reward_fen=None
    )
    entry = services.submit_entry(task=task, author=entrants[0], text="名字")
    winner = services.pick_winner(actor=funded.owner, task=task, entry_public_id=entry.public_id)
    assert CouponClaim.objects.filter(coupon=coupon, user=entrants[0]).count() == 2
    assert winner.coupon_claim_public_id and winner.amount_fen == 0
    assert (
        services.pick_winner(actor=funded.owner, task=task, entry_public_id=entry.public_id).pk
        == winner.pk
    )
    assert CouponClaim.objects.filter(coupon=coupon, user=entrants[0]).count() == 2
    assert verify_ledger().ok


# --- the end -------------------------------------------------------------------------------------


def test_an_unanswered_task_refunds_its_reward_at_the_deadline_once(money_task, entered, funded):
    settle_due(money_task.deadline - timedelta(seconds=1))
    money_task.refresh_from_db()
    assert money_task.state == "open"
    settle_due(money_task.deadline)
    settle_due(money_task.deadline + timedelta(hours=1))
    money_task.refresh_from_db()
    assert (money_task.state, money_task.refunded_fen) == ("expired", 2000)
    assert _available(funded) == FUNDED_FEN
    assert Transfer.objects.filter(reason="task_reward_refunded").count() == 1
    assert verify_ledger().ok


def test_fewer_winners_than_reserved_release_the_rest(money_task, entered, funded):
    services.pick_winner(actor=funded.owner, task=money_task, entry_public_id=entered[1].public_id)
    assert services.close_due(money_task.deadline) == 1
    assert services.close_due(money_task.deadline) == 0
    money_task.refresh_from_db()
    assert (money_task.state, money_task.paid_fen, money_task.refunded_fen) == (
        "closed",
        1000,
        1000,
    )
    assert _available(funded) == FUNDED_FEN - 1000
    assert verify_ledger().ok


def test_a_task_nobody_entered_can_be_cancelled_and_refunds(money_task, funded, entrants):
    cancelled = services.cancel_task(actor=funded.owner, task=money_task)
    assert (cancelled.state, cancelled.refunded_fen) == ("cancelled", 2000)
    assert _available(funded) == FUNDED_FEN
    assert _code(lambda: services.cancel_task(actor=funded.owner, task=money_task)) == "task_closed"
    assert (
        _code(lambda: services.submit_entry(task=money_task, author=entrants[0], text="名字"))
        == "task_closed"
    )
    assert verify_ledger().ok


def test_a_task_with_entries_cannot_be_cancelled(money_task, entered, funded, entrants):
    assert _code(lambda: services.cancel_task(actor=funded.owner, task=money_task)) == "has_entries"
    assert (
        _code(lambda: services.cancel_task(actor=entrants[0], task=money_task)) == "not_shop_owner"
    )
    money_task.refresh_from_db()
    assert money_task.state == "open" and money_task.refunded_fen == 0


def test_a_coupon_sold_out_before_the_pick_refuses_it_and_changes_nothing(
    funded, post_task, entrants
):
    coupon = _coupon(funded, total_quantity=2)
    task = post_task(
        funded,
        reward_kind="coupon",
        coupon_public_id=coupon.public_id,
        reward_fen=None,
        winners_count=1,
    )
    entry = services.submit_entry(task=task, author=entrants[0], text="名字")
    for who in entrants[1:]:
        coupons.claim_coupon(coupon=coupon, user=who)
    code = _code(
        lambda: services.pick_winner(actor=funded.owner, task=task, entry_public_id=entry.public_id)
    )
    assert code == "coupon_sold_out"
    task.refresh_from_db()
    assert task.winners_picked == 0 and not Winner.objects.exists()


def test_the_celery_task_ends_due_tasks(money_task, entered, funded):
    from shoploop.crowdtasks.tasks import close_due

    with clock.frozen_at(money_task.deadline):
        assert close_due() == 1
    money_task.refresh_from_db()
    assert money_task.state == "expired" and _available(funded) == FUNDED_FEN
