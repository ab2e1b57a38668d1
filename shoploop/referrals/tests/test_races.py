"""Races on PostgreSQL: repeated payment events and concurrent refunds never double-count."""

import pytest

from shoploop.core.testing import race
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services as orders
from shoploop.orders.models import Order
from shoploop.referrals import services
from shoploop.referrals.models import Attribution, Binding, Commission

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paid_unhandled(scheme, promoter, upline, sku, buyer, place, pay, monkeypatch):
    """A buyer who opened two links (the promoter's last) and paid, with the referrals
    subscriber of ``orders.order.paid`` held back, so the race below is its first delivery."""
    first = services.create_share_link(
        sharer=upline, kind="product", target_public_id=sku.product.public_id
    )
    services.record_visit(code=first.code, visitor=promoter)  # upline brought the promoter
    services.record_visit(code=first.code, visitor=buyer)
    second = services.create_share_link(
        sharer=promoter, kind="product", target_public_id=sku.product.public_id
    )
    services.record_visit(code=second.code, visitor=buyer)
    checkout = place((sku, 2), user=buyer)
    with monkeypatch.context() as patch:
        patch.setattr(services, "attribute_order", lambda **kwargs: None)
        pay(checkout)
    assert not Attribution.objects.exists()
    return Order.objects.get(checkout=checkout)


def _no_errors(outcomes):
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes


def test_two_links_one_purchase_eight_deliveries_at_once(paid_unhandled, promoter, upline):
    outcomes = race(
        lambda *_: services.attribute_order(order_public_id=paid_unhandled.public_id), 8
    )
    _no_errors(outcomes)
    assert Attribution.objects.get(order=paid_unhandled).sharer == promoter
    assert Commission.objects.get(level=1).promoter == promoter
    assert Commission.objects.get(level=2).promoter == upline
    assert Commission.objects.count() == 2
    report = verify_ledger()
    assert report.ok, report.problems


def test_concurrent_refund_deliveries_reverse_once(paid_unhandled, monkeypatch):
    services.attribute_order(order_public_id=paid_unhandled.public_id)
    with monkeypatch.context() as patch:
        patch.setattr(services, "sync_refunds", lambda **kwargs: 0)
        orders.cancel_order(order=paid_unhandled, actor=paid_unhandled.shop.owner)
    assert set(Commission.objects.values_list("state", flat=True)) == {"frozen"}
    outcomes = race(lambda *_: services.sync_refunds(order_public_id=paid_unhandled.public_id), 6)
    _no_errors(outcomes)
    assert sum(o for o in outcomes if isinstance(o, int)) == 2  # two commissions, once each
    assert set(Commission.objects.values_list("state", flat=True)) == {"reversed"}
    report = verify_ledger()
    assert report.ok, report.problems


def test_release_racing_a_refund_delivery(paid_unhandled, committed_order):
    """Completion makes a refund impossible; a late refund delivery and the release racing
    each other leave the commission either available (and never reversed) — never both."""
    order = committed_order(paid_unhandled)
    outcomes = race(
        lambda i: (services.release_commissions if i % 2 else services.sync_refunds)(
            order_public_id=order.public_id
        ),
        6,
    )
    _no_errors(outcomes)
    assert set(Commission.objects.values_list("state", flat=True)) == {"available"}
    report = verify_ledger()
    assert report.ok, report.problems


@pytest.fixture
def committed_order(monkeypatch):
    from datetime import timedelta

    from shoploop.core.deadlines import settle_due

    def run(order):
        services.attribute_order(order_public_id=order.public_id)
        with monkeypatch.context() as patch:
            patch.setattr(services, "release_commissions", lambda **kwargs: 0)
            patch.setattr(services, "release_due", lambda now: 0)
            order = orders.ship_order(
                order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
            )
            order = orders.confirm_receipt(order=order, actor=order.buyer)
            settle_due(order.received_at + timedelta(days=7))
        order.refresh_from_db()
        assert order.state == Order.State.COMPLETED
        assert set(Commission.objects.values_list("state", flat=True)) == {"frozen"}
        return order

    return run


