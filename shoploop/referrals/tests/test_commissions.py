"""Attribution and two-level commissions through the ledger: frozen, available, reversed."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.ledger.models import Account
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services as orders
from shoploop.orders.models import Order
from shoploop.referrals import selectors, services
from shoploop.referrals.models import (
    Attribution,
    Binding,
    Commission,
    ShareVisit,
    ShopCommission,
    ShopPromoter,
)
from shoploop.referrals.tests.conftest import complete_order

pytestmark = pytest.mark.django_db

# sku: 5900 fen; 2 of them = 11800 paid. Level 1 at 10 % = 1180, level 2 at 5 % = 590.


def _account(code):
    return Account.objects.filter(code=code).first()


def _commission_account(user):
    return _account(f"commissions:user:{user.public_id}")


def _bind(upline, promoter, sku):
    """``upline`` brought ``promoter``: promoter opened the upline's link first."""
    link = services.create_share_link(
        sharer=upline, kind="product", target_public_id=sku.product.public_id
    )
    services.record_visit(code=link.code, visitor=promoter)
    assert promoter.referral_binding.promoter == upline


def test_a_purchase_is_attributed_and_both_levels_are_frozen(
    scheme, promoter, upline, product_link, sku, buyer, bought_through
):
    _bind(upline, promoter, sku)
    order = bought_through(product_link, buyer, sku)
    attribution = Attribution.objects.get(order=order)
    assert attribution.sharer == promoter and attribution.link == product_link
    level1 = Commission.objects.get(level=1)
    level2 = Commission.objects.get(level=2)
    assert (level1.promoter, level1.amount_fen, level1.state) == (promoter, 1180, "frozen")
    assert (level2.promoter, level2.amount_fen, level2.state) == (upline, 590, "frozen")
    account = _commission_account(promoter)
    assert account.credits_pending == 1180 and account.credit_balance == 0
    product_link.refresh_from_db()
    assert product_link.purchases_count == 1
    totals = selectors.totals_of(user=promoter)
    assert totals["frozen_fen"] == 1180 and totals["available_fen"] == 0
    assert verify_ledger().ok, verify_ledger().problems


def test_completion_makes_commissions_available_paid_by_the_shop(
    scheme, promoter, upline, product_link, sku, buyer, bought_through, committed, shop
):
    _bind(upline, promoter, sku)
    order = bought_through(product_link, buyer, sku)
    complete_order(order, committed)
    assert set(Commission.objects.values_list("state", flat=True)) == {"available"}
    assert _commission_account(promoter).credit_balance == 1180
    assert _commission_account(upline).credit_balance == 590
    fee = 11800 * shop.fee_rate_bps // 10000
    available = _account(f"merchant_available:shop:{shop.public_id}")
    assert available.credit_balance == 11800 - fee - 1180 - 590
    assert _account(f"commissions_payable:shop:{shop.public_id}").debit_balance == 0
    # Kept back from the shop's share at completion, then settled from there.
    assert _account(f"commissions_reserved:shop:{shop.public_id}").credit_balance == 0
    assert _account(f"commissions_reserved:shop:{shop.public_id}").credits_posted == 1770
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.checked["commissions"] == 2


def _withdraw_everything(shop, when):
    """The shop withdraws all it may and the payout is paid: what it could take."""
    from shoploop.ledger.services import payouts

    available = _account(f"merchant_available:shop:{shop.public_id}")
    amount = available.credit_balance
    payouts.request_withdrawal(
        actor=shop.owner,
        amount=amount,
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
            request_key="one-more-yuan",
        )
    assert refused.value.code == "insufficient_funds"
    payouts.settle_due_withdrawals(when + timedelta(minutes=1))
    return amount


