"""The 团长's pickup commission through the ledger: frozen when paid, reduced in proportion or
reversed by refunds, available when the order completes, once per order however often the
events are delivered; ``verify_ledger`` reconciles every row."""

from datetime import timedelta

import pytest

from shoploop.core.deadlines import settle_due
from shoploop.core.errors import DomainError
from shoploop.core.events import DomainEvent
from shoploop.ledger.models import Account, Transfer
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import handlers, pickup_selectors, services
from shoploop.orders.models import LeaderCommission, Order

pytestmark = pytest.mark.usefixtures("english")

# sku: 5900 fen, one of it; the shop pays the 团长 300 fen per pickup order.
COMMISSION = 300


@pytest.fixture
def paid_pickup_order(pickup_checkout, pay, merchant, shop, committed):
    services.update_shop_pickup_settings(
        actor=merchant, shop=shop, offers_pickup=True, leader_commission_fen=COMMISSION
    )

    def run(*items):
        checkout = pickup_checkout(*items)
        pay(checkout)
        return checkout.orders.get()

    return run


def _account(user):
    return Account.objects.filter(code=f"commissions:user:{user.public_id}").first()


def _clean():
    report = verify_ledger()
    assert report.ok, report.problems
    return report


def _complete(order, point, leader, committed, settings):
    with committed():
        services.ship_order(order=order, actor=order.shop.owner, carrier="", tracking_number="")
        order = services.collect_pickup(point=point, actor=leader, code=order.pickup_code)
    with committed():
        settle_due(order.received_at + timedelta(days=settings.ORDER_AFTER_SALE_DAYS + 1))
    order.refresh_from_db()
    assert order.state == Order.State.COMPLETED
    return order


def _deliver(handler, name, order):
    handler(DomainEvent(name=name, payload={"order_public_id": order.public_id}))


def test_paying_freezes_the_commission_for_the_leader(paid_pickup_order, leader, shop):
    order = paid_pickup_order()
    commission = LeaderCommission.objects.get()
    assert (commission.order, commission.leader, commission.shop) == (order, leader, shop)
    assert (commission.original_fen, commission.amount_fen, commission.state) == (
        COMMISSION,
        COMMISSION,
        "frozen",
    )
    account = _account(leader)
    assert account.credits_pending == COMMISSION and account.credit_balance == 0
    hold = Transfer.objects.get(idempotency_key=f"{commission.ref}:hold:1")
    assert hold.cause == commission.ref and hold.reason == "commission"
    assert _clean().checked["commissions"] == 1


def test_repeated_deliveries_move_money_once(paid_pickup_order, leader, point, committed, settings):
    order = paid_pickup_order()
    for _ in range(3):
        _deliver(handlers.accrue_leader_commission_on_paid, "orders.order.paid", order)
    assert LeaderCommission.objects.count() == 1
    assert Transfer.objects.filter(reason="commission", kind="pending").count() == 1
    order = _complete(order, point, leader, committed, settings)
    for _ in range(3):
        _deliver(handlers.release_leader_commission_on_completed, "orders.order.completed", order)
        _deliver(handlers.sync_leader_commission_on_refund, "orders.order.refunded", order)
        _deliver(handlers.accrue_leader_commission_on_paid, "orders.order.paid", order)
    assert Transfer.objects.filter(reason="commission_settled").count() == 1
    assert _account(leader).credit_balance == COMMISSION
    _clean()


def test_completion_makes_it_available_paid_by_the_shop(
    paid_pickup_order, leader, point, shop, committed, settings
):
    order = paid_pickup_order()
    _complete(order, point, leader, committed, settings)
    commission = LeaderCommission.objects.get()
    assert commission.state == "available" and commission.released_at is not None
    account = _account(leader)
    assert account.credit_balance == COMMISSION and account.credits_pending == 0
    # Kept back from the shop's share when the order completed, settled from there.
    kept = Transfer.objects.get(reason="commission_reserved")
    assert (kept.amount, kept.cause) == (COMMISSION, order.ref)
    assert kept.debit_account.code == f"merchant_pending:shop:{shop.public_id}"
    settled = Transfer.objects.get(reason="commission_settled")
    assert settled.debit_account.code == f"commissions_reserved:shop:{shop.public_id}"
    assert pickup_selectors.earnings_summary(user=leader) == {
        "frozen_fen": 0,
        "available_fen": COMMISSION,
        "reversed_fen": 0,
    }
    _clean()


