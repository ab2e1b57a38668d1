"""Request schemas shared by the deal kinds' APIs."""

from ninja import Field

from shoploop.core.schemas import InputSchema


class DealAddressIn(InputSchema):
    # Required: every deal ships a physical good. Omitted or "" answers 422 address_required;
    # not one of the buyer's addresses, 404 address_not_found. "pickup:<point id>" picks the
    # order up at one of the buyer's communities' pickup points instead (docs/pickup.md).
    address_id: str = Field("", max_length=40)
