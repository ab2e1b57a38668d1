"""A group campaign of several SKUs of one product (sizes, colours), each with its own group
price and stock, as Pinduoduo shows them: the buyer chooses one when opening or joining (the
confirm page, the quote and the API ask for it), the seat reserves a unit of that SKU's stock,
freed and failed seats give it back to that SKU's reserve, the order line shows the variant."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.urls import reverse

from shoploop.catalog import services as catalog
from shoploop.catalog.models import SKU
from shoploop.core.errors import NotFound, ValidationFailed
from shoploop.deals.groups import services
from shoploop.deals.groups.models import GroupCampaign, GroupCampaignSKU, Seat
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def sizes(make_sku, shop):
    """Two SKUs of one product: S at 59.00 (12 in stock) and M at 69.00 (8 in stock)."""
    small = make_sku(shop=shop, price_fen=5900, stock=12, title="T 恤", options={"尺码": "S"})
    medium = catalog.add_sku(
        product=small.product,
        actor=shop.owner,
        options={"尺码": "M"},
        price_fen=6900,
        stock=8,
    )
    return small, medium


@pytest.fixture
def two_sku_campaign(make_campaign, sizes):
    small, medium = sizes
    return make_campaign(
        sku=None,
        variants=[
            services.VariantSpec(sku=small, group_price_fen=3900, stock=5, leader_price_fen=2900),
            services.VariantSpec(sku=medium, group_price_fen=4900, stock=3),
        ],
    )


def _stock(sku) -> int:
    return SKU.objects.get(pk=sku.pk).stock


def _consistent(campaign) -> tuple[int, dict]:
    """The campaign's stock, checked to be the sum of its variants'; and each variant's."""
    campaign = GroupCampaign.objects.get(pk=campaign.pk)
    variants = GroupCampaignSKU.objects.filter(campaign=campaign)
    assert campaign.stock == variants.aggregate(total=Sum("stock"))["total"]
    return campaign.stock, {v.sku_id: v.stock for v in variants}


def test_a_campaign_of_two_skus_carves_each_skus_stock(two_sku_campaign, sizes):
    small, medium = sizes
    assert (_stock(small), _stock(medium)) == (7, 5)
    assert _consistent(two_sku_campaign) == (8, {small.pk: 5, medium.pk: 3})
    assert two_sku_campaign.group_price_fen == 3900  # the lowest, shown as "from"


def test_variants_must_be_skus_of_one_product(make_campaign, sizes, make_sku, shop):
    other = make_sku(shop=shop, title="帽子")
    with pytest.raises(ValidationFailed) as refused:
        make_campaign(
            sku=None,
            variants=[
                services.VariantSpec(sku=sizes[0], group_price_fen=3900, stock=1),
                services.VariantSpec(sku=other, group_price_fen=3900, stock=1),
            ],
        )
    assert refused.value.code == "variants_of_several_products"
    with pytest.raises(ValidationFailed) as repeated:
        make_campaign(
            sku=None,
            variants=[services.VariantSpec(sku=sizes[0], group_price_fen=3900, stock=1)] * 2,
        )
    assert repeated.value.code == "variant_repeated"
    assert not GroupCampaign.objects.exists()
    assert (_stock(sizes[0]), _stock(sizes[1])) == (12, 8)


def test_opening_asks_for_the_variant_and_takes_nothing_without_it(two_sku_campaign, buyer):
    for sku_id, error in (("", ValidationFailed), ("nosuchsku", NotFound)):
        with pytest.raises(error) as refused:
            services.open_group(
                campaign=two_sku_campaign,
                user=buyer,
                address_id=address_id_for(buyer),
                sku_id=sku_id,
            )
        assert refused.value.code in ("variant_required", "variant_not_found")
    assert not Seat.objects.exists() and not Order.objects.exists()
    assert _consistent(two_sku_campaign)[0] == 8


