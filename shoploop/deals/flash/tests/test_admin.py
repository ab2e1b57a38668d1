"""The operators' flash-sale pages: read-only lists with filters and search."""

import pytest
from django.urls import reverse

from shoploop.deals.flash import services
from shoploop.orders.tests.conftest import address_id_for


@pytest.fixture(autouse=True)
def _english(english):
    """Read English labels."""


def test_every_flash_sale_page_renders(client, operator, sale, buyer):
    purchase = services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer))
    client.force_login(operator)
    for name in ("flashsale", "flashpurchase"):
        url = reverse(f"admin:deals_flash_{name}_changelist")
        assert client.get(url).status_code == 200
        assert client.get(url, {"q": sale.public_id}).status_code == 200
    listing = client.get(
        reverse("admin:deals_flash_flashpurchase_changelist"), {"state": "reserved"}
    )
    assert purchase.public_id in listing.content.decode()
    page = client.get(reverse("admin:deals_flash_flashsale_change", args=[sale.pk]))
    assert page.status_code == 200 and "¥19.90" in page.content.decode()
    assert client.get(reverse("admin:deals_flash_flashsale_add")).status_code == 403
    purchase_page = reverse("admin:deals_flash_flashpurchase_change", args=[purchase.pk])
    assert client.get(purchase_page).status_code == 200
