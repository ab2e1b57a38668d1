"""Tests written for mutation testing of the flash sale's set-up in
``shoploop/deals/flash/services.py`` (``scripts/mutate.py flash``, docs/mutation.md): who may
create, pause and resume a sale (anonymous or not a user at all, another merchant, a shop not
approved, another shop's SKU), the code, message and field of every refusal of ``create_sale``
and of its checks ``_whole`` and ``_aware``, the edges of every range (stock, limit, start grace,
end after start, 30 days, the SKU's stock), the row and the event a sale is created with and the
defaults it takes, pause and resume changing only their own sale and only before its end, the
limit and sold-out refusals in words, the payment window, and what ``buy_idempotently`` keeps
(scope, fingerprint, answer) and returns."""

from datetime import timedelta
from itertools import count

import pytest
from django.contrib.auth.models import AnonymousUser

from shoploop.catalog.models import SKU, Shop
from shoploop.core import clock
from shoploop.core.idempotency import fingerprint_of
from shoploop.core.models import IdempotencyRecord
from shoploop.core.testing import outbox_payloads, refusal, said
from shoploop.deals.flash import services
from shoploop.deals.flash.models import FlashPurchase, FlashSale
from shoploop.orders.tests.conftest import address_id_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _fresh(sale) -> FlashSale:
    return FlashSale.objects.get(pk=sale.pk)


def _sku_stock(sku) -> int:
    return SKU.objects.get(pk=sku.pk).stock


def _refused_and_nothing_made(args) -> tuple:
    """(code, message, fields) of ``create_sale(**args)``'s refusal; no sale, no unit taken."""
    stock, sales = _sku_stock(args["sku"]), FlashSale.objects.count()
    error = refusal(lambda: services.create_sale(**args))
    assert FlashSale.objects.count() == sales
    assert _sku_stock(args["sku"]) == stock
    return error.code, str(error.message), error.fields


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [None, AnonymousUser(), object()], ids=["none", "anon", "obj"])
def test_only_a_signed_in_user_may_create_pause_or_resume(sale_args, sale, actor):
    assert _refused_and_nothing_made(sale_args(actor=actor))[0] == "not_authenticated"
    for action in (services.pause_sale, services.resume_sale):
        assert refusal(lambda a=action: a(sale=sale, actor=actor)).code == "not_authenticated"


@pytest.mark.parametrize("user", [None, AnonymousUser(), object()], ids=["none", "anon", "obj"])
def test_only_a_signed_in_user_may_buy(sale, user):
    assert refusal(lambda: services.buy(sale=sale, user=user, address_id="x")).code == (
        "not_authenticated"
    )
    assert _fresh(sale).available == 5


def test_an_idempotent_buy_without_a_user_is_asked_to_sign_in(sale):
    error = refusal(
        lambda: services.buy_idempotently(sale=sale, user=None, key="k-1", address_id="x")
    )
    assert error.code == "not_authenticated"
    assert not IdempotencyRecord.objects.exists()


def test_another_merchant_is_told_it_is_not_their_shop(sale_args, sale, other_merchant):
    refused = ("not_shop_owner", "This is not your shop's flash sale.")
    assert _refused_and_nothing_made(sale_args(actor=other_merchant))[:2] == refused
    for action in (services.pause_sale, services.resume_sale):
        assert said(lambda a=action: a(sale=sale, actor=other_merchant)) == refused


def test_a_shop_not_approved_cannot_create_a_sale(sale_args, shop):
    Shop.objects.filter(pk=shop.pk).update(status=Shop.Status.PENDING)
    shop.refresh_from_db()
    assert _refused_and_nothing_made(sale_args(shop=shop)) == (
        "shop_not_approved",
        "Your shop has not been approved yet.",
        {},
    )


def test_another_shops_sku_is_not_for_sale_here(sale_args, make_sku, other_shop):
    foreign = make_sku(shop=other_shop, price_fen=5900, stock=50)
    assert _refused_and_nothing_made(sale_args(sku=foreign)) == (
        "not_shop_owner",
        "This SKU is not from your shop.",
        {},
    )
    assert _sku_stock(foreign) == 50


def test_an_inactive_sku_is_refused_by_name(sale_args):
    args = sale_args()
    SKU.objects.filter(pk=args["sku"].pk).update(is_active=False)
    args["sku"].refresh_from_db()
    assert _refused_and_nothing_made(args) == (
        "invalid",
        "This SKU is not on sale.",
        {"sku_id": "inactive"},
    )


