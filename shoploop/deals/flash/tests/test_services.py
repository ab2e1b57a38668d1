"""Flash-sale rules: creation, buying, limits, payment outcomes, deadlines."""

from datetime import timedelta

import pytest

from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from shoploop.core.events import recorded_events
from shoploop.deals.flash import selectors, services
from shoploop.deals.flash.models import FlashPurchase, FlashQuota, FlashSale
from shoploop.ledger.models import Payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for, as_buyer

pytestmark = pytest.mark.django_db


def _sku_stock(sku) -> int:
    return SKU.objects.get(pk=sku.pk).stock


def _fresh(sale) -> FlashSale:
    return FlashSale.objects.get(pk=sale.pk)


def _code(excinfo) -> str:
    return excinfo.value.code


# --- creation -----------------------------------------------------------------------------------


def test_creating_carves_the_stock_from_the_sku(make_sku, shop, make_sale):
    sku = make_sku(shop=shop, price_fen=5900, stock=30)
    sale = make_sale(sku=sku, stock=12, limit=2)
    assert _sku_stock(sku) == 18
    assert (sale.stock, sale.available, sale.per_user_limit) == (12, 12, 2)
    assert sale.status() == "live"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"price_fen": 5900}, "price_not_below"),
        ({"price_fen": 6000}, "price_not_below"),
        ({"price_fen": 0}, None),
        ({"stock": 51}, "not_enough_stock"),
        ({"stock": 0}, None),
        ({"per_user_limit": 0}, None),
        ({"per_user_limit": 6}, None),  # above the sale's stock
        ({"starts_at": "past"}, "starts_in_past"),
        ({"ends_at": "before"}, "ends_before_start"),
        ({"ends_at": "naive"}, None),
        ({"stock": "5"}, None),
    ],
)
def test_settings_that_make_no_sense_are_refused_and_change_nothing(sale_args, changes, code):
    now = clock.now()
    args = sale_args(**changes)
    sku = args["sku"]
    if changes.get("starts_at") == "past":
        args["starts_at"] = now - timedelta(hours=1)
    if changes.get("ends_at") == "before":
        args["ends_at"] = args["starts_at"] - timedelta(minutes=1)
    if changes.get("ends_at") == "naive":
        args["ends_at"] = (now + timedelta(hours=1)).replace(tzinfo=None)
    with pytest.raises(ValidationFailed) as excinfo:
        services.create_sale(**args)
    if code:
        assert _code(excinfo) == code
    assert not FlashSale.objects.exists()
    assert _sku_stock(sku) == 50


def test_another_merchants_shop_or_sku_is_forbidden(
    make_sku, shop, other_shop, merchant, other_merchant
):
    sku = make_sku(shop=shop)
    other_sku = make_sku(shop=other_shop)
    ends_at = clock.now() + timedelta(hours=1)
    with pytest.raises(PermissionDenied):
        services.create_sale(
            shop=shop, actor=other_merchant, sku=sku, price_fen=100, stock=1, ends_at=ends_at
        )
    with pytest.raises(PermissionDenied):
        services.create_sale(
            shop=shop, actor=merchant, sku=other_sku, price_fen=100, stock=1, ends_at=ends_at
        )
    assert not FlashSale.objects.exists()


def test_another_merchant_cannot_pause_or_end(sale, other_merchant, buyer):
    for action in (services.pause_sale, services.end_sale, services.resume_sale):
        with pytest.raises(PermissionDenied):
            action(sale=sale, actor=other_merchant)
        with pytest.raises(PermissionDenied):
            action(sale=sale, actor=buyer)
    assert _fresh(sale).state == FlashSale.State.SCHEDULED


# --- buying ------------------------------------------------------------------------------------


def test_buying_reserves_a_unit_and_places_the_deal_order(sale, buyer):
    purchase = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    order = purchase.order
    assert purchase.state == FlashPurchase.State.RESERVED
    assert order.state == Order.State.PENDING_PAYMENT
    assert order.total_fen == 1990
    assert order.checkout.deal_ref == f"flash:{purchase.public_id}"
    assert order.checkout.expires_at == purchase.reserved_until
    assert purchase.reserved_until == purchase.created_at + services.payment_window()
    assert _fresh(sale).available == 4
    counts = selectors.counts(sale=sale)
    assert (counts.reserved, counts.sold) == (1, 0)


