"""``simulate`` plays flash sales through the services: sales are created, rushed, paid or left
unpaid, and every unit stays accounted for."""

import io
import json

import pytest
from django.core.management import call_command
from django.db.models import Q, Sum

from shoploop.deals.flash.models import FlashPurchase, FlashQuota, FlashSale
from shoploop.ledger.verification import verify_ledger

# Committed, like the real command: payment callbacks are delivered on commit.
pytestmark = pytest.mark.django_db(transaction=True)


def _units(sale, state) -> int:
    return sale.purchases.filter(state=state).aggregate(n=Sum("quantity"))["n"] or 0


def test_the_simulated_world_plays_flash_sales_and_accounts_for_every_unit(tmp_path):
    call_command(
        "simulate",
        seed=7,
        users=60,
        days=5,
        quiet=True,
        world_file=tmp_path / "world.json",
        stdout=io.StringIO(),
    )
    outcomes = json.loads((tmp_path / "world.json").read_text())["outcomes"]
    sales = list(FlashSale.objects.all())
    assert sales, f"the world ran no flash sale: {outcomes}"
    assert FlashPurchase.objects.filter(state=FlashPurchase.State.PAID).exists(), outcomes
    assert FlashSale.objects.filter(state=FlashSale.State.ENDED).exists()
    for sale in sales:
        reserved = _units(sale, FlashPurchase.State.RESERVED)
        sold = _units(sale, FlashPurchase.State.PAID)
        # Every carved unit is on sale, reserved, sold or back in the SKU; none twice.
        assert sale.stock == sale.available + reserved + sold + sale.returned, sale
    for quota in FlashQuota.objects.select_related("sale"):
        held = (
            FlashPurchase.objects.filter(sale=quota.sale, buyer=quota.buyer_id)
            .filter(Q(state=FlashPurchase.State.RESERVED) | Q(state=FlashPurchase.State.PAID))
            .aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        assert quota.bought == held <= quota.sale.per_user_limit
    assert verify_ledger().ok
