"""verify_ledger against a real world, then against each way that world can be corrupted.

Each corruption is made with queryset updates or bulk inserts (they bypass the services, as a bug
or a hand edit would), keeps the books balanced where it can, and must be named by the check.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import F

from shoploop.core import clock
from shoploop.ledger.errors import ProviderError
from shoploop.ledger.models import (
    Account,
    AccountKind,
    Limit,
    Payment,
    Refund,
    Transfer,
    TransferKind,
    Withdrawal,
)
from shoploop.ledger.providers.sandbox import SandboxProvider
from shoploop.ledger.services import open_account, payments, payouts, transfer
from shoploop.ledger.verification import verify_books, verify_ledger
from shoploop.orders import services as orders
from shoploop.orders.models import Order


@pytest.fixture
def world(merchant, shop, fund_shop, sell, paid_payment):
    """A completed order (5000 fen), a paid one (1200, hold open), a paid withdrawal (2000), a
    pending one (500), and a plain payment (1000) with a refund of 300 paid out."""
    completed = fund_shop(shop, 5000)
    paid = sell(shop, 1200)
    settled = _withdraw(merchant, 2000, key="w-paid")
    assert payouts.settle_due_withdrawals(clock.now()) == 1
    pending = _withdraw(merchant, 500, key="w-pending")
    refund = payments.refund(payment=paid_payment, amount=300, key="r1", reason="test")
    refund = payments.process_refund(refund=refund)
    assert refund.state == Refund.State.SUCCEEDED
    return {
        "completed": completed,
        "paid": paid,
        "settled": settled,
        "pending": pending,
        "payment": paid_payment,
        "refund": refund,
    }


def _withdraw(merchant, amount, *, key):
    return payouts.request_withdrawal(
        actor=merchant,
        amount=amount,
        account_holder="张三",
        account_number="6222021234567890",
        request_key=key,
    )


def _shift(account_code: str, **deltas) -> None:
    """Move an account's cached sums along with a tampered transfer, so the books stay balanced."""
    Account.objects.filter(code=account_code).update(
        **{name: F(name) + delta for name, delta in deltas.items()}
    )


def _problems() -> list[str]:
    report = verify_ledger()
    assert not report.ok
    return report.problems


def _named(fragment: str) -> bool:
    return any(fragment in problem for problem in _problems())


def test_a_real_world_is_clean_and_the_report_counts_each_kind(world, capsys):
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.checked["payments"] == 3
    assert report.checked["captures"] == 3
    assert report.checked["refunds"] == 1
    assert report.checked["withdrawals"] == 2
    assert report.checked["payouts"] == 1
    assert report.checked["orders"] == 2
    assert report.checked["holds"] == 2
    assert report.checked["clearing_accounts"] == 2  # payments and payouts
    assert report.checked["transfers"] == report.transfers
    # The open holds: the paid order's and the pending withdrawal's.
    assert report.open_holds == 2
    call_command("verify_ledger")
    out = capsys.readouterr().out
    assert "problems=0" in out
    assert "checked: captures=3 clearing_accounts=2 holds=2 orders=2 payments=3" in out


def test_money_from_nowhere_is_caught_although_the_books_balance(world, capsys):
    merchant_available = Account.objects.get(kind=AccountKind.MERCHANT_AVAILABLE)
    transfer(
        key="gift",
        debit=open_account(kind=AccountKind.REFUNDS),
        credit=merchant_available,
        amount=1_000_000,
        reason="bonus",
    )
    assert verify_books().ok
    assert _named("unknown money flow 'bonus'")
    with pytest.raises(SystemExit) as exited:
        call_command("verify_ledger")
    assert exited.value.code == 1
    assert "unknown money flow 'bonus'" in capsys.readouterr().err


def test_a_known_reason_on_the_wrong_accounts_is_caught(world):
    transfer(
        key="fake-share",
        debit=open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="sandbox"),
        credit=Account.objects.get(kind=AccountKind.MERCHANT_AVAILABLE),
        amount=1_000_000,
        reason="order_completed",
        cause=world["paid"].ref,
    )
    problems = _problems()
    assert any("order_completed may not move" in p for p in problems)
    assert any("took in" in p for p in problems)  # the clearing account took in uncaptured money
    assert any("not completed but its hold was posted or paid out" in p for p in problems)


def test_a_capture_without_a_payment_is_caught(world):
    transfer(
        key="ghost-capture",
        debit=open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="sandbox"),
        credit=open_account(kind=AccountKind.BUYER_ESCROW, owner_ref="payment:ghost"),
        amount=10_000,
        reason="payment_captured",
        cause="payment:ghost",
    )
    problems = _problems()
    assert any("payment_captured for 'payment:ghost', which is no payment" in p for p in problems)
    assert any("its payments captured" in p for p in problems)