def test_before_the_start_after_the_end_and_paused_are_refused(make_sale, buyer):
    upcoming = make_sale(starts_in=timedelta(minutes=30))
    with pytest.raises(Conflict) as excinfo:
        services.buy(sale=upcoming, user=buyer, address_id=address_id_for(buyer))
    assert _code(excinfo) == "not_started"

    sale = make_sale()
    with clock.frozen_at(sale.ends_at), pytest.raises(Conflict) as excinfo:
        services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    assert _code(excinfo) == "ended"

    services.pause_sale(sale=sale, actor=sale.shop.owner)
    with pytest.raises(Conflict) as excinfo:
        services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    assert _code(excinfo) == "paused"
    # A stale copy of the sale (read before the pause) is refused by the conditional update.
    stale = FlashSale.objects.get(pk=sale.pk)
    stale.state = FlashSale.State.SCHEDULED
    with pytest.raises(Conflict) as excinfo:
        services.buy(sale=stale, user=buyer, address_id=address_id_for(buyer))
    assert _code(excinfo) == "paused"
    assert not Order.objects.exists()
    assert FlashQuota.objects.filter(bought__gt=0).count() == 0


def test_the_per_user_limit_holds_across_requests(make_sale, buyer):
    sale = make_sale(stock=10, limit=3)
    services.buy(sale=sale, user=buyer, quantity=2, address_id=address_id_for(buyer))
    with pytest.raises(Conflict) as excinfo:
        services.buy(sale=_fresh(sale), user=buyer, quantity=2, address_id=address_id_for(buyer))
    assert _code(excinfo) == "limit_reached"
    services.buy(sale=_fresh(sale), user=buyer, quantity=1, address_id=address_id_for(buyer))
    with pytest.raises(Conflict) as excinfo:
        services.buy(sale=_fresh(sale), user=buyer, address_id=address_id_for(buyer))
    assert _code(excinfo) == "limit_reached"
    with pytest.raises(Conflict) as excinfo:
        services.buy(
            sale=_fresh(sale), user=buyer, quantity=4, address_id=address_id_for(buyer)
        )  # above the limit in one go
    assert _code(excinfo) == "limit_reached"
    assert _fresh(sale).available == 7
    assert FlashQuota.objects.get(sale=sale, buyer=buyer).bought == 3


def test_sold_out_at_once_and_nothing_changes(make_sale, make_user):
    sale = make_sale(stock=2)
    services.buy(sale=sale, **as_buyer(make_user()))
    services.buy(sale=sale, **as_buyer(make_user()))  # a stale copy: the conditional update decides
    late = make_user()
    with pytest.raises(Conflict) as excinfo:
        services.buy(sale=sale, user=late, address_id=address_id_for(late))
    assert _code(excinfo) == "sold_out"
    with pytest.raises(Conflict) as excinfo:
        services.buy(
            sale=_fresh(sale), user=late, address_id=address_id_for(late)
        )  # the fast path: the read says 0 left
    assert _code(excinfo) == "sold_out"
    assert _fresh(sale).available == 0
    assert Order.objects.count() == 2
    assert not FlashQuota.objects.filter(buyer=late, bought__gt=0).exists()


@pytest.mark.parametrize("quantity", [0, -1, "1", None, 1.5, True])
def test_bad_quantities_are_refused(sale, buyer, quantity):
    with pytest.raises(DomainError):
        services.buy(sale=sale, user=buyer, quantity=quantity, address_id=address_id_for(buyer))
    assert _fresh(sale).available == 5


def test_merchant_cannot_buy_own_sale_and_anonymous_cannot_buy(sale, merchant):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Conflict) as excinfo:
        services.buy(sale=sale, user=merchant, address_id=address_id_for(merchant))
    assert _code(excinfo) == "own_shop"
    with pytest.raises(DomainError):
        services.buy(sale=sale, **as_buyer(AnonymousUser()))
    assert _fresh(sale).available == 5


# --- payments ----------------------------------------------------------------------------------


def test_paying_makes_the_order_paid_for_fulfilment(sale, buyer, pay):
    purchase = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    with recorded_events() as events:
        pay(purchase.order.checkout)
    (paid,) = [e.payload for e in events if e.name == "flash.purchase.paid"]
    assert paid["shop_public_id"] == sale.shop.public_id
    assert (paid["buyer_public_id"], paid["community_public_id"]) == (buyer.public_id, None)
    purchase.refresh_from_db()
    purchase.order.refresh_from_db()
    assert purchase.state == FlashPurchase.State.PAID
    assert purchase.order.state == Order.State.PAID
    counts = selectors.counts(sale=_fresh(sale))
    assert (counts.available, counts.reserved, counts.sold) == (4, 0, 1)
    # A replayed event changes nothing.
    assert services.on_payment_succeeded(purchase.order) == "unchanged"
    assert verify_ledger().ok