def test_two_bindings_at_once_cannot_close_a_circle(make_user, sku, monkeypatch):
    """B→C and D→A exist; A→B and C→D at once would close A→B→C→D→A. Each binding's check reads
    the chain above its promoter; the second must read it after the first commits."""
    import contextlib
    import threading

    a, b, c, d = (make_user(display_name=name) for name in "ABCD")
    for person in (a, b, c, d):
        services.become_promoter(user=person)

    def link_of(sharer):
        return services.create_share_link(
            sharer=sharer, kind="product", target_public_id=sku.product.public_id
        ).code

    services.record_visit(code=link_of(c), visitor=b)  # B bound to C
    services.record_visit(code=link_of(a), visitor=d)  # D bound to A
    links = {0: (link_of(b), a), 1: (link_of(d), c)}  # A→B and C→D
    checked = threading.Barrier(2)
    original = services._chain_contains

    def check_then_wait_for_the_other(**kwargs):
        found = original(**kwargs)
        # Both checks before either insert, unless the other is kept waiting.
        with contextlib.suppress(threading.BrokenBarrierError):
            checked.wait(timeout=3)
        return found

    monkeypatch.setattr(services, "_chain_contains", check_then_wait_for_the_other)
    outcomes = race(lambda i: services.record_visit(code=links[i][0], visitor=links[i][1]), 2)
    _no_errors(outcomes)
    made = set(Binding.objects.values_list("user__display_name", "promoter__display_name"))
    assert {("B", "C"), ("D", "A")} <= made
    assert len(made & {("A", "B"), ("C", "D")}) == 1, made


def test_withdrawals_racing_the_completion_never_take_the_commission(
    paid_unhandled, shop, monkeypatch
):
    """The order completes while the shop fires withdrawals of everything it could have had
    without the commissions: whichever commits first, the shop never reaches the commissions
    (kept back in the completion's own transaction), and the release that follows pays them."""
    from datetime import timedelta

    from shoploop.core import clock
    from shoploop.core.errors import DomainError
    from shoploop.ledger.models import Account, Withdrawal
    from shoploop.ledger.services import payouts

    services.attribute_order(order_public_id=paid_unhandled.public_id)
    order = orders.ship_order(
        order=paid_unhandled,
        actor=paid_unhandled.shop.owner,
        carrier="sf",
        tracking_number="SF123456789012",
    )
    order = orders.confirm_receipt(order=order, actor=order.buyer)
    when = order.received_at + timedelta(days=8)
    fee = order.net_fen * shop.fee_rate_bps // 10_000
    owed = sum(Commission.objects.values_list("amount_fen", flat=True))
    assert owed > 0

    def work(index):
        if index == 0:
            return orders.complete_order(order=order, now=when)
        try:
            return payouts.request_withdrawal(
                actor=shop.owner,
                amount=order.net_fen - fee - (owed if index % 2 else 0),
                account_holder="阿花",
                account_number="6222020200112233445",
                request_key=f"race-{index}",
            )
        except DomainError as refused:
            return refused.code

    with monkeypatch.context() as patch:
        patch.setattr(services, "release_commissions", lambda **kwargs: 0)
        outcomes = race(work, 6)
    assert outcomes[0] is True
    assert all(o == "insufficient_funds" or isinstance(o, Withdrawal) for o in outcomes[1:])
    taken = sum(w.amount for w in Withdrawal.objects.all())
    assert taken <= order.net_fen - fee - owed
    assert services.release_due(clock.now()) == Commission.objects.count()
    assert set(Commission.objects.values_list("state", flat=True)) == {"available"}
    available = Account.objects.get(code=f"merchant_available:shop:{shop.public_id}")
    assert available.credits_posted == order.net_fen - fee - owed  # the shop's share only
    assert available.debits_posted + available.debits_pending == taken
    report = verify_ledger()
    assert report.ok, report.problems