def test_a_capture_inflated_by_500_yuan_is_caught(world):
    payment = world["payment"]
    capture = Transfer.objects.filter(
        reason="payment_captured", cause=f"payment:{payment.public_id}"
    )
    capture.update(amount=F("amount") + 50_000)
    _shift("provider_clearing:sandbox", debits_posted=50_000)
    _shift(f"buyer_escrow:payment:{payment.public_id}", credits_posted=50_000)
    assert verify_books().ok
    problems = _problems()
    assert any(f"payment {payment.public_id} captured 1000 fen; its capture" in p for p in problems)
    assert any("provider_clearing:sandbox took in" in p for p in problems)


def test_a_payment_marked_paid_without_a_capture_is_caught(world, make_payment):
    payment = make_payment(amount=800)
    Payment.objects.filter(pk=payment.pk).update(state=Payment.State.SUCCEEDED, captured_fen=800)
    assert verify_books().ok
    problems = _problems()
    assert any(
        f"payment {payment.public_id} captured 800 fen; the ledger has 0" in p for p in problems
    )
    assert any("its payments captured" in p for p in problems)


def test_a_payment_marked_paid_that_captured_nothing_is_caught(world, make_payment):
    payment = make_payment(amount=800)
    Payment.objects.filter(pk=payment.pk).update(state=Payment.State.SUCCEEDED)
    assert _named(f"payment {payment.public_id} is marked paid but captured nothing")


def test_a_capture_on_a_payment_still_awaiting_is_caught(world):
    Payment.objects.filter(pk=world["payment"].pk).update(state=Payment.State.PROCESSING)
    assert _named("captured money but is still processing")


def test_refund_figures_that_disagree_with_the_ledger_are_caught(world):
    payment = world["payment"]
    Payment.objects.filter(pk=payment.pk).update(refunded_fen=0)
    assert _named(f"payment {payment.public_id} says 0 fen refunded; its refunds total 300")


def test_a_refund_row_of_another_amount_is_caught(world):
    refund = world["refund"]
    Refund.objects.filter(pk=refund.pk).update(amount=250)
    problems = _problems()
    assert any(
        f"refund {refund.public_id} is 250 fen but its refund request" in p for p in problems
    )
    assert any("its refunds paid 250" in p for p in problems)


def test_a_refund_marked_paid_that_the_ledger_never_paid_out_is_caught(
    world, paid_payment, monkeypatch
):
    def fail(self, *, payment, refund):
        raise ProviderError("down")

    monkeypatch.setattr(SandboxProvider, "refund", fail)
    refund = payments.refund(payment=paid_payment, amount=100, key="r2", reason="test")
    refund = payments.process_refund(refund=refund)
    assert refund.state == Refund.State.PENDING
    assert verify_ledger().ok
    Refund.objects.filter(pk=refund.pk).update(state=Refund.State.SUCCEEDED)
    problems = _problems()
    assert any(f"refund {refund.public_id} has 0 refund payout transfers" in p for p in problems)
    assert any(
        "provider_clearing:sandbox refunded 300 fen; its refunds paid 400" in p for p in problems
    )


def test_a_refund_paid_out_while_its_row_is_pending_is_caught(world):
    Refund.objects.filter(pk=world["refund"].pk).update(state=Refund.State.PENDING)
    assert _named("is pending but the ledger paid it out")


def test_a_refund_without_a_row_is_caught(world):
    payment = world["payment"]
    transfer(
        key="stray-refund",
        debit=open_account(kind=AccountKind.BUYER_ESCROW, owner_ref=f"payment:{payment.public_id}"),
        credit=open_account(kind=AccountKind.REFUNDS),
        amount=100,
        reason="refund_requested",
        cause="refund:nobody",
    )
    problems = _problems()
    assert any("refund_requested for 'refund:nobody', which is no refund" in p for p in problems)
    assert any("the ledger moved 400" in p for p in problems)


def test_a_withdrawal_whose_state_disagrees_with_its_hold_is_caught(world):
    settled = world["settled"]
    Withdrawal.objects.filter(pk=settled.pk).update(state=Withdrawal.State.FAILED)
    problems = _problems()
    assert any(
        f"withdrawal {settled.public_id} is failed but its hold is post" in p for p in problems
    )
    assert any(f"withdrawal {settled.public_id} is failed but was paid out" in p for p in problems)


def test_a_paid_withdrawal_with_no_payout_is_caught(world):
    pending = world["pending"]
    Withdrawal.objects.filter(pk=pending.pk).update(state=Withdrawal.State.PAID)
    problems = _problems()
    assert any(
        f"withdrawal {pending.public_id} is paid but its hold is open" in p for p in problems
    )
    assert any(f"withdrawal {pending.public_id} has 0 payout transfers" in p for p in problems)