def test_a_failed_payment_gives_the_unit_and_the_limit_back(sale, buyer, fail_payment):
    purchase = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    fail_payment(purchase.order.checkout)
    purchase.refresh_from_db()
    purchase.order.refresh_from_db()
    assert purchase.state == FlashPurchase.State.RELEASED
    assert purchase.order.state == Order.State.CANCELLED
    assert _fresh(sale).available == 5
    assert FlashQuota.objects.get(sale=sale, buyer=buyer).bought == 0
    services.buy(sale=_fresh(sale), user=buyer, address_id=address_id_for(buyer))  # may try again
    assert verify_ledger().ok


# --- deadlines ---------------------------------------------------------------------------------


def test_unpaid_reservations_return_after_the_window(sale, buyer, make_user, pay):
    unpaid = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    paid = services.buy(sale=_fresh(sale), **as_buyer(make_user()))
    pay(paid.order.checkout)
    with clock.frozen_at(unpaid.reserved_until - timedelta(seconds=1)):
        assert services.release_unpaid(clock.now()) == 0
    result = settle_due(unpaid.reserved_until)
    assert result["deals_flash.release_unpaid"] == 1
    unpaid.refresh_from_db()
    unpaid.order.refresh_from_db()
    assert unpaid.state == FlashPurchase.State.RELEASED
    assert unpaid.order.state == Order.State.CANCELLED
    assert unpaid.order.cancel_reason == Order.CancelReason.EXPIRED
    assert Payment.objects.get(public_id=unpaid.order.checkout.payment_public_id).state == (
        Payment.State.CANCELED
    )
    assert _fresh(sale).available == 4  # one back, the paid one stays sold
    assert FlashQuota.objects.get(sale=sale, buyer=buyer).bought == 0
    assert settle_due(unpaid.reserved_until)["deals_flash.release_unpaid"] == 0
    assert verify_ledger().ok


def test_a_payment_whose_event_was_lost_is_settled_not_cancelled(sale, buyer, lost_payment):
    purchase = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    lost_payment(purchase.order.checkout)
    assert services.release_unpaid(purchase.reserved_until) == 1
    purchase.refresh_from_db()
    purchase.order.refresh_from_db()
    assert purchase.state == FlashPurchase.State.PAID
    assert purchase.order.state == Order.State.PAID
    assert _fresh(sale).available == 4
    assert verify_ledger().ok


def test_a_payment_after_the_release_is_refunded_in_full(sale, buyer, pay, committed):
    purchase = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    with committed():
        services.release_unpaid(purchase.reserved_until)
    with committed():
        pay(purchase.order.checkout)  # the cashier was still open: the money comes back
        services.on_payment_succeeded(purchase.order)
    purchase.refresh_from_db()
    purchase.order.refresh_from_db()
    payment = Payment.objects.get(public_id=purchase.order.checkout.payment_public_id)
    assert purchase.state == FlashPurchase.State.RELEASED
    assert purchase.order.state == Order.State.CANCELLED
    assert payment.refunded_fen == payment.captured_fen == 1990
    assert _fresh(sale).available == 5
    assert verify_ledger().ok


def test_the_end_returns_leftovers_once_and_later_releases_go_to_the_sku(
    make_sku, shop, make_sale, buyer, make_user, pay
):
    sku = make_sku(shop=shop, price_fen=5900, stock=20)
    sale = make_sale(sku=sku, stock=10)
    unpaid = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    paid = services.buy(sale=_fresh(sale), **as_buyer(make_user()))
    pay(paid.order.checkout)
    assert _sku_stock(sku) == 10
    assert services.end_due_sales(sale.ends_at - timedelta(seconds=1)) == 0
    assert services.end_due_sales(sale.ends_at) == 1
    assert _sku_stock(sku) == 18  # 8 unreserved units back
    assert services.end_due_sales(sale.ends_at) == 0
    ended = _fresh(sale)
    assert (ended.state, ended.available, ended.returned) == (FlashSale.State.ENDED, 0, 8)
    # The unpaid reservation expires after the end: its unit goes straight back to the SKU.
    services.release_unpaid(unpaid.reserved_until + timedelta(hours=2))
    assert _sku_stock(sku) == 19
    assert _fresh(sale).available == 0 and _fresh(sale).returned == 9
    assert verify_ledger().ok


def test_merchant_pauses_resumes_and_ends_early(make_sku, shop, make_sale, merchant, buyer):
    sku = make_sku(shop=shop, price_fen=5900, stock=10)
    sale = make_sale(sku=sku, stock=4)
    services.pause_sale(sale=sale, actor=merchant)
    with pytest.raises(Conflict):
        services.pause_sale(sale=sale, actor=merchant)
    services.resume_sale(sale=sale, actor=merchant)
    with pytest.raises(Conflict):
        services.resume_sale(sale=sale, actor=merchant)
    services.buy(sale=_fresh(sale), user=buyer, address_id=address_id_for(buyer))
    services.end_sale(sale=sale, actor=merchant)
    services.end_sale(sale=sale, actor=merchant)  # twice: no second return
    assert _sku_stock(sku) == 9
    assert _fresh(sale).status() == "ended"
    with pytest.raises(Conflict) as excinfo:
        services.buy(sale=_fresh(sale), user=buyer, address_id=address_id_for(buyer))
    assert _code(excinfo) == "ended"