def test_the_shop_cannot_withdraw_it_before_the_release(
    paid_pickup_order, leader, point, shop, committed, settings, django_capture_on_commit_callbacks
):
    """The order completes and the shop withdraws all it can before the release runs: the
    团长's commission was kept back at completion, so the release pays it all the same."""
    from shoploop.ledger.services import payouts

    order = paid_pickup_order()
    with committed():
        services.ship_order(order=order, actor=order.shop.owner, carrier="", tracking_number="")
        order = services.collect_pickup(point=point, actor=leader, code=order.pickup_code)
    when = order.received_at + timedelta(days=settings.ORDER_AFTER_SALE_DAYS + 1)
    with django_capture_on_commit_callbacks(execute=False):  # the completion event waits
        assert services.complete_order(order=order, now=when)
    order.refresh_from_db()
    available = Account.objects.get(code=f"merchant_available:shop:{shop.public_id}")
    fee = order.fee_fen
    assert available.credit_balance == order.total_fen - fee - COMMISSION
    payouts.request_withdrawal(
        actor=shop.owner,
        amount=available.credit_balance,
        account_holder="阿花",
        account_number="6222020200112233445",
        request_key="all-of-it",
    )
    with pytest.raises(DomainError) as refused:
        payouts.request_withdrawal(
            actor=shop.owner,
            amount=100,
            account_holder="阿花",
            account_number="6222020200112233445",
            request_key="one-more",
        )
    assert refused.value.code == "insufficient_funds"
    payouts.settle_due_withdrawals(when + timedelta(minutes=1))
    assert LeaderCommission.objects.get().state == "frozen"
    assert services.release_leader_commissions_due(when + timedelta(minutes=2)) == 1
    assert LeaderCommission.objects.get().state == "available"
    assert _account(leader).credit_balance == COMMISSION
    available.refresh_from_db()
    assert available.credit_balance == 0
    report = _clean()
    assert report.checked["withdrawals"] == 1


def test_a_partial_refund_reduces_it_in_proportion_once(
    paid_pickup_order, sku, member_buyer, leader, point, committed, settings
):
    order = paid_pickup_order((sku, 2))  # 11800 fen
    line = order.lines.get()
    with committed():
        after_sale = services.request_after_sale(
            order=order,
            actor=member_buyer,
            kind="refund_only",
            reason="少了一件",
            lines=[{"line_id": line.public_id, "quantity": 1}],
        )
        services.accept_after_sale(after_sale=after_sale, actor=order.shop.owner)
    commission = LeaderCommission.objects.get()
    assert (commission.amount_fen, commission.hold_version, commission.state) == (150, 2, "frozen")
    assert services.sync_leader_refunds(order_public_id=order.public_id) is False
    assert _account(leader).credits_pending == 150
    _clean()
    _complete(Order.objects.get(pk=order.pk), point, leader, committed, settings)
    assert _account(leader).credit_balance == 150
    _clean()


def test_a_cancellation_reverses_it_entirely_once(
    paid_pickup_order, member_buyer, leader, committed
):
    order = paid_pickup_order()
    with committed():
        services.cancel_order(order=order, actor=member_buyer)
    commission = LeaderCommission.objects.get()
    assert (commission.state, commission.amount_fen) == ("reversed", 0)
    assert services.sync_leader_refunds(order_public_id=order.public_id) is False
    _deliver(handlers.accrue_leader_commission_on_paid, "orders.order.paid", order)
    assert Transfer.objects.filter(reason="commission", kind="pending").count() == 1
    assert _account(leader).credits_pending == 0
    assert pickup_selectors.earnings_summary(user=leader)["reversed_fen"] == COMMISSION
    _clean()


