"""Money endpoints are rate-limited per user: 429 with the error code ``rate_limited``."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings

from shoploop.api import api, operations_of
from shoploop.core import clock
from shoploop.core.errors import RateLimited
from shoploop.core.ratelimit import hit

MONEY_OPERATIONS = {
    "coupons_quote",
    "orders_create_checkout",
    "orders_quote_checkout",
    "orders_pay_order",
    "ledger_sandbox_confirm",
    "ledger_sandbox_decline",
    "ledger_withdrawal_create",
    "referrals_withdraw_commissions",
    "deals_groups_open_group",
    "deals_groups_join_group",
    "deals_bargains_buy",
    "deals_flash_buy",
    "deals_crowdfunding_back",
    "deals_quote",
    # A task's money reward is reserved at publishing, paid at a pick, returned at a cancel.
    "crowdtasks_publish_task",
    "crowdtasks_pick_winner",
    "crowdtasks_cancel_task",
}


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_limiter_counts_per_subject_and_window():
    start = clock.now().replace(second=0, microsecond=0)
    with clock.frozen_at(start):
        hit(scope="t", subject="a", limit=2, window_seconds=60)
        hit(scope="t", subject="a", limit=2, window_seconds=60)
        with pytest.raises(RateLimited):
            hit(scope="t", subject="a", limit=2, window_seconds=60)
        hit(scope="t", subject="b", limit=2, window_seconds=60)  # someone else: own count
    with clock.frozen_at(start + timedelta(seconds=60)):
        hit(scope="t", subject="a", limit=2, window_seconds=60)  # a new window


def test_every_money_operation_is_limited_and_nothing_else():
    limited = {
        api.get_openapi_operation_id(operation)
        for operation in operations_of(api)
        if getattr(operation.view_func, "money_endpoint", False)
    }
    assert limited == MONEY_OPERATIONS


@pytest.mark.django_db
@override_settings(MONEY_RATE_PER_MINUTE=2)
def test_a_third_call_in_a_minute_is_429(api, user, other_user, english):
    path = "/ledger/payments/nosuchpaymnt/sandbox/confirm"
    start = clock.now().replace(second=0, microsecond=0)
    with clock.frozen_at(start):
        statuses = [api.post(path, user=user).status_code for _ in range(3)]
        refused = api.post(path, user=user)
        assert api.post(path, user=other_user).status_code == 404
    assert statuses == [404, 404, 429]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.json()["error"]["message"]
    with clock.frozen_at(start + timedelta(minutes=1)):
        assert api.post(path, user=user).status_code == 404


def test_every_money_page_name_exists():
    from django.urls import NoReverseMatch, reverse

    from shoploop.core.middleware import MONEY_PAGES

    missing = []
    for name in MONEY_PAGES:
        for args in ((), ("x",)):
            try:
                reverse(name, args=args)
                break
            except NoReverseMatch:
                continue
        else:
            missing.append(name)
    assert missing == []


@pytest.mark.django_db
@override_settings(MONEY_RATE_PER_MINUTE=1)
def test_money_pages_share_the_limit(client, user, english):
    client.force_login(user)
    start = clock.now().replace(second=0, microsecond=0)
    with clock.frozen_at(start):
        first = client.post("/groups/g/nosuchgroup0/join/")
        second = client.post("/deals/flash/nosuchsale00/buy/", {"quantity": 1})
        looking = client.get("/wallet/")
    assert first.status_code == 404
    assert second.status_code == 429
    assert "Please slow down" in second.content.decode()
    assert looking.status_code != 429  # reading a page is never limited
