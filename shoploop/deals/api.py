"""/api/v1/deals/…: one router per deal kind, and the confirm step they share."""

from typing import Literal

from ninja import Field, Router, Schema

from shoploop.core.ratelimit import money_endpoint
from shoploop.deals import quotes
from shoploop.deals.bargains.api import router as bargains_router
from shoploop.deals.crowdfunding.api import router as crowdfunding_router
from shoploop.deals.flash.api import router as flash_router
from shoploop.deals.groups.api import router as groups_router
from shoploop.deals.schemas import DealAddressIn
from shoploop.orders.api import AddressOut
from shoploop.orders.pickup_api import PickupPointOut

router = Router()


class DealQuoteIn(DealAddressIn):
    # What the buyer is about to do, and the id of its deal: a group campaign (group_open), a
    # group (group_join), a bargain (bargain_buy), a flash sale (flash_buy), a reward tier
    # (pledge). ``address_id`` omitted: the default address.
    kind: Literal[quotes.KINDS]
    id: str = Field(..., max_length=40)
    quantity: int = Field(1, ge=1, le=100)
    # group_open / group_join of a campaign with several variants: the SKU chosen ("" until
    # then: the answer lists ``variants`` and ``can_confirm`` is false).
    sku_id: str = Field("", max_length=40)


class DealVariantOut(Schema):
    sku_id: str
    options: dict
    unit_price_fen: int
    stock: int


class DealQuoteOut(Schema):
    kind: str
    title: str
    options: dict
    unit_price_fen: int
    normal_price_fen: int | None
    quantity: int
    total_fen: int
    address: AddressOut | None
    addresses: list[AddressOut]
    # The buyer's communities' pickup points; choosing one is ``address_id`` "pickup:<id>".
    pickup_points: list[PickupPointOut]
    pickup_point: PickupPointOut | None
    refusal: str
    can_confirm: bool
    variants: list[DealVariantOut]
    sku_id: str
    needs_variant: bool


@router.post("/quote", response=DealQuoteOut, tags=["deals"])
@money_endpoint
def quote(request, payload: DealQuoteIn):
    """What a deal action would charge (the product and its options, the price this buyer pays,
    the total) and where it ships (the chosen address, else the default). Charges, reserves and
    takes nothing: the action's own endpoint, with the same ``address_id``, does it."""
    return quotes.quote(
        kind=payload.kind,
        target_id=payload.id,
        user=request.user,
        address_id=payload.address_id,
        quantity=payload.quantity,
        sku_id=payload.sku_id,
    )


router.add_router("/groups", groups_router)
router.add_router("/bargains", bargains_router)
router.add_router("/crowdfunding", crowdfunding_router)
router.add_router("/flash-sales", flash_router)