def test_the_shop_cannot_withdraw_what_it_owes_before_the_release(
    scheme,
    promoter,
    upline,
    product_link,
    sku,
    buyer,
    bought_through,
    committed,
    shop,
    django_capture_on_commit_callbacks,
    english,
):
    """The order completes and the shop withdraws everything it can before the release runs
    (the completion event not yet delivered): the commissions were kept back at completion, so
    the release still pays them, and the shop never had them to withdraw."""
    _bind(upline, promoter, sku)
    order = bought_through(product_link, buyer, sku)
    with committed():
        order = orders.ship_order(
            order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
        )
        order = orders.confirm_receipt(order=order, actor=order.buyer)
    when = order.received_at + timedelta(days=8)
    with django_capture_on_commit_callbacks(execute=False):  # the completion event waits
        assert orders.complete_order(order=order, now=when)
    assert set(Commission.objects.values_list("state", flat=True)) == {"frozen"}
    fee = 11800 * shop.fee_rate_bps // 10000
    assert _account(f"commissions_reserved:shop:{shop.public_id}").credit_balance == 1770
    assert _withdraw_everything(shop, when) == 11800 - fee - 1180 - 590
    assert verify_ledger().ok, verify_ledger().problems
    assert services.release_due(when + timedelta(minutes=2)) == 2
    assert set(Commission.objects.values_list("state", flat=True)) == {"available"}
    assert _commission_account(promoter).credit_balance == 1180
    assert _commission_account(upline).credit_balance == 590
    assert _account(f"merchant_available:shop:{shop.public_id}").credit_balance == 0
    assert _account(f"commissions_reserved:shop:{shop.public_id}").credit_balance == 0
    assert _account(f"commissions_payable:shop:{shop.public_id}").debit_balance == 0
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.checked["withdrawals"] == 1


def test_a_commission_accrued_after_completion_is_settled_from_available_funds(
    promoter, product_link, sku, buyer, bought_through, committed, shop
):
    """Nothing was kept back for a commission whose paid event came after the completion (here:
    the order attributed again once the shop opted in): at release it is settled from the
    shop's available funds, as before."""
    from shoploop.ledger.models import Transfer

    order = bought_through(product_link, buyer, sku)
    assert not Commission.objects.exists()  # the shop had not opted in yet
    complete_order(order, committed)
    assert not Transfer.objects.filter(reason="commission_reserved").exists()
    services.set_shop_commission(actor=shop.owner, enabled=True, level1_bps=1000, level2_bps=500)
    Attribution.objects.all().delete()
    services.attribute_order(order_public_id=order.public_id)  # the late paid event
    assert services.release_commissions(order_public_id=order.public_id) == 1
    settled = Transfer.objects.get(reason="commission_settled")
    assert settled.debit_account.code == f"merchant_available:shop:{shop.public_id}"
    assert verify_ledger().ok, verify_ledger().problems


def test_a_full_refund_reverses_the_commission_exactly_once(
    scheme, promoter, product_link, sku, buyer, bought_through, committed
):
    order = bought_through(product_link, buyer, sku)
    with committed():
        orders.cancel_order(order=order, actor=order.shop.owner)
    commission = Commission.objects.get()
    assert (commission.state, commission.amount_fen) == ("reversed", 0)
    assert services.sync_refunds(order_public_id=order.public_id) == 0  # a repeat: nothing
    assert _commission_account(promoter).credits_pending == 0
    assert verify_ledger().ok, verify_ledger().problems


def test_a_partial_refund_reverses_in_proportion(
    scheme, promoter, product_link, sku, buyer, bought_through, committed
):
    order = bought_through(product_link, buyer, sku)
    line = order.lines.get()
    with committed():
        after_sale = orders.request_after_sale(
            order=order,
            actor=buyer,
            kind="refund_only",
            reason="少发了一件",
            lines=[{"line_id": line.public_id, "quantity": 1}],
        )
        orders.accept_after_sale(after_sale=after_sale, actor=order.shop.owner)
    commission = Commission.objects.get()
    assert commission.state == "frozen" and commission.amount_fen == 590
    assert commission.hold_version == 2
    assert services.sync_refunds(order_public_id=order.public_id) == 0
    assert _commission_account(promoter).credits_pending == 590
    assert verify_ledger().ok, verify_ledger().problems
    complete_order(Order.objects.get(pk=order.pk), committed)
    assert _commission_account(promoter).credit_balance == 590
    assert verify_ledger().ok, verify_ledger().problems


