"""Cases mutation testing of ledger/verification.py's world reconciliation showed untested
(docs/mutation.md): a platform fee, orders refunded in full or down to one fen before they
complete, cancelled and late-paid orders, transfers of every order reason that name no order,
each problem's exact text, and the ``orphans`` hook other apps' checks use."""

from datetime import timedelta

import pytest
from django.db.models import F

from shoploop.ledger.models import Account, AccountKind, Payment, Refund, Transfer, TransferKind
from shoploop.ledger.services import open_account, payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import LedgerReport, World, verify_ledger
from shoploop.orders import services as orders
from shoploop.orders.models import Order


def _clean():
    report = verify_ledger()
    assert report.ok, report.problems
    return report


def _problems() -> list[str]:
    report = verify_ledger()
    assert not report.ok
    return report.problems


def _received(order):
    orders.ship_order(
        order=order, actor=order.shop.owner, carrier="other", tracking_number=f"T{order.public_id}"
    )
    return orders.confirm_receipt(order=order, actor=order.buyer)


def _complete(order):
    assert orders.complete_order(order=order, now=order.received_at + timedelta(days=30))
    order.refresh_from_db()
    return order


def _refund_units(order, quantity, committed):
    line = order.lines.get()
    after_sale = orders.request_after_sale(
        order=order,
        actor=order.buyer,
        kind="refund_only",
        reason="damaged",
        lines=[{"line_id": line.public_id, "quantity": quantity}],
    )
    with committed():
        orders.accept_after_sale(after_sale=after_sale, actor=order.shop.owner)
    order.refresh_from_db()
    return order


def _raw(reason: str, cause: str, debit: Account, credit: Account, **extra) -> Transfer:
    """A transfer written past the services (no balances moved), as a bug or a hand edit would."""
    (row,) = Transfer.objects.bulk_create(
        [
            Transfer(
                idempotency_key=f"raw:{reason}:{cause}:{extra}",
                kind=extra.pop("kind", TransferKind.SINGLE),
                debit_account=debit,
                credit_account=credit,
                amount=extra.pop("amount", 100),
                reason=reason,
                cause=cause,
            )
        ]
    )
    return row


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def no_fee(shop):
    type(shop).objects.filter(pk=shop.pk).update(fee_rate_bps=0)


# --- completed orders --------------------------------------------------------------------------


def test_the_platform_fee_is_reconciled_and_a_fee_that_disagrees_is_named(shop, sell):
    type(shop).objects.filter(pk=shop.pk).update(fee_rate_bps=500)
    order = _complete(_received(sell(shop, 2000)))
    assert order.fee_fen == 100
    _clean()
    Order.objects.filter(pk=order.pk).update(fee_fen=99)
    assert _problems() == [
        f"order {order.public_id} (completed): shop share, fee and commissions kept move "
        "2000 fen (fee 100), expected 2000 (fee 99)"
    ]


def test_an_order_refunded_in_full_before_it_completes_posts_nothing(shop, sell, no_fee, committed):
    order = _received(sell(shop, 3, quantity=3))
    order = _refund_units(order, 3, committed)
    assert order.refunded_fen == 3
    order = _complete(order)
    _clean()


def test_an_order_refunded_down_to_one_fen_posts_that_fen(shop, sell, no_fee, committed):
    order = _received(sell(shop, 3, quantity=3))
    order = _refund_units(order, 2, committed)
    order = _complete(order)
    assert order.total_fen - order.refunded_fen == 1
    _clean()


# --- cancelled and late-paid orders ------------------------------------------------------------


def test_a_cancelled_paid_order_reconciles_and_one_not_refunded_in_full_is_named(
    shop, sell, committed
):
    order = sell(shop, 1500)
    with committed():
        orders.cancel_order(order=order, actor=order.buyer)
    order.refresh_from_db()
    assert (order.state, order.refunded_fen) == (Order.State.CANCELLED, 1500)
    _clean()
    Order.objects.filter(pk=order.pk).update(refunded_fen=1000)
    name = f"order {order.public_id} (cancelled)"
    assert _problems() == [
        f"{name} says 1000 fen refunded; its refunds total 1500",
        f"{name} was paid and cancelled but not refunded in full",
    ]