def test_a_buy_touches_the_hot_sale_row_with_exactly_one_statement(sale, buyer, make_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    table = FlashSale._meta.db_table

    def statements_on_sale(queries) -> list[str]:
        return [
            q["sql"]
            for q in queries
            if f'"{table}"' in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")
        ]

    def writes_of(queries) -> list[str]:
        skip = ("SELECT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
        return [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith(skip)]

    ship = address_id_for(buyer)  # the address book before: only the buy is measured
    with CaptureQueriesContext(connection) as captured:
        services.buy(sale=sale, user=buyer, address_id=ship)
    writes = statements_on_sale(captured.captured_queries)
    assert len(writes) == 1 and writes[0].lstrip().upper().startswith("UPDATE")
    assert not any("FOR UPDATE" in q["sql"] for q in captured.captured_queries)
    # The hot row's UPDATE is the last write of the transaction (after the checkout, the
    # payment, the order and the purchase), so its lock is held only until the commit.
    assert writes_of(captured.captured_queries)[-1] == writes[0]
    # Sold out: answered from the sale as read, without a write.
    sold_out = FlashSale.objects.get(pk=sale.pk)
    sold_out.available = 0
    with CaptureQueriesContext(connection) as captured, pytest.raises(Conflict):
        services.buy(sale=sold_out, **as_buyer(make_user()))
    assert not statements_on_sale(captured.captured_queries)


def test_losing_the_last_unit_at_the_update_rolls_everything_back(make_sale, make_user):
    sale = make_sale(stock=1)
    stale = FlashSale.objects.get(pk=sale.pk)  # read while one unit was left
    services.buy(sale=sale, **as_buyer(make_user()))
    late = make_user()
    with pytest.raises(Conflict) as excinfo:
        services.buy(
            sale=stale, user=late, address_id=address_id_for(late)
        )  # passes the read, loses at the conditional update
    assert _code(excinfo) == "sold_out"
    # The order, payment and purchase placed before the update are gone with it.
    assert Order.objects.count() == FlashPurchase.objects.count() == 1
    assert not Order.objects.filter(buyer=late).exists()
    assert not Payment.objects.filter(payer=late).exists()
    assert not FlashQuota.objects.filter(buyer=late, bought__gt=0).exists()
    assert _fresh(sale).available == 0


def test_sweeping_several_sales_returns_units_to_each_and_skus_once(
    make_sku, shop, make_sale, make_user
):
    sku_a = make_sku(shop=shop, price_fen=5900, stock=10)
    sku_b = make_sku(shop=shop, price_fen=5900, stock=10)
    open_sale = make_sale(sku=sku_a, stock=5)
    ending = make_sale(sku=sku_b, stock=5, lasts=timedelta(minutes=2))
    unpaid = [
        services.buy(sale=_fresh(s), **as_buyer(make_user())) for s in (open_sale, ending) * 2
    ]
    moment = max(p.reserved_until for p in unpaid) + timedelta(minutes=1)
    assert services.end_due_sales(moment) == 1  # ``ending`` is over: its 3 leftovers go back
    assert _sku_stock(sku_b) == 8
    assert services.release_unpaid(moment) == 4
    assert _fresh(open_sale).available == 5 and _sku_stock(sku_a) == 5
    assert _fresh(ending).returned == 5 and _sku_stock(sku_b) == 10
    assert services.release_unpaid(moment) == 0
    assert verify_ledger().ok


def test_a_shop_cancelled_paid_flash_order_gives_its_unit_back_to_the_sale(sale, buyer, pay):
    """The sale carved its units from the SKU: a cancelled paid order's unit goes back to the
    sale while it runs (the SKU does not get it a second time)."""
    from shoploop.orders import services as order_services

    purchase = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    pay(purchase.order.checkout)
    order = Order.objects.get(pk=purchase.order_id)
    assert order.state == Order.State.PAID
    sku_stock = SKU.objects.get(pk=sale.sku_id).stock
    order_services.cancel_order(order=order, actor=sale.shop.owner)
    assert _fresh(sale).available == 5
    assert SKU.objects.get(pk=sale.sku_id).stock == sku_stock
    assert verify_ledger().ok