def test_buying_through_ones_own_link_earns_nothing(
    scheme, promoter, product_link, sku, bought_through
):
    bought_through(product_link, promoter, sku)
    assert not Attribution.objects.exists() and not Commission.objects.exists()


def test_the_last_link_within_the_window_wins(
    scheme, promoter, upline, sku, buyer, bought_through, settings
):
    settings.REFERRALS_ATTRIBUTION_DAYS = 7
    other = services.create_share_link(
        sharer=upline, kind="product", target_public_id=sku.product.public_id
    )
    services.record_visit(code=other.code, visitor=buyer)
    mine = services.create_share_link(
        sharer=promoter, kind="product", target_public_id=sku.product.public_id
    )
    order = bought_through(mine, buyer, sku)
    assert Attribution.objects.get(order=order).sharer == promoter


def test_a_visit_older_than_the_window_is_not_attributed(
    scheme, promoter, product_link, sku, buyer, place, pay, settings
):
    settings.REFERRALS_ATTRIBUTION_DAYS = 7
    services.record_visit(code=product_link.code, visitor=buyer)
    ShareVisit.objects.update(created_at=clock.now() - timedelta(days=8))
    pay(place((sku, 1), user=buyer))
    assert not Attribution.objects.exists()


def test_no_scheme_no_commission_but_still_attributed(
    promoter, product_link, sku, buyer, bought_through
):
    bought_through(product_link, buyer, sku)
    assert Attribution.objects.count() == 1 and not Commission.objects.exists()


def test_a_shop_that_requires_approval_pays_only_approved_promoters(
    shop, promoter, product_link, sku, buyer, make_user, bought_through
):
    services.set_shop_commission(
        actor=shop.owner, enabled=True, level1_bps=1000, level2_bps=0, requires_approval=True
    )
    application = services.apply_to_shop(user=promoter, shop_public_id=shop.public_id)
    assert application.state == "pending"
    bought_through(product_link, buyer, sku)
    assert not Commission.objects.exists()
    services.decide_application(actor=shop.owner, application_id=application.pk, approve=True)
    with pytest.raises(DomainError):
        services.decide_application(actor=shop.owner, application_id=application.pk, approve=False)
    assert ShopPromoter.objects.get().state == "approved"
    bought_through(product_link, make_user(), sku, quantity=1)
    assert Commission.objects.get().amount_fen == 590


def test_product_override_and_daily_cap(
    scheme, shop, promoter, product_link, sku, buyer, bought_through, settings
):
    services.set_product_commission(
        actor=shop.owner, product_public_id=sku.product.public_id, level1_bps=2000, level2_bps=0
    )
    settings.REFERRALS_DAILY_CAP_FEN = 3000
    bought_through(product_link, buyer, sku)  # 20 % of 11800 = 2360
    assert Commission.objects.get().amount_fen == 2360
    second_buyer = type(buyer).objects.create_user("+8613911110000")
    bought_through(product_link, second_buyer, sku)  # only 640 of room left today
    assert sorted(Commission.objects.values_list("amount_fen", flat=True)) == [640, 2360]
    assert verify_ledger().ok


@pytest.mark.parametrize(
    ("level1", "level2", "code"),
    [
        (2500, 600, "commission_above_cap"),
        (-1, 0, "invalid_commission_rates"),
        ("10", 0, "invalid_commission_rates"),
        (None, 0, "invalid_commission_rates"),
    ],
)
def test_rates_above_the_cap_or_malformed_are_refused(shop, level1, level2, code):
    with pytest.raises(DomainError) as failure:
        services.set_shop_commission(
            actor=shop.owner, enabled=True, level1_bps=level1, level2_bps=level2
        )
    assert failure.value.code == code
    assert not ShopCommission.objects.exists()


def test_only_a_merchant_sets_rates(make_user):
    with pytest.raises(DomainError) as failure:
        services.set_shop_commission(
            actor=make_user(), enabled=True, level1_bps=100, level2_bps=100
        )
    assert failure.value.code == "no_shop"