def test_a_deal_payment_refused_after_capture_is_refunded_to_its_order(
    shop, sell, make_user, ship_to, committed
):
    from shoploop.core import clock
    from shoploop.ledger.services import payments as payment_services
    from shoploop.orders.models import Address

    buyer = make_user(display_name="迟到的买家")
    order = orders.place_deal_order(
        buyer=buyer,
        shop=shop,
        title="拼团茶饼",
        unit_price_fen=800,
        quantity=1,
        deal_ref="test:late",  # no deal kind: nobody settles it but this test
        expires_at=clock.now() + timedelta(minutes=5),
        address=Address.objects.get(public_id=ship_to(buyer)),
    )
    payment = payment_services.payment_by_public_id(public_id=order.checkout.payment_public_id)
    with committed():
        report_payment(payment)
    # The deal closed meanwhile: it refuses the captured payment (its key ends ":refund:late").
    with committed():
        assert orders.settle_deal_payment(order=order, accept=False) == "refunded"
    order.refresh_from_db()
    assert (order.state, order.refunded_fen) == (Order.State.CANCELLED, 800)
    _clean()


# --- each problem named ------------------------------------------------------------------------


def test_a_hold_moving_other_accounts_is_named(shop, sell):
    order = sell(shop, 1200)
    hold = Transfer.objects.get(reason="order_hold", cause=order.ref)
    elsewhere = open_account(kind=AccountKind.MERCHANT_PENDING, owner_ref="shop:elsewhere")
    # The hold moved to another shop's pending account, both accounts' sums along with it.
    Account.objects.filter(pk=hold.credit_account_id).update(
        credits_pending=F("credits_pending") - 1200
    )
    Account.objects.filter(pk=elsewhere.pk).update(credits_pending=F("credits_pending") + 1200)
    Transfer.objects.filter(pk=hold.pk).update(credit_account=elsewhere)
    assert _problems() == [
        f"order {order.public_id} (paid): hold {hold.public_id} moves other accounts"
    ]


def test_an_open_hold_that_is_not_the_current_version_is_named(shop, sell):
    order = sell(shop, 1200)
    Order.objects.filter(pk=order.pk).update(hold_version=1)
    assert _problems() == [
        f"order {order.public_id} (paid) should hold only order:{order.public_id}:hold:1; open: 1"
    ]


def test_transfers_of_every_order_reason_naming_no_order_are_named(db):
    escrow = open_account(kind=AccountKind.BUYER_ESCROW, owner_ref="payment:x")
    pending = open_account(kind=AccountKind.MERCHANT_PENDING, owner_ref="shop:x")
    available = open_account(kind=AccountKind.MERCHANT_AVAILABLE, owner_ref="shop:x")
    fees = open_account(kind=AccountKind.PLATFORM_FEES)
    reserved = open_account(kind=AccountKind.COMMISSIONS_RESERVED, owner_ref="shop:x")
    moves = [
        _raw("order_hold", "order:nobody", escrow, pending, kind=TransferKind.PENDING),
        _raw("order_completed", "order:nobody", pending, available),
        _raw("platform_fee", "order:nobody", pending, fees),
        _raw("commission_reserved", "order:nobody", pending, reserved),
    ]
    problems = _problems()
    for move in moves:
        assert (
            f"transfer {move.public_id}: {move.reason} for 'order:nobody', which is no order"
            in problems
        )


def test_every_transfer_is_judged_after_one_of_an_unknown_flow(db):
    clearing = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="sandbox")
    escrow = open_account(kind=AccountKind.BUYER_ESCROW, owner_ref="payment:x")
    refunds = open_account(kind=AccountKind.REFUNDS)
    bonus = _raw("bonus", "", refunds, escrow)
    # The right accounts and cause, the wrong kind: a capture is never a hold.
    held = _raw("payment_captured", "payment:x", clearing, escrow, kind=TransferKind.PENDING)
    report = verify_ledger()
    assert report.checked["transfers"] == report.transfers == 2
    assert (
        f"transfer {bonus.public_id}: unknown money flow 'bonus' "
        f"(refunds → buyer_escrow:payment:x, 100 fen)"
    ) in report.problems
    assert (
        f"transfer {held.public_id}: payment_captured may not move pending "
        "provider_clearing:sandbox → buyer_escrow:payment:x"
    ) in report.problems


def test_a_transfer_whose_cause_names_no_kind_of_thing_is_named(db):
    escrow = open_account(kind=AccountKind.BUYER_ESCROW, owner_ref="payment:x")
    pending = open_account(kind=AccountKind.MERCHANT_PENDING, owner_ref="shop:x")
    move = _raw("order_hold", "elsewhere", escrow, pending, kind=TransferKind.PENDING)
    assert (
        f"transfer {move.public_id}: order_hold names no order (cause 'elsewhere')" in _problems()
    )