# --- the price -------------------------------------------------------------------------------


def test_a_bad_price_names_the_price_field(sale_args):
    assert _refused_and_nothing_made(sale_args(price_fen=0))[2] == {"price_fen": "zero"}
    assert _refused_and_nothing_made(sale_args(price_fen="1990"))[2] == {"price_fen": "not_integer"}


def test_the_flash_price_must_be_below_the_normal_price(sale_args):
    assert _refused_and_nothing_made(sale_args(price_fen=5900)) == (
        "price_not_below",
        "The flash price must be below the normal price.",
        {"price_fen": "not_below_price"},
    )
    sale = services.create_sale(**sale_args(price_fen=5899))
    assert _fresh(sale).price_fen == 5899


# --- stock and limit: _whole -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, "Enter a whole number from 1 to 100000."),
        (100_001, "Enter a whole number from 1 to 100000."),
        ("5", "Enter a whole number from 1 to 100000."),
        (True, "Enter a whole number from 1 to 100000."),
        (5.0, "Enter a whole number from 1 to 100000."),
    ],
)
def test_a_stock_out_of_range_or_not_whole_is_refused_in_words(sale_args, value, words):
    assert _refused_and_nothing_made(sale_args(stock=value)) == (
        "invalid",
        words,
        {"stock": "range"},
    )


@pytest.mark.parametrize(
    ("stock", "limit", "high"),
    [(5, 0, 5), (5, 6, 5), (200, 100, 99), (5, True, 5), (5, "1", 5)],
)
def test_a_limit_out_of_range_names_its_bounds(sale_args, stock, limit, high):
    assert _refused_and_nothing_made(sale_args(stock=stock, per_user_limit=limit)) == (
        "invalid",
        f"Enter a whole number from 1 to {high}.",
        {"per_user_limit": "range"},
    )


def test_the_edges_of_stock_and_limit_are_accepted(sale_args, make_sku, shop):
    one = services.create_sale(**sale_args(stock=1, per_user_limit=1))
    assert (_fresh(one).stock, _fresh(one).per_user_limit) == (1, 1)
    every = services.create_sale(**sale_args(stock=5, per_user_limit=5))
    assert _fresh(every).per_user_limit == 5
    most = services.create_sale(
        **sale_args(stock=200, per_user_limit=99, sku=make_sku(shop=shop, stock=200))
    )
    assert _fresh(most).per_user_limit == 99


def test_the_largest_stock_is_accepted(sale_args, make_sku, shop):
    sku = make_sku(shop=shop, price_fen=5900, stock=100_000)
    sale = services.create_sale(**sale_args(sku=sku, stock=100_000))
    assert (_fresh(sale).stock, _fresh(sale).available, _sku_stock(sku)) == (100_000, 100_000, 0)


def test_more_than_the_skus_stock_is_refused_and_all_of_it_is_accepted(sale_args):
    assert _refused_and_nothing_made(sale_args(stock=51)) == (
        "not_enough_stock",
        "The SKU has fewer units in stock than that.",
        {"stock": "above_sku_stock"},
    )
    args = sale_args(stock=50)
    services.create_sale(**args)
    assert _sku_stock(args["sku"]) == 0


# --- start and end: _aware and the ranges --------------------------------------------------------


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
@pytest.mark.parametrize("kind", ["naive", "text", "date"])
def test_a_moment_that_is_not_an_aware_datetime_is_refused_by_name(sale_args, field, kind):
    args = sale_args()
    moment = args[field]
    args[field] = {
        "naive": moment.replace(tzinfo=None),
        "text": moment.isoformat(),
        "date": moment.date(),
    }[kind]
    assert _refused_and_nothing_made(args) == (
        "invalid",
        "Enter a date and time.",
        {field: "invalid"},
    )


def test_a_start_within_the_grace_minute_is_accepted_and_before_it_refused(sale_args):
    now = clock.now()
    with clock.frozen_at(now):
        assert _refused_and_nothing_made(
            sale_args(starts_at=now - timedelta(minutes=1, microseconds=1))
        ) == ("starts_in_past", "The start cannot be in the past.", {"starts_at": "past"})
        sale = services.create_sale(**sale_args(starts_at=now - timedelta(minutes=1)))
    assert _fresh(sale).starts_at == now - timedelta(minutes=1)