def test_binding_is_decided_once_never_self_never_circular(promoter, upline, sku, make_user):
    _bind(upline, promoter, sku)
    # The promoter's own link cannot bind the upline to them: that would be a circle.
    back = services.create_share_link(
        sharer=promoter, kind="product", target_public_id=sku.product.public_id
    )
    services.record_visit(code=back.code, visitor=upline)
    assert not Binding.objects.filter(user=upline).exists()
    # Nor a longer circle: upline ← promoter ← friend, then friend's link for upline.
    friend = make_user()
    services.become_promoter(user=friend)
    services.record_visit(code=back.code, visitor=friend)
    assert friend.referral_binding.promoter == promoter
    friends_link = services.create_share_link(
        sharer=friend, kind="product", target_public_id=sku.product.public_id
    )
    services.record_visit(code=friends_link.code, visitor=upline)
    assert not Binding.objects.filter(user=upline).exists()
    # Once bound, another promoter's link changes nothing.
    services.record_visit(code=friends_link.code, visitor=promoter)
    promoter.referral_binding.refresh_from_db()
    assert promoter.referral_binding.promoter == upline
    # Own link: no self-binding.
    services.record_visit(code=back.code, visitor=promoter)
    assert Binding.objects.filter(user=promoter).count() == 1


def test_an_expired_binding_can_be_replaced(promoter, upline, sku, make_user, settings):
    settings.REFERRALS_BINDING_DAYS = 30
    _bind(upline, promoter, sku)
    Binding.objects.update(expires_at=clock.now() - timedelta(seconds=1))
    other = make_user()
    services.become_promoter(user=other)
    link = services.create_share_link(
        sharer=other, kind="product", target_public_id=sku.product.public_id
    )
    services.record_visit(code=link.code, visitor=promoter)
    assert Binding.objects.get(user=promoter).promoter == other


def test_suspicious_clusters_are_listed(promoter, product_link, make_user, settings):
    settings.REFERRALS_CLUSTER_SIZE = 3
    for i in range(3):
        services.record_visit(
            code=product_link.code, visitor=make_user(phone=f"+861391234{i:04d}"), ip="203.0.113.5"
        )
    clusters = selectors.suspicious_clusters()
    signals = {cluster.signal for cluster in clusters}
    assert signals == {"network", "phone_prefix"}
    assert all(
        cluster.users == 3 and cluster.promoter_public_id == promoter.public_id
        for cluster in clusters
    )