def test_orphans_names_each_transfer_whose_cause_is_not_known(db):
    available = open_account(kind=AccountKind.MERCHANT_AVAILABLE, owner_ref="shop:x")
    transit = open_account(kind=AccountKind.PAYOUTS_IN_TRANSIT)
    known = _raw("withdrawal", "withdrawal:known", available, transit)
    stray = _raw("withdrawal", "withdrawal:stray", available, transit)
    report = LedgerReport()
    World.load().orphans(report, ["withdrawal"], {known.cause}, "thing")
    assert report.problems == [
        f"transfer {stray.public_id}: withdrawal for 'withdrawal:stray', which is no thing"
    ]


def test_the_registries_keep_what_other_apps_register(monkeypatch):
    from shoploop.ledger import verification

    monkeypatch.setattr(verification, "_commission_sources", {})
    monkeypatch.setattr(verification, "_world_checks", {})

    def source():
        return []

    def check(world, report):
        return None

    verification.register_commission_source("test", source)
    verification.register_world_check("test", check)
    assert verification._commission_sources == {"test": source}
    assert verification._world_checks == {"test": check}


# --- payments, refunds, withdrawals: every row judged, each problem named ----------------------


def test_every_payment_is_judged_after_one_that_captured_nothing_or_has_no_capture(
    make_payment, deliver
):
    def marked_paid_without_capture():
        payment = make_payment(amount=500)
        Payment.objects.filter(pk=payment.pk).update(captured_fen=500, state="succeeded")
        return payment

    # Whichever end the check starts from, it meets an unpaid payment and one with no capture
    # before the inflated one, and must go on past them.
    marked_paid_without_capture()
    make_payment(amount=700)
    inflated = make_payment(amount=1000)
    deliver(inflated)
    make_payment(amount=700)
    marked_paid_without_capture()
    capture = Transfer.objects.get(reason="payment_captured", cause=f"payment:{inflated.public_id}")
    Transfer.objects.filter(pk=capture.pk).update(amount=1001)
    assert (
        f"payment {inflated.public_id} captured 1000 fen; its capture {capture.public_id} "
        "moved 1001"
    ) in _problems()


def test_a_capture_into_another_escrow_is_named_with_both_routes(paid_payment):
    capture = Transfer.objects.get(reason="payment_captured")
    own = capture.credit_account
    other = open_account(kind=AccountKind.BUYER_ESCROW, owner_ref="payment:other")
    Account.objects.filter(pk=own.pk).update(credits_posted=F("credits_posted") - 1000)
    Account.objects.filter(pk=other.pk).update(credits_posted=F("credits_posted") + 1000)
    Transfer.objects.filter(pk=capture.pk).update(credit_account=other)
    name = f"payment {paid_payment.public_id}"
    assert (
        f"{name}: capture {capture.public_id} moved provider_clearing:sandbox → "
        f"buyer_escrow:payment:other, not provider_clearing:sandbox → {own.code}"
    ) in _problems()


@pytest.fixture
def refunded(paid_payment):
    """Two refunds of the paid payment, both paid out by the provider."""
    made = []
    for key, amount in (("r1", 100), ("r2", 200)):
        refund = payments.refund(payment=paid_payment, amount=amount, key=key, reason="test")
        made.append(payments.process_refund(refund=refund))
    assert [refund.state for refund in made] == [Refund.State.SUCCEEDED] * 2
    return made


def test_every_refund_is_counted(refunded):
    assert _clean().checked["refunds"] == 2


def _reroute(refund, reason: str, **side) -> None:
    """Point one of the refund's transfers (``reason``) at another account, past the services."""
    move = Transfer.objects.get(reason=reason, cause=f"refund:{refund.public_id}")
    Transfer.objects.filter(pk=move.pk).update(**side)


def test_a_refund_taken_from_another_account_is_named(refunded):
    other = open_account(kind=AccountKind.BUYER_ESCROW, owner_ref="payment:other")
    _reroute(refunded[0], "refund_requested", debit_account=other)
    assert (
        f"refund {refunded[0].public_id} was taken from buyer_escrow:payment:other, "
        "not its payment's escrow"
    ) in _problems()