def test_each_member_pays_their_variants_price_and_takes_its_unit(
    two_sku_campaign, sizes, buyer, buyers, pay
):
    small, medium = sizes
    leader = services.open_group(
        campaign=two_sku_campaign,
        user=buyer,
        address_id=address_id_for(buyer),
        sku_id=small.public_id,
    )
    assert leader.price_fen == 2900  # the S variant's leader price
    pay(leader.order.checkout)
    member = services.join_group(
        group=leader.group,
        user=buyers[0],
        address_id=address_id_for(buyers[0]),
        sku_id=medium.public_id,
    )
    assert member.price_fen == 4900 and member.variant.sku_id == medium.pk
    line = Order.objects.get(pk=member.order_id).lines.get()
    assert (line.sku_id, line.options, line.unit_price_fen) == (medium.pk, {"尺码": "M"}, 4900)
    assert _consistent(two_sku_campaign) == (6, {small.pk: 4, medium.pk: 2})


def test_a_sold_out_variant_refuses_while_the_other_still_sells(make_campaign, sizes, buyers):
    small, medium = sizes
    campaign = make_campaign(
        sku=None,
        per_user_limit=5,
        variants=[
            services.VariantSpec(sku=small, group_price_fen=3900, stock=3),
            services.VariantSpec(sku=medium, group_price_fen=4900, stock=1),
        ],
    )
    services.open_group(
        campaign=campaign,
        user=buyers[0],
        address_id=address_id_for(buyers[0]),
        sku_id=medium.public_id,
    )
    with pytest.raises(Exception) as refused:
        services.open_group(
            campaign=GroupCampaign.objects.get(pk=campaign.pk),
            user=buyers[1],
            address_id=address_id_for(buyers[1]),
            sku_id=medium.public_id,
        )
    assert refused.value.code == "variant_sold_out"
    services.open_group(
        campaign=GroupCampaign.objects.get(pk=campaign.pk),
        user=buyers[1],
        address_id=address_id_for(buyers[1]),
        sku_id=small.public_id,
    )
    assert _consistent(campaign) == (2, {small.pk: 2, medium.pk: 0})


def test_freed_and_failed_seats_give_units_back_to_their_own_variant(
    two_sku_campaign, sizes, buyer, buyers, pay
):
    small, medium = sizes
    leader = services.open_group(
        campaign=two_sku_campaign,
        user=buyer,
        address_id=address_id_for(buyer),
        sku_id=small.public_id,
    )
    pay(leader.order.checkout)
    unpaid = services.join_group(
        group=leader.group,
        user=buyers[0],
        address_id=address_id_for(buyers[0]),
        sku_id=medium.public_id,
    )
    assert _consistent(two_sku_campaign) == (6, {small.pk: 4, medium.pk: 2})
    services.free_unpaid_seats(unpaid.reserved_until + timedelta(seconds=1))
    assert _consistent(two_sku_campaign) == (7, {small.pk: 4, medium.pk: 3})
    services.settle_groups(leader.group.deadline + timedelta(seconds=1))
    assert _consistent(two_sku_campaign) == (8, {small.pk: 5, medium.pk: 3})
    # Ending gives each SKU its own leftovers back.
    services.end_campaign(campaign=two_sku_campaign, actor=two_sku_campaign.shop.owner)
    assert (_stock(small), _stock(medium)) == (12, 8)
    assert _consistent(two_sku_campaign) == (0, {small.pk: 0, medium.pk: 0})


