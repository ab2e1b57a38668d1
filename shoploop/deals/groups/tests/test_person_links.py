"""Group members and the leader are shown as links to their profiles (``{% person %}``)."""

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_group_page_and_open_groups_link_the_leader(client, opened, buyer, sku):
    profile = reverse("accounts:profile", args=[buyer.public_id])
    group = client.get(reverse("deals_groups:group", args=[opened.public_id])).content.decode()
    assert f'<a class="person" href="{profile}">' in group
    product = client.get(reverse("catalog:product", args=[sku.product.public_id]))
    assert f'<a class="person" href="{profile}">' in product.content.decode()
