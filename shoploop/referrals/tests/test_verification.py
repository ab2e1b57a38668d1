"""verify_ledger covers commissions: a clean world, then each corruption named."""

import pytest
from django.db.models import F

from shoploop.ledger.models import Account, AccountKind, Transfer
from shoploop.ledger.services import commissions as ledger_commissions
from shoploop.ledger.services.transfers import open_account, transfer
from shoploop.ledger.verification import verify_ledger
from shoploop.referrals.models import Commission
from shoploop.referrals.tests.conftest import complete_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen(scheme, promoter, product_link, sku, buyer, bought_through):
    bought_through(product_link, buyer, sku)
    assert verify_ledger().ok
    return Commission.objects.get()


def _problems():
    report = verify_ledger()
    assert not report.ok
    return "\n".join(report.problems)


def test_a_clean_world_counts_its_commissions(frozen):
    assert verify_ledger().checked["commissions"] == 1


def test_a_row_whose_amount_disagrees_with_its_hold(frozen):
    Commission.objects.filter(pk=frozen.pk).update(amount_fen=1000)
    assert "is 1000 fen but its hold is 1180" in _problems()


def test_a_row_claiming_available_while_its_hold_is_open(frozen):
    Commission.objects.filter(pk=frozen.pk).update(state="available")
    problems = _problems()
    assert "(available) but its hold is open" in problems
    assert f"{frozen.ref} (available) has 0 settlement transfers, expected 1" in problems


def test_a_row_claiming_reversed_while_its_hold_is_open(frozen):
    Commission.objects.filter(pk=frozen.pk).update(state="reversed", amount_fen=0)
    assert "(reversed) but its hold is open" in _problems()


def test_a_commission_transfer_naming_no_row(frozen, shop, promoter):
    ledger_commissions.accrue_commission(
        ref="commission:ghost",
        shop_public_id=shop.public_id,
        beneficiary_ref=f"user:{promoter.public_id}",
        amount=500,
    )
    assert "commission for 'commission:ghost', which is no commission" in _problems()


def test_a_second_hold_for_one_row(frozen, shop, promoter):
    ledger_commissions.accrue_commission(
        ref=frozen.ref,
        shop_public_id=shop.public_id,
        beneficiary_ref=f"user:{promoter.public_id}",
        amount=1180,
        version=7,
    )
    assert "an earlier hold" in _problems()


def test_a_settlement_of_a_frozen_commission(frozen, shop):
    available = open_account(
        kind=AccountKind.MERCHANT_AVAILABLE, owner_ref=f"shop:{shop.public_id}"
    )
    payable = ledger_commissions.payable_account(shop.public_id)
    Account.objects.filter(pk=available.pk).update(credits_posted=10_000)  # room to move
    # The payable account's limit refuses this already; lift it, as a hand edit would.
    Account.objects.filter(pk=payable.pk).update(limit="none")
    payable.refresh_from_db()
    transfer(
        key="forged-settle",
        debit=available,
        credit=payable,
        amount=1180,
        reason="commission_settled",
        cause=frozen.ref,
    )
    problems = _problems()
    assert "(frozen) but the shop settled it" in problems


def test_a_hold_to_someone_else(frozen, make_user):
    stranger = make_user()
    other = open_account(kind=AccountKind.COMMISSIONS, owner_ref=f"user:{stranger.public_id}")
    Transfer.objects.filter(idempotency_key=f"{frozen.ref}:hold:1").update(credit_account=other)
    assert "was held" in _problems()


@pytest.fixture
def released(frozen, committed):
    complete_order(frozen.order, committed)
    frozen.refresh_from_db()
    assert frozen.state == "available"
    assert verify_ledger().ok, verify_ledger().problems
    return frozen


def test_kept_back_for_another_amount(released):
    Transfer.objects.filter(idempotency_key=f"{released.ref}:reserve").update(amount=1000)
    problems = _problems()
    assert "is 1180 fen but 1000 was kept back" in problems
    assert "shop share, fee and commissions kept move" in problems


def test_kept_back_for_no_commission(released, shop):
    pending = open_account(kind=AccountKind.MERCHANT_PENDING, owner_ref=f"shop:{shop.public_id}")
    Account.objects.filter(pk=pending.pk).update(credits_posted=F("credits_posted") + 500)
    pending.refresh_from_db()
    transfer(
        key="commission:ghost:reserve",
        debit=pending,
        credit=ledger_commissions.reserved_account(shop.public_id),
        amount=500,
        reason="commission_reserved",
        cause=f"order:{released.order.public_id}",
    )
    assert "keyed 'commission:ghost:reserve', which is no commission" in _problems()


def test_settled_from_available_funds_though_kept_back(released, shop):
    available = open_account(
        kind=AccountKind.MERCHANT_AVAILABLE, owner_ref=f"shop:{shop.public_id}"
    )
    Transfer.objects.filter(idempotency_key=f"{released.ref}:settle").update(
        debit_account=available
    )
    assert "was settled from merchant_available" in _problems()


# --- cases mutation testing of the commissions' reconciliation showed untested -------------------