def test_the_end_must_come_after_the_start(sale_args):
    starts_at = sale_args()["starts_at"]
    assert _refused_and_nothing_made(sale_args(starts_at=starts_at, ends_at=starts_at)) == (
        "ends_before_start",
        "The end must be after the start.",
        {"ends_at": "before_start"},
    )
    ends_at = starts_at + timedelta(microseconds=1)
    sale = services.create_sale(**sale_args(starts_at=starts_at, ends_at=ends_at))
    assert _fresh(sale).ends_at == ends_at


def test_a_sale_lasts_at_most_thirty_days(sale_args):
    starts_at = sale_args()["starts_at"]
    too_long = starts_at + timedelta(days=30, microseconds=1)
    assert _refused_and_nothing_made(sale_args(starts_at=starts_at, ends_at=too_long)) == (
        "invalid",
        "A flash sale lasts at most 30 days.",
        {"ends_at": "too_long"},
    )
    sale = services.create_sale(
        **sale_args(starts_at=starts_at, ends_at=starts_at + timedelta(days=30))
    )
    assert _fresh(sale).ends_at == starts_at + timedelta(days=30)


# --- what a sale is created with ---------------------------------------------------------------


def test_a_sale_is_written_with_what_was_asked_and_says_so(sale_args, shop):
    args = sale_args(stock=7, per_user_limit=3, price_fen=2500)
    sale = services.create_sale(**args)
    fresh = _fresh(sale)
    assert (fresh.shop_id, fresh.sku_id, fresh.price_fen) == (shop.pk, args["sku"].pk, 2500)
    assert (fresh.stock, fresh.available, fresh.per_user_limit, fresh.returned) == (7, 7, 3, 0)
    assert (fresh.starts_at, fresh.ends_at) == (args["starts_at"], args["ends_at"])
    assert (fresh.state, fresh.status()) == (FlashSale.State.SCHEDULED, "scheduled")
    assert _sku_stock(args["sku"]) == 43
    assert outbox_payloads("flash.sale.created") == [{"sale_public_id": sale.public_id}]


def test_a_sale_starts_now_and_sells_one_per_buyer_unless_told(shop, merchant, make_sku):
    sku = make_sku(shop=shop, price_fen=5900, stock=50)
    now = clock.now()
    with clock.frozen_at(now):
        sale = services.create_sale(
            shop=shop,
            actor=merchant,
            sku=sku,
            price_fen=1990,
            stock=5,
            ends_at=now + timedelta(hours=1),
        )
    fresh = _fresh(sale)
    assert (fresh.starts_at, fresh.created_at, fresh.per_user_limit) == (now, now, 1)


def test_a_sale_is_created_at_the_moment_its_checks_judged(sale_args, monkeypatch):
    """The clock is read once: a start of "now" and the creation are the same moment, however
    long the checks and the stock's UPDATE take."""
    base = clock.now()
    ticks = count()
    monkeypatch.setattr(clock, "now", lambda: base + timedelta(seconds=next(ticks)))
    sale = services.create_sale(**sale_args(starts_at=None, ends_at=base + timedelta(hours=1)))
    fresh = _fresh(sale)
    assert fresh.created_at == fresh.starts_at


# --- pause and resume ----------------------------------------------------------------------------


def test_pausing_and_resuming_change_only_that_sale_and_say_why_not(make_sale, merchant):
    sale, other = make_sale(), make_sale()
    paused = services.pause_sale(sale=sale, actor=merchant)
    assert paused.state == FlashSale.State.PAUSED
    assert _fresh(other).state == FlashSale.State.SCHEDULED
    assert said(lambda: services.pause_sale(sale=sale, actor=merchant)) == (
        "not_pausable",
        "Only a running or upcoming sale can be paused.",
    )
    services.pause_sale(sale=other, actor=merchant)
    resumed = services.resume_sale(sale=sale, actor=merchant)
    assert resumed.state == FlashSale.State.SCHEDULED
    assert _fresh(other).state == FlashSale.State.PAUSED
    assert said(lambda: services.resume_sale(sale=sale, actor=merchant)) == (
        "not_paused",
        "Only a paused sale can be resumed.",
    )


