import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from shoploop.catalog import services
from shoploop.catalog.models import Shop

pytestmark = pytest.mark.django_db


def test_operator_approves_and_rejects_through_admin_actions(client, operator, make_user):
    first = services.apply_for_shop(user=make_user(), name="甲店", contact="x")
    second = services.apply_for_shop(user=make_user(), name="乙店", contact="y")
    client.force_login(operator)
    url = reverse("admin:catalog_shop_changelist")
    assert client.get(url, {"status__exact": "pending", "q": "甲"}).status_code == 200
    client.post(url, {"action": "approve", ACTION_CHECKBOX_NAME: [first.pk]})
    first.refresh_from_db()
    assert first.status == Shop.Status.APPROVED and first.reviewed_by == operator
    confirm = client.post(url, {"action": "reject", ACTION_CHECKBOX_NAME: [second.pk]})
    assert confirm.status_code == 200 and "乙店" in confirm.content.decode()
    client.post(url, {"action": "reject", ACTION_CHECKBOX_NAME: [second.pk], "reason": "资料不全"})
    second.refresh_from_db()
    assert second.status == Shop.Status.REJECTED and second.rejection_reason == "资料不全"
    # approving an already decided shop is refused with a message, not a crash
    response = client.post(
        url, {"action": "approve", ACTION_CHECKBOX_NAME: [second.pk]}, follow=True
    )
    assert response.status_code == 200
    second.refresh_from_db()
    assert second.status == Shop.Status.REJECTED


def test_admin_pages_render_with_formatted_money(client, operator, on_sale, sku, shop):
    client.force_login(operator)
    shop_page = client.get(reverse("admin:catalog_shop_change", args=[shop.pk]))
    assert shop_page.status_code == 200 and "5.00%" in shop_page.content.decode()
    product_page = client.get(reverse("admin:catalog_product_change", args=[on_sale.pk]))
    assert product_page.status_code == 200 and "¥59.00" in product_page.content.decode()
    sku_page = client.get(reverse("admin:catalog_sku_change", args=[sku.pk]))
    assert sku_page.status_code == 200
    # stock is read-only: posting a new value changes nothing
    client.post(reverse("admin:catalog_sku_change", args=[sku.pk]), {"stock": "999"})
    sku.refresh_from_db()
    assert sku.stock == 10
    for name in ("shop", "product", "sku"):
        assert client.get(reverse(f"admin:catalog_{name}_changelist")).status_code == 200


def test_admin_unpublish_action(client, operator, on_sale):
    client.force_login(operator)
    url = reverse("admin:catalog_product_changelist")
    client.post(url, {"action": "unpublish", ACTION_CHECKBOX_NAME: [on_sale.pk]})
    on_sale.refresh_from_db()
    assert not on_sale.is_published