def test_a_row_in_an_unknown_state_is_named(frozen):
    Commission.objects.filter(pk=frozen.pk).update(state="weird")
    assert f"{frozen.ref} (weird): unknown state" in _problems()


def test_a_row_whose_current_hold_is_missing_is_named(frozen):
    Commission.objects.filter(pk=frozen.pk).update(hold_version=F("hold_version") + 1)
    assert f"{frozen.ref} (frozen) has 0 current holds, expected 1" in _problems()


def test_a_commission_reversed_by_a_cancellation_reconciles_and_nothing_may_be_kept_for_it(
    frozen, committed, shop
):
    from shoploop.orders import services as orders

    order = frozen.order
    with committed():
        orders.cancel_order(order=order, actor=order.buyer)
    frozen.refresh_from_db()
    assert (frozen.state, frozen.amount_fen) == ("reversed", 0)
    report = verify_ledger()
    assert report.ok, report.problems
    # Something kept back at the shop for the reversed commission (written past the services).
    Transfer.objects.bulk_create(
        [
            Transfer(
                idempotency_key=f"{frozen.ref}:reserve",
                kind="single",
                debit_account=open_account(
                    kind=AccountKind.MERCHANT_PENDING, owner_ref=f"shop:{shop.public_id}"
                ),
                credit_account=ledger_commissions.reserved_account(shop.public_id),
                amount=1180,
                reason="commission_reserved",
                cause=f"order:{order.public_id}",
            )
        ]
    )
    assert f"{frozen.ref} (reversed) but 1180 fen was kept back for it" in _problems()


def test_a_hold_posted_for_another_amount_is_named(released):
    hold = Transfer.objects.get(idempotency_key=f"{released.ref}:hold:1")
    Transfer.objects.filter(pending_id=hold.pk).update(amount=1000)
    assert f"{released.ref} (available): its hold was resolved for another amount" in _problems()


def test_kept_back_into_another_account_is_named(released, make_user):
    stranger = open_account(kind=AccountKind.COMMISSIONS_RESERVED, owner_ref="shop:elsewhere")
    Transfer.objects.filter(idempotency_key=f"{released.ref}:reserve").update(
        credit_account=stranger
    )
    assert (
        f"{released.ref} (available) was kept back as commission_reserved in {stranger.code}"
        in _problems()
    )


def test_kept_back_from_another_account_is_named(released):
    elsewhere = open_account(kind=AccountKind.MERCHANT_PENDING, owner_ref="shop:elsewhere")
    Transfer.objects.filter(idempotency_key=f"{released.ref}:reserve").update(
        debit_account=elsewhere
    )
    assert f"{released.ref} (available) was kept back from {elsewhere.code}" in _problems()


def test_a_commission_accrued_after_its_order_completed_is_settled_from_available_funds(
    scheme, promoter, product_link, sku, buyer, bought_through, committed, monkeypatch
):
    """Its order completed before the attribution (a late delivery): nothing was kept back at
    the completion, so the shop pays the commission from its available funds."""
    from shoploop.referrals import services

    monkeypatch.setattr(services, "attribute_order", lambda **kwargs: None)
    order = complete_order(bought_through(product_link, buyer, sku), committed)
    assert not Commission.objects.exists()
    monkeypatch.undo()
    with committed():
        services.attribute_order(order_public_id=order.public_id)
        services.release_commissions(order_public_id=order.public_id)
    commission = Commission.objects.get()
    assert commission.state == "available"
    settle = Transfer.objects.get(idempotency_key=f"{commission.ref}:settle")
    assert settle.debit_account.kind == AccountKind.MERCHANT_AVAILABLE
    report = verify_ledger()
    assert report.ok, report.problems


def test_every_commission_is_counted(frozen, product_link, sku, make_user, bought_through):
    bought_through(product_link, make_user(display_name="第二位买家"), sku)
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.checked["commissions"] == 2


def test_a_settlement_of_no_commission_is_named(frozen, shop):
    available = open_account(
        kind=AccountKind.MERCHANT_AVAILABLE, owner_ref=f"shop:{shop.public_id}"
    )
    (move,) = Transfer.objects.bulk_create(
        [
            Transfer(
                idempotency_key="commission:ghost:settle",
                kind="single",
                debit_account=available,
                credit_account=ledger_commissions.payable_account(shop.public_id),
                amount=100,
                reason="commission_settled",
                cause="commission:ghost",
            )
        ]
    )
    assert (
        f"transfer {move.public_id}: commission_settled for 'commission:ghost', "
        "which is no commission"
    ) in _problems()


def test_a_promoters_withdrawal_of_commissions_reconciles(released, promoter):
    from shoploop.core import clock
    from shoploop.ledger.services import payouts

    withdrawal = payouts.request_beneficiary_withdrawal(
        actor=promoter,
        amount=1000,
        account_holder="阿明",
        account_number="6222021234567890",
        request_key="promoter-1",
    )
    assert withdrawal.beneficiary_ref == f"user:{promoter.public_id}"
    report = verify_ledger()
    assert report.ok, report.problems
    assert payouts.settle_due_withdrawals(clock.now()) == 1
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.checked["payouts"] == 1
