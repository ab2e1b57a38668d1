import pytest

from shoploop.ledger import services
from shoploop.ledger.models import AccountKind


@pytest.fixture
def accounts(db):
    """A provider clearing account (may go negative: it is what the provider owes us), an escrow
    and a merchant account (both may never be overdrawn)."""
    return {
        "clearing": services.open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="sandbox"),
        "escrow": services.open_account(kind=AccountKind.BUYER_ESCROW, owner_ref="order:1"),
        "merchant": services.open_account(kind=AccountKind.MERCHANT_AVAILABLE, owner_ref="shop:1"),
    }