def test_a_refund_paid_out_to_another_account_is_named(refunded):
    other = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="elsewhere")
    _reroute(refunded[0], "refund_paid_out", credit_account=other)
    assert (
        f"refund {refunded[0].public_id} was paid out to provider_clearing:elsewhere, "
        "not its provider"
    ) in _problems()


def test_payouts_of_no_refund_and_no_withdrawal_are_named(db):
    clearing = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="sandbox")
    refunds = open_account(kind=AccountKind.REFUNDS)
    transit = open_account(kind=AccountKind.PAYOUTS_IN_TRANSIT)
    refund = _raw("refund_paid_out", "refund:nobody", refunds, clearing)
    payout = _raw("withdrawal_paid", "withdrawal:nobody", transit, clearing)
    problems = _problems()
    assert (
        f"transfer {refund.public_id}: refund_paid_out for 'refund:nobody', which is no refund"
    ) in problems
    assert (
        f"transfer {payout.public_id}: withdrawal_paid for 'withdrawal:nobody', "
        "which is no withdrawal"
    ) in problems


def test_an_order_refund_key_of_another_kind_is_not_counted_for_the_order(shop, sell):
    """Only the orders app's own refund keys (":refund:cancel", ":refund:late") and after-sales
    count toward an order; a refund row keyed otherwise is judged as a refund, not added."""
    order = sell(shop, 1200)
    payment = payments.payment_by_public_id(public_id=order.checkout.payment_public_id)
    Refund.objects.create(
        payment=payment, key=f"{order.ref}:refund:forged", amount=300, reason="forged"
    )
    problems = _problems()
    assert not any(problem.startswith(f"order {order.public_id}") for problem in problems)


def test_each_registered_world_check_is_given_the_report(shop, sell, monkeypatch):
    from shoploop.ledger import verification

    def check(world, report):
        report.problems.append(f"seen {len(world.moves)} transfers")

    monkeypatch.setitem(verification._world_checks, "test", check)
    sell(shop, 1200)
    assert "seen 2 transfers" in _problems()


def test_a_capture_of_a_payment_that_captured_nothing_is_named(paid_payment):
    Payment.objects.filter(pk=paid_payment.pk).update(captured_fen=0, state="requires_payment")
    assert (
        f"payment {paid_payment.public_id} captured nothing but the ledger has a capture"
    ) in _problems()


@pytest.fixture
def withdrawn(merchant, shop, fund_shop):
    """A paid withdrawal of 2000 fen from the shop's available funds."""
    from shoploop.core import clock
    from shoploop.ledger.services import payouts

    fund_shop(shop, 5000)
    withdrawal = payouts.request_withdrawal(
        actor=merchant,
        amount=2000,
        account_holder="张三",
        account_number="6222021234567890",
        request_key="w-1",
    )
    assert payouts.settle_due_withdrawals(clock.now()) == 1
    _clean()
    return withdrawal


def test_a_withdrawal_held_on_another_account_is_named(withdrawn, shop):
    hold = Transfer.objects.get(reason="withdrawal", kind=TransferKind.PENDING)
    other = open_account(kind=AccountKind.MERCHANT_AVAILABLE, owner_ref="shop:elsewhere")
    Transfer.objects.filter(pk=hold.pk).update(debit_account=other)
    assert (
        f"withdrawal {withdrawn.public_id} was held on merchant_available:shop:elsewhere, "
        f"not merchant_available:shop:{shop.public_id}"
    ) in _problems()


def test_a_withdrawal_hold_posted_for_another_amount_is_named(withdrawn):
    hold = Transfer.objects.get(reason="withdrawal", kind=TransferKind.PENDING)
    Transfer.objects.filter(pending_id=hold.pk).update(amount=1999)
    assert (
        f"withdrawal {withdrawn.public_id}: its hold was resolved for another amount"
    ) in _problems()


def test_a_commission_withdrawal_of_no_withdrawal_is_named(db):
    commissions = open_account(kind=AccountKind.COMMISSIONS, owner_ref="user:x")
    transit = open_account(kind=AccountKind.PAYOUTS_IN_TRANSIT, owner_ref="user:x")
    move = _raw(
        "commission_withdrawal",
        "withdrawal:nobody",
        commissions,
        transit,
        kind=TransferKind.PENDING,
    )
    assert (
        f"transfer {move.public_id}: commission_withdrawal for 'withdrawal:nobody', "
        "which is no withdrawal"
    ) in _problems()