def test_a_withdrawal_of_another_amount_is_caught(world):
    settled = world["settled"]
    Withdrawal.objects.filter(pk=settled.pk).update(amount=2500)
    assert _named(f"withdrawal {settled.public_id} is 2500 fen but its hold")


def test_a_payout_without_a_withdrawal_is_caught(world):
    transit = Account.objects.get(kind=AccountKind.PAYOUTS_IN_TRANSIT)
    transfer(
        key="stray-hold",
        debit=Account.objects.get(kind=AccountKind.MERCHANT_AVAILABLE),
        credit=transit,
        amount=100,
        reason="withdrawal",
        cause="withdrawal:nobody",
        pending=True,
    )
    assert _named("withdrawal for 'withdrawal:nobody', which is no withdrawal")


def test_a_completed_order_whose_hold_was_never_posted_is_caught(world):
    paid = world["paid"]
    Order.objects.filter(pk=paid.pk).update(state=Order.State.COMPLETED, has_hold=False)
    problems = _problems()
    assert any(
        f"order {paid.public_id} (completed) has no hold but 1 are open" in p for p in problems
    )
    assert any(
        f"order {paid.public_id} (completed): 0 holds posted, expected 1" in p for p in problems
    )


def test_a_cancelled_order_whose_hold_is_still_open_is_caught(world):
    paid = world["paid"]
    Order.objects.filter(pk=paid.pk).update(
        state=Order.State.CANCELLED, has_hold=False, refunded_fen=F("total_fen")
    )
    problems = _problems()
    assert any(
        f"order {paid.public_id} (cancelled) has no hold but 1 are open" in p for p in problems
    )
    assert any("says 1200 fen refunded; its refunds total 0" in p for p in problems)


def test_an_unpaid_order_with_a_hold_is_caught(world):
    paid = world["paid"]
    Order.objects.filter(pk=paid.pk).update(state=Order.State.PENDING_PAYMENT, has_hold=False)
    assert _named(f"order {paid.public_id} (pending_payment) is unpaid but holds money")


def test_a_partial_refund_the_holds_do_not_show_is_caught(world):
    completed = world["completed"]
    Order.objects.filter(pk=completed.pk).update(refunded_fen=700)
    problems = _problems()
    assert any("says 700 fen refunded; its refunds total 0" in p for p in problems)
    assert any("posted 5000 fen of a net 4300 fen" in p for p in problems)


def test_partial_refunds_are_summed_into_the_order_holds(
    world, shop, sell, django_capture_on_commit_callbacks
):
    order = sell(shop, 3000, quantity=3)
    orders.ship_order(order=order, actor=shop.owner, carrier="sf", tracking_number="SF123456789012")
    order = orders.confirm_receipt(order=order, actor=order.buyer)
    line = order.lines.get()
    for _ in range(2):  # two partial refunds of one unit each: 3000 → 2000 → 1000 held
        after_sale = orders.request_after_sale(
            order=order,
            actor=order.buyer,
            kind="refund_only",
            reason="damaged",
            lines=[{"line_id": line.public_id, "quantity": 1}],
        )
        with django_capture_on_commit_callbacks(execute=True):
            orders.accept_after_sale(after_sale=after_sale, actor=shop.owner)
    order.refresh_from_db()
    assert (order.refunded_fen, order.hold_version) == (2000, 2)
    report = verify_ledger()  # the open hold is version 2's, for the 1000 fen still owed
    assert report.ok, report.problems
    assert orders.complete_order(order=order, now=order.received_at + timedelta(days=30))
    report = verify_ledger()
    assert report.ok, report.problems
    Order.objects.filter(pk=order.pk).update(refunded_fen=1000)
    problems = _problems()
    assert any(f"order {order.public_id} (completed) says 1000 fen refunded" in p for p in problems)
    assert any("posted 1000 fen of a net 2000 fen" in p for p in problems)


def test_an_order_hold_of_the_wrong_amount_is_caught(world):
    paid = world["paid"]
    Order.objects.filter(pk=paid.pk).update(total_fen=1300, subtotal_fen=1300)
    problems = _problems()
    assert any("totals 1300 fen but its first hold was 1200" in p for p in problems)
    assert any("still owes 1300 fen to the shop but holds 1200" in p for p in problems)


# --- the books' own branches ----------------------------------------------------------------


def _insert(**fields) -> Transfer:
    """A transfer written past the services (and their balance updates), as a bug would."""
    (row,) = Transfer.objects.bulk_create([Transfer(idempotency_key=f"raw:{fields}", **fields)])
    return row


