"""The operators' group-buying pages: read-only lists with filters and search, for an operator
made by ``create_operator`` (permission group, not superuser)."""

import pytest
from django.urls import reverse

from shoploop.accounts.services import create_operator


@pytest.fixture
def staff(db):
    return create_operator(phone="+8613312340001", display_name="运营")


@pytest.fixture(autouse=True)
def _english(english):
    """Read English labels."""


def test_every_group_buying_page_renders_with_filters_and_search(client, staff, opened):
    client.force_login(staff)
    seat = opened.seats.get()
    for name in ("groupcampaign", "group", "seat"):
        url = reverse(f"admin:deals_groups_{name}_changelist")
        assert client.get(url).status_code == 200
        assert client.get(url, {"q": opened.public_id}).status_code == 200
    listing = client.get(reverse("admin:deals_groups_group_changelist"), {"state": "open"})
    assert opened.public_id in listing.content.decode()
    assert "¥39.00" in client.get(reverse("admin:deals_groups_seat_changelist")).content.decode()
    page = client.get(reverse("admin:deals_groups_group_change", args=[opened.pk]))
    assert page.status_code == 200 and seat.user.display_name in page.content.decode()
    campaign_page = client.get(
        reverse("admin:deals_groups_groupcampaign_change", args=[opened.campaign.pk])
    )
    assert campaign_page.status_code == 200
    seat_page = client.get(reverse("admin:deals_groups_seat_change", args=[seat.pk]))
    assert seat_page.status_code == 200


def test_groups_cannot_be_added_changed_or_deleted_in_the_admin(client, staff, opened):
    client.force_login(staff)
    assert client.get(reverse("admin:deals_groups_group_add")).status_code == 403
    change = reverse("admin:deals_groups_group_change", args=[opened.pk])
    client.post(change, {"state": "succeeded"})
    opened.refresh_from_db()
    assert opened.state == "open"
    delete = reverse("admin:deals_groups_group_delete", args=[opened.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