def test_commission_api_and_console(
    client, shop, scheme, promoter, product_link, sku, buyer, bought_through
):
    bought_through(product_link, buyer, sku)
    client.force_login(promoter)
    [row] = client.get("/api/v1/referrals/commissions").json()
    assert row["state"] == "frozen" and row["amount_fen"] == 1180 and row["level"] == 1
    assert "11.80" in client.get("/me/shares/").content.decode()
    client.force_login(shop.owner)
    response = client.put(
        "/api/v1/referrals/console/scheme",
        {"enabled": True, "level1_bps": 2900, "level2_bps": 200},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "commission_above_cap"
    assert ShopCommission.objects.get().level1_bps == 1000
    page = client.get("/console/commissions/")
    assert page.status_code == 200
    client.post(
        "/console/commissions/",
        {"action": "scheme", "enabled": "on", "level1_bps": "800", "level2_bps": "200"},
    )
    assert ShopCommission.objects.get().level1_bps == 800


def test_frozen_commissions_cannot_be_withdrawn_available_ones_are_paid_out(
    client, scheme, promoter, product_link, sku, buyer, bought_through, committed
):
    from shoploop.ledger.models import Withdrawal
    from shoploop.ledger.services import payouts

    order = bought_through(product_link, buyer, sku)
    request = {
        "amount": 1180,
        "account_holder": "阿明",
        "account_number": "6222020200001234",
        "request_key": "w-1",
    }
    with pytest.raises(DomainError) as failure:
        payouts.request_beneficiary_withdrawal(actor=promoter, **request)
    assert failure.value.code == "insufficient_funds"
    assert not Withdrawal.objects.exists()
    complete_order(order, committed)
    client.force_login(promoter)
    response = client.post(
        "/api/v1/referrals/withdrawals", request, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    again = client.post("/api/v1/referrals/withdrawals", request, content_type="application/json")
    assert again.json()["id"] == response.json()["id"]  # the same key: one withdrawal
    too_much = client.post(
        "/api/v1/referrals/withdrawals",
        {**request, "request_key": "w-2", "amount": 100},
        content_type="application/json",
    )
    assert too_much.status_code == 409 or too_much.status_code == 422
    assert Withdrawal.objects.count() == 1
    assert verify_ledger().ok, verify_ledger().problems
    with committed():
        payouts.settle_due_withdrawals(clock.now() + timedelta(minutes=1))
    withdrawal = Withdrawal.objects.get()
    assert withdrawal.state == "paid" and withdrawal.shop is None
    assert _commission_account(promoter).credit_balance == 0
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.checked["withdrawals"] == 1


def test_a_paid_event_delivered_after_the_cancellation_freezes_nothing(
    scheme, promoter, product_link, sku, buyer, committed, place, pay
):
    """The paid event's handler may run late (a retry), after the cancelled event found nothing
    to reverse: a commission accrued then would stay frozen for ever on a refunded order."""
    checkout = place((sku, 2), user=buyer)
    pay(checkout)  # no visit yet: nothing attributed
    order = Order.objects.get(checkout=checkout)
    with committed():
        orders.cancel_order(order=order, actor=order.shop.owner)
    ShareVisit.objects.create(
        link=product_link, visitor=buyer, created_at=order.paid_at - timedelta(minutes=1)
    )
    services.attribute_order(order_public_id=order.public_id)  # the late delivery
    assert not Commission.objects.filter(state="frozen").exists()
    assert _commission_account(promoter) is None or (
        _commission_account(promoter).credits_pending == 0
    )
    assert verify_ledger().ok, verify_ledger().problems


def test_one_release_that_fails_does_not_hold_back_the_others(
    scheme, promoter, product_link, sku, buyer, bought_through, shop, monkeypatch
):
    """release_due is the net for lost completion events: a shop that withdrew its funds
    (insufficient_funds) must not keep every other completed order's commission frozen."""
    from shoploop.ledger.errors import InsufficientFunds
    from shoploop.ledger.services import commissions as ledger_commissions

    first = bought_through(product_link, buyer, sku, quantity=1)
    second = bought_through(product_link, buyer, sku, quantity=1)
    Order.objects.filter(pk__in=[first.pk, second.pk]).update(state=Order.State.COMPLETED)
    available = ledger_commissions.open_account(
        kind="merchant_available", owner_ref=f"shop:{shop.public_id}"
    )
    Account.objects.filter(pk=available.pk).update(credits_posted=100_000)
    real = ledger_commissions.release_commission
    failing = {c.ref for c in Commission.objects.all()}
    failing = {failing.pop()}  # one of the two cannot be settled

    def release(*, ref, **kwargs):
        if ref in failing:
            raise InsufficientFunds()
        return real(ref=ref, **kwargs)

    monkeypatch.setattr(ledger_commissions, "release_commission", release)
    assert services.release_due(clock.now()) == 1
    states = sorted(Commission.objects.values_list("state", flat=True))
    assert states == ["available", "frozen"]


@pytest.mark.parametrize("typed", ["Infinity", "-inf", "NaN", "sNaN", "12.5.0", ""])
def test_a_withdrawal_amount_that_is_no_number_is_refused_on_the_page(client, promoter, typed):
    from shoploop.ledger.models import Withdrawal

    client.force_login(promoter)
    response = client.post(
        "/me/shares/",
        {
            "action": "withdraw",
            "amount_yuan": typed,
            "account_holder": "阿明",
            "account_number": "6222020200001234",
            "request_key": "w-page",
        },
    )
    assert response.status_code == 302
    assert not Withdrawal.objects.exists()