def test_a_sale_at_its_end_is_neither_paused_nor_resumed(make_sale, merchant):
    running, paused = make_sale(), make_sale()
    services.pause_sale(sale=paused, actor=merchant)
    # Not swept yet: still stored as running / paused.
    with clock.frozen_at(running.ends_at):
        assert refusal(lambda: services.pause_sale(sale=running, actor=merchant)).code == (
            "not_pausable"
        )
    with clock.frozen_at(paused.ends_at):
        assert refusal(lambda: services.resume_sale(sale=paused, actor=merchant)).code == (
            "not_paused"
        )
    assert (_fresh(running).state, _fresh(paused).state) == ("scheduled", "paused")


def test_a_sale_ended_early_is_neither_paused_nor_resumed(make_sale, merchant):
    sale = make_sale()
    services.end_sale(sale=sale, actor=merchant)
    assert refusal(lambda: services.pause_sale(sale=sale, actor=merchant)).code == "not_pausable"
    assert refusal(lambda: services.resume_sale(sale=sale, actor=merchant)).code == "not_paused"
    assert _fresh(sale).state == FlashSale.State.ENDED


# --- buyers: the limit, sold out, the payment window --------------------------------------------


def test_the_limit_is_told_in_words_and_names_the_quantity(make_sale, buyer):
    sale = make_sale(limit=2)
    error = refusal(
        lambda: services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer), quantity=3)
    )
    assert (error.code, str(error.message), error.fields) == (
        "limit_reached",
        "You can buy at most 2 of this flash sale.",
        {"quantity": "limit"},
    )
    services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer), quantity=2)
    error = refusal(lambda: services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer)))
    assert (error.code, str(error.message), error.fields) == (
        "limit_reached",
        "You can buy at most 2 of this flash sale.",
        {"quantity": "limit"},
    )


def test_sold_out_is_told_in_words(make_sale, buyer, make_user):
    sale = make_sale(stock=1)
    services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    someone = make_user()
    assert said(
        lambda: services.buy(sale=_fresh(sale), user=someone, address_id=address_id_for(someone))
    ) == ("sold_out", "Sold out. Every unit of this flash sale has been taken.")


def test_a_reservation_waits_the_configured_minutes(sale, buyer, settings):
    settings.DEALS_FLASH_PAYMENT_MINUTES = 7
    assert services.payment_window() == timedelta(minutes=7)
    purchase = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    assert purchase.reserved_until - purchase.created_at == timedelta(minutes=7)


# --- buy_idempotently ----------------------------------------------------------------------------


def test_an_idempotent_buy_keeps_its_scope_fingerprint_and_answer(sale, buyer):
    """The record's names are a contract with clients that retry across a deployment."""
    address_id = address_id_for(buyer)
    purchase, replayed = services.buy_idempotently(
        sale=sale, user=buyer, key="k-1", address_id=address_id
    )
    assert (replayed, purchase.quantity, purchase.buyer_id) == (False, 1, buyer.pk)
    record = IdempotencyRecord.objects.get(key="k-1")
    assert record.scope == f"deals.flash.buy:{buyer.pk}"
    assert record.fingerprint == fingerprint_of(
        {"sale": sale.public_id, "quantity": 1, "address_id": address_id}
    )
    assert (record.response_status, record.response_body) == (
        201,
        {"purchase_id": purchase.public_id},
    )
    again, replayed = services.buy_idempotently(
        sale=sale, user=buyer, key="k-1", address_id=address_id
    )
    assert (again.pk, replayed) == (purchase.pk, True)
    assert FlashPurchase.objects.count() == 1


def test_an_idempotent_buy_passes_the_quantity_on(make_sale, buyer):
    sale = make_sale(limit=3)
    purchase, _ = services.buy_idempotently(
        sale=sale, user=buyer, key="k-1", address_id=address_id_for(buyer), quantity=3
    )
    assert purchase.quantity == 3
    assert _fresh(sale).available == 2
    error = refusal(
        lambda: services.buy_idempotently(
            sale=sale, user=buyer, key="k-1", address_id=address_id_for(buyer), quantity=2
        )
    )
    assert error.code == "idempotency_key_reused"


def test_an_idempotent_buy_returns_the_purchase_with_its_order_and_checkout(
    sale, buyer, django_assert_num_queries
):
    purchase, _ = services.buy_idempotently(
        sale=sale, user=buyer, key="k-1", address_id=address_id_for(buyer)
    )
    with django_assert_num_queries(0):
        assert purchase.order.checkout.payment_public_id
