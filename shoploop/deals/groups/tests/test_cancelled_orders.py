"""A paid seat's order that the shop cancels (or that is refunded in full before it ships)
gives its unit back to the campaign's reserve while the campaign runs (the campaign carved it
from the SKU; the SKU must not get it a second time), and to the SKU once the campaign ended."""

import pytest

from shoploop.catalog.models import SKU
from shoploop.deals.groups import services
from shoploop.deals.groups.models import GroupCampaign, GroupCampaignSKU
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services as order_services
from shoploop.orders.models import AfterSale, Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def completed(make_campaign, sku, buyer, buyers, pay):
    """A two-seat group that completed: both members paid, both orders wait to be shipped."""
    campaign = make_campaign(sku=sku, group_size=2, stock=5)
    leader = services.open_group(campaign=campaign, user=buyer, address_id=address_id_for(buyer))
    pay(leader.order.checkout)
    member = services.join_group(
        group=leader.group, user=buyers[0], address_id=address_id_for(buyers[0])
    )
    pay(member.order.checkout)
    assert Order.objects.get(pk=member.order_id).state == Order.State.PAID
    return campaign, member


def _stocks(campaign, sku) -> tuple[int, int, int]:
    return (
        GroupCampaign.objects.get(pk=campaign.pk).stock,
        GroupCampaignSKU.objects.get(campaign=campaign).stock,
        SKU.objects.get(pk=sku.pk).stock,
    )


def test_a_shop_cancelled_paid_seat_order_gives_its_unit_back_to_the_campaign(
    completed, sku, merchant
):
    campaign, member = completed
    assert _stocks(campaign, sku) == (3, 3, 5)  # SKU 10, 5 carved for the campaign, 2 sold
    order = order_services.cancel_order(order=Order.objects.get(pk=member.order_id), actor=merchant)
    assert order.state == Order.State.CANCELLED and order.refunded_fen == order.total_fen
    assert _stocks(campaign, sku) == (4, 4, 5)
    assert verify_ledger().ok


def test_after_the_campaign_ended_the_unit_goes_back_to_the_sku(completed, sku, merchant):
    campaign, member = completed
    services.end_campaign(campaign=campaign, actor=merchant)
    assert _stocks(campaign, sku) == (0, 0, 8)
    order_services.cancel_order(order=Order.objects.get(pk=member.order_id), actor=merchant)
    assert _stocks(campaign, sku) == (0, 0, 9)


def test_a_refund_before_shipping_gives_the_unit_back_to_the_campaign(
    completed, sku, merchant, buyers
):
    campaign, member = completed
    order = Order.objects.get(pk=member.order_id)
    after_sale = order_services.request_after_sale(
        order=order, actor=buyers[0], kind=AfterSale.Kind.REFUND_ONLY, reason="不想要了"
    )
    order_services.accept_after_sale(after_sale=after_sale, actor=merchant)
    assert Order.objects.get(pk=order.pk).state == Order.State.CANCELLED
    assert _stocks(campaign, sku) == (4, 4, 5)
    assert verify_ledger().ok