def test_credits_beyond_a_credit_limited_account_are_caught(db):
    limited = open_account(
        kind=AccountKind.REFUNDS, owner_ref="limited", limit=Limit.CREDITS_MUST_NOT_EXCEED_DEBITS
    )
    other = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="x")
    _insert(
        kind=TransferKind.SINGLE, debit_account=other, credit_account=limited, amount=5, reason="r"
    )
    assert "refunds:limited: credits exceed debits" in verify_books().problems


def test_debits_beyond_a_debit_limited_account_are_caught(db):
    limited = open_account(kind=AccountKind.MERCHANT_AVAILABLE, owner_ref="shop:x")
    other = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="x")
    _insert(
        kind=TransferKind.SINGLE, debit_account=limited, credit_account=other, amount=5, reason="r"
    )
    assert "merchant_available:shop:x: debits exceed credits" in verify_books().problems


def test_pending_debits_count_against_a_debit_limited_account(db):
    limited = open_account(kind=AccountKind.MERCHANT_AVAILABLE, owner_ref="shop:x")
    other = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="x")
    _insert(
        kind=TransferKind.SINGLE, debit_account=other, credit_account=limited, amount=5, reason="r"
    )
    _insert(
        kind=TransferKind.PENDING, debit_account=limited, credit_account=other, amount=4, reason="r"
    )
    assert "merchant_available:shop:x: debits exceed credits" not in verify_books().problems
    _insert(
        kind=TransferKind.PENDING, debit_account=limited, credit_account=other, amount=2, reason="r"
    )
    assert "merchant_available:shop:x: debits exceed credits" in verify_books().problems


def test_pending_credits_count_against_a_credit_limited_account(db):
    limited = open_account(
        kind=AccountKind.REFUNDS, owner_ref="limited", limit=Limit.CREDITS_MUST_NOT_EXCEED_DEBITS
    )
    other = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="x")
    _insert(
        kind=TransferKind.SINGLE, debit_account=limited, credit_account=other, amount=5, reason="r"
    )
    _insert(
        kind=TransferKind.PENDING, debit_account=other, credit_account=limited, amount=5, reason="r"
    )
    assert "refunds:limited: credits exceed debits" not in verify_books().problems
    _insert(
        kind=TransferKind.PENDING, debit_account=other, credit_account=limited, amount=1, reason="r"
    )
    assert "refunds:limited: credits exceed debits" in verify_books().problems


def test_unbalanced_cached_totals_are_caught(db):
    account = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="x")
    _shift(account.code, debits_pending=7)
    problems = verify_books().problems
    assert "pending debits 7 != credits 0" in problems
    _shift(account.code, debits_pending=-7, credits_posted=3)
    assert "posted debits 0 != credits 3" in verify_books().problems


@pytest.fixture
def hold(db):
    source = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="x")
    target = open_account(kind=AccountKind.REFUNDS, owner_ref="y")
    made = transfer(key="h", debit=source, credit=target, amount=100, reason="r", pending=True)
    assert verify_books().ok
    return made


def test_a_post_above_its_hold_is_caught(hold):
    post = _insert(
        kind=TransferKind.POST,
        debit_account_id=hold.debit_account_id,
        credit_account_id=hold.credit_account_id,
        amount=101,
        pending=hold,
        reason="r",
    )
    assert f"{post.public_id} amount does not match its hold" in verify_books().problems


def test_a_partial_void_is_caught(hold):
    void = _insert(
        kind=TransferKind.VOID,
        debit_account_id=hold.debit_account_id,
        credit_account_id=hold.credit_account_id,
        amount=40,
        pending=hold,
        reason="r",
    )
    assert f"{void.public_id} amount does not match its hold" in verify_books().problems


def test_a_resolution_of_a_non_hold_is_caught(hold):
    single = transfer(
        key="s", debit=hold.debit_account, credit=hold.credit_account, amount=10, reason="r"
    )
    post = _insert(
        kind=TransferKind.POST,
        debit_account_id=single.debit_account_id,
        credit_account_id=single.credit_account_id,
        amount=10,
        pending=single,
        reason="r",
    )
    assert f"{post.public_id} resolves a non-hold" in verify_books().problems


def test_a_resolution_that_moves_other_accounts_is_caught(hold):
    void = _insert(
        kind=TransferKind.VOID,
        debit_account_id=hold.credit_account_id,
        credit_account_id=hold.debit_account_id,
        amount=100,
        pending=hold,
        reason="r",
    )
    assert f"{void.public_id} moves other accounts than its hold" in verify_books().problems


def test_open_holds_are_counted(hold):
    assert verify_books().open_holds == 1
    second = transfer(
        key="h2",
        debit=hold.debit_account,
        credit=hold.credit_account,
        amount=5,
        reason="r",
        pending=True,
    )
    assert verify_books().open_holds == 2
    from shoploop.ledger.services import void_hold

    void_hold(key="v", hold=second)
    assert verify_books().open_holds == 1