def test_the_confirm_page_asks_for_the_variant_then_shows_its_price(
    client, two_sku_campaign, sizes, buyer, english
):
    _small, medium = sizes
    address_id_for(buyer)
    client.force_login(buyer)
    url = reverse("deals_groups:open", args=[two_sku_campaign.public_id])
    page = client.get(url).content.decode()
    assert 'data-testid="variant-needed"' in page and "M · " in page
    assert 'data-testid="confirm-and-pay" disabled' in page
    page = client.get(url, {"sku": medium.public_id}).content.decode()
    assert 'data-testid="variant-chosen"' in page
    assert f'name="sku" value="{medium.public_id}"' in page
    assert 'data-testid="confirm-and-pay" disabled' not in page
    # Posting without a variant goes back to the confirm page, nothing taken.
    refused = client.post(url, {"address": address_id_for(buyer)})
    assert refused.status_code == 302 and refused.url == url
    assert not Seat.objects.exists()
    done = client.post(url, {"address": address_id_for(buyer), "sku": medium.public_id})
    assert done.status_code == 302
    assert Seat.objects.get().variant.sku_id == medium.pk


def test_quote_and_open_through_the_api_name_the_variant(api, two_sku_campaign, sizes, buyer):
    _small, medium = sizes
    address_id = address_id_for(buyer)
    body = {"kind": "group_open", "id": two_sku_campaign.public_id}
    unchosen = api.post("/deals/quote", body, user=buyer).json()
    assert unchosen["needs_variant"] is True and unchosen["can_confirm"] is False
    assert [(v["options"], v["unit_price_fen"], v["stock"]) for v in unchosen["variants"]] == [
        ({"尺码": "S"}, 2900, 5),
        ({"尺码": "M"}, 4900, 3),
    ]
    chosen = api.post("/deals/quote", {**body, "sku_id": medium.public_id}, user=buyer).json()
    assert (chosen["unit_price_fen"], chosen["options"], chosen["can_confirm"]) == (
        4900,
        {"尺码": "M"},
        True,
    )
    path = f"/deals/groups/campaigns/{two_sku_campaign.public_id}/groups"
    missing = api.post(path, {"address_id": address_id}, user=buyer)
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "variant_required"
    assert not Seat.objects.exists()
    opened = api.post(path, {"address_id": address_id, "sku_id": medium.public_id}, user=buyer)
    assert opened.status_code == 201, opened.content
    assert (opened.json()["sku_id"], opened.json()["options"]) == (medium.public_id, {"尺码": "M"})
    campaign = api.get(f"/deals/groups/campaigns/{two_sku_campaign.public_id}").json()
    assert [v["stock"] for v in campaign["variants"]] == [5, 2]


def test_a_merchant_creates_a_two_sku_campaign_through_the_api(api, sizes, merchant):
    small, medium = sizes
    from shoploop.core import clock

    now = clock.now()
    answer = api.post(
        "/deals/groups/campaigns",
        {
            "variants": [
                {"sku_id": small.public_id, "group_price_fen": 3900, "stock": 2},
                {"sku_id": medium.public_id, "group_price_fen": 4900, "stock": 2},
            ],
            "group_size": 2,
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
        user=merchant,
    )
    assert answer.status_code == 201, answer.content
    assert [v["group_price_fen"] for v in answer.json()["variants"]] == [3900, 4900]
    assert (_stock(small), _stock(medium)) == (10, 6)


def test_the_console_form_starts_a_campaign_of_two_skus(client, merchant, sizes):
    small, medium = sizes
    client.force_login(merchant)
    assert 'data-testid="more-variants"' in client.get("/console/groups/").content.decode()
    client.post(
        "/console/groups/",
        {
            "sku_id": small.public_id,
            "group_price": "39",
            "stock": "4",
            "extra_sku_id": [medium.public_id, "", ""],
            "extra_group_price": ["49.5", "", ""],
            "extra_stock": ["2", "", ""],
            "group_size": "3",
            "group_minutes": "60",
            "per_user_limit": "1",
            "starts_in_minutes": "0",
            "duration_days": "7",
        },
    )
    campaign = GroupCampaign.objects.get()
    assert [(v.sku_id, v.group_price_fen, v.stock) for v in campaign.variants.order_by("pk")] == [
        (small.pk, 3900, 4),
        (medium.pk, 4950, 2),
    ]
    assert campaign.stock == 6 and (_stock(small), _stock(medium)) == (8, 6)