def test_a_full_refund_after_shipping_reverses_it(
    paid_pickup_order, member_buyer, leader, committed
):
    order = paid_pickup_order()
    with committed():
        order = services.ship_order(
            order=order, actor=order.shop.owner, carrier="", tracking_number=""
        )
        line = order.lines.get()
        after_sale = services.request_after_sale(
            order=order,
            actor=member_buyer,
            kind="refund_only",
            reason="不要了",
            lines=[{"line_id": line.public_id, "quantity": 1}],
        )
        services.accept_after_sale(after_sale=after_sale, actor=order.shop.owner)
    commission = LeaderCommission.objects.get()
    assert (commission.state, commission.amount_fen) == ("reversed", 0)
    _clean()


def test_no_commission_no_row(pickup_checkout, pay, leader):
    pay(pickup_checkout())  # the shop's default: no commission
    assert not LeaderCommission.objects.exists()
    _clean()


def test_available_commission_is_withdrawable_through_beneficiary_withdrawals(
    paid_pickup_order, leader, point, committed, settings
):
    from shoploop.ledger.services import payouts

    request = {
        "amount": COMMISSION,
        "account_holder": "阿梅",
        "account_number": "6222020200001234",
        "request_key": "leader-w-1",
    }
    order = paid_pickup_order()
    with pytest.raises(DomainError) as frozen:
        payouts.request_beneficiary_withdrawal(actor=leader, **request)
    assert frozen.value.code == "insufficient_funds"
    _complete(order, point, leader, committed, settings)
    withdrawal = payouts.request_beneficiary_withdrawal(actor=leader, **request)
    assert withdrawal.beneficiary_ref == f"user:{leader.public_id}"
    assert _account(leader).debits_pending == COMMISSION
    _clean()


@pytest.mark.parametrize(
    "corruption, problem",
    [
        ({"amount_fen": 299}, "is 299 fen but its hold is 300"),
        ({"state": "available"}, "(available) but its hold is open"),
        ({"state": "reversed"}, "(reversed) but its hold is open"),
        ({"hold_version": 2}, "has 0 current holds"),
    ],
)
def test_verify_ledger_catches_a_lying_row(paid_pickup_order, corruption, problem):
    paid_pickup_order()
    _clean()
    LeaderCommission.objects.update(**corruption)
    report = verify_ledger()
    assert not report.ok
    assert any(problem in line for line in report.problems), report.problems


def test_verify_ledger_catches_a_deleted_row(paid_pickup_order):
    paid_pickup_order()
    LeaderCommission.objects.all().delete()
    report = verify_ledger()
    assert not report.ok
    assert any("commission" in line for line in report.problems), report.problems


def test_the_earnings_page_shows_states_and_withdraws(
    client, paid_pickup_order, leader, point, committed, settings
):
    from shoploop.ledger.models import Withdrawal

    order = paid_pickup_order()
    client.force_login(leader)
    page = client.get("/pickup/earnings/").content.decode()
    assert order.public_id in page and "Frozen" in page
    assert 'data-testid="withdraw-form"' not in page  # nothing withdrawable while frozen
    _complete(order, point, leader, committed, settings)
    page = client.get("/pickup/earnings/").content.decode()
    assert 'data-testid="withdraw-form"' in page
    answer = client.post(
        "/pickup/earnings/",
        {
            "action": "withdraw",
            "amount_yuan": "3.00",
            "account_holder": "阿梅",
            "account_number": "6222020200001234",
            "request_key": "page-w-1",
        },
    )
    assert answer.status_code == 302
    withdrawal = Withdrawal.objects.get()
    assert (withdrawal.amount, withdrawal.beneficiary_ref) == (300, f"user:{leader.public_id}")
    _clean()
