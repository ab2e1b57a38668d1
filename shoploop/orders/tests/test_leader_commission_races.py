"""PostgreSQL: concurrent deliveries of the order events move the 团长's commission once."""

import pytest

from shoploop.core.testing import race
from shoploop.ledger.models import Transfer
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import LeaderCommission

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paid_unhandled(pickup_checkout, pay, merchant, shop, monkeypatch):
    """A paid pickup order with a 300 fen commission whose ``orders.order.paid`` subscriber was
    held back, so the race below is its first delivery."""
    services.update_shop_pickup_settings(
        actor=merchant, shop=shop, offers_pickup=True, leader_commission_fen=300
    )
    checkout = pickup_checkout()
    with monkeypatch.context() as patch:
        patch.setattr(services, "accrue_leader_commission", lambda **kwargs: None)
        pay(checkout)
    assert not LeaderCommission.objects.exists()
    return checkout.orders.get()


def _no_errors(outcomes):
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes


def test_eight_paid_deliveries_at_once_hold_once(paid_unhandled, leader):
    outcomes = race(
        lambda *_: services.accrue_leader_commission(order_public_id=paid_unhandled.public_id), 8
    )
    _no_errors(outcomes)
    commission = LeaderCommission.objects.get()
    assert {o.pk for o in outcomes} == {commission.pk}
    assert (commission.leader, commission.amount_fen, commission.state) == (leader, 300, "frozen")
    assert Transfer.objects.filter(reason="commission").count() == 1
    report = verify_ledger()
    assert report.ok, report.problems


def test_concurrent_refund_deliveries_reverse_once(paid_unhandled, member_buyer, monkeypatch):
    services.accrue_leader_commission(order_public_id=paid_unhandled.public_id)
    with monkeypatch.context() as patch:
        patch.setattr(services, "sync_leader_refunds", lambda **kwargs: False)
        services.cancel_order(order=paid_unhandled, actor=member_buyer)
    assert LeaderCommission.objects.get().state == "frozen"
    outcomes = race(
        lambda *_: services.sync_leader_refunds(order_public_id=paid_unhandled.public_id), 6
    )
    _no_errors(outcomes)
    assert outcomes.count(True) == 1
    assert LeaderCommission.objects.get().state == "reversed"
    report = verify_ledger()
    assert report.ok, report.problems
