"""Reasons from a fixed list and up to six photos (checked and re-encoded by core.images), on
the service, the page and the API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shoploop.catalog.tests.conftest import image_bytes
from shoploop.core.errors import DomainError, PermissionDenied, ValidationFailed
from shoploop.orders import services
from shoploop.orders.models import MAX_AFTER_SALE_PHOTOS, AfterSale, AfterSalePhoto, Order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def photo(fmt="PNG", size=(2400, 1200), name=None):
    kind = {"PNG": "image/png", "JPEG": "image/jpeg"}[fmt]
    return SimpleUploadedFile(name or f"p.{fmt.lower()}", image_bytes(fmt, size), kind)


@pytest.fixture
def received(buyer, sku, place, pay):
    checkout = place((sku, 2))
    pay(checkout)
    order = Order.objects.get(checkout=checkout)
    services.ship_order(
        order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    return services.confirm_receipt(order=order, actor=buyer)


def _ask(order, **extra):
    fields = {"kind": "refund_only", "reason_code": "damaged"} | extra
    return services.request_after_sale(order=order, actor=order.buyer, **fields)


def test_photos_are_resized_and_stored_in_order(received):
    after_sale = _ask(received, photos=[photo(), photo("JPEG", (300, 200))])
    stored = list(after_sale.photos.all())
    assert [p.position for p in stored] == [0, 1]
    assert max(stored[0].width, stored[0].height) == services.PHOTO_MAX_SIDE
    with Image.open(stored[0].image.path) as image:
        assert max(image.size) == services.PHOTO_MAX_SIDE
    assert (stored[1].width, stored[1].height) == (300, 200)


def test_a_seventh_photo_is_refused_and_nothing_is_written(received):
    with pytest.raises(ValidationFailed) as caught:
        _ask(received, photos=[photo(size=(20, 20)) for _ in range(MAX_AFTER_SALE_PHOTOS + 1)])
    assert caught.value.code == "too_many_photos"
    assert not AfterSale.objects.exists() and not AfterSalePhoto.objects.exists()


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("evil.png", b"<?php system($_GET['c']); ?>", "image/png"),
        SimpleUploadedFile("doc.pdf", b"%PDF-1.4 hello", "application/pdf"),
        SimpleUploadedFile("empty.jpg", b"", "image/jpeg"),
    ],
)
def test_a_non_image_is_refused_and_nothing_is_written(received, upload):
    upload.seek(0)
    with pytest.raises(ValidationFailed) as caught:
        _ask(received, photos=[photo(size=(20, 20)), upload])
    assert caught.value.code == "photos_not_image"
    assert not AfterSale.objects.exists() and not AfterSalePhoto.objects.exists()


def test_every_listed_reason_is_accepted(received):
    for code in AfterSale.Reason.values:
        reason = "说明" if code == "other" else ""
        after_sale = _ask(received, reason_code=code, reason=reason)
        assert after_sale.reason_code == code
        services.reject_after_sale(after_sale=after_sale, actor=received.shop.owner, reason="no")


def test_adding_photos_later_up_to_six(received, other_user):
    after_sale = _ask(received, photos=[photo(size=(20, 20)) for _ in range(5)])
    added = services.add_after_sale_photo(
        after_sale=after_sale, actor=received.buyer, upload=photo(size=(20, 20))
    )
    assert added.position == 5
    with pytest.raises(ValidationFailed) as caught:
        services.add_after_sale_photo(
            after_sale=after_sale, actor=received.buyer, upload=photo(size=(20, 20))
        )
    assert caught.value.code == "too_many_photos"
    with pytest.raises(PermissionDenied):
        services.add_after_sale_photo(
            after_sale=after_sale, actor=other_user, upload=photo(size=(20, 20))
        )
    assert after_sale.photos.count() == MAX_AFTER_SALE_PHOTOS


def test_adding_no_file_is_refused(received):
    after_sale = _ask(received)
    with pytest.raises(ValidationFailed) as caught:
        services.add_after_sale_photo(after_sale=after_sale, actor=received.buyer, upload=None)
    assert caught.value.code == "photos_required"
    assert not after_sale.photos.exists()


def test_no_photos_for_a_decided_request(received):
    after_sale = _ask(received)
    services.reject_after_sale(after_sale=after_sale, actor=received.shop.owner, reason="no")
    with pytest.raises(DomainError) as caught:
        services.add_after_sale_photo(
            after_sale=after_sale, actor=received.buyer, upload=photo(size=(20, 20))
        )
    assert caught.value.code == "after_sale_decided"


# --- page ---


def test_request_page_with_reason_photos_and_default_quantity(client, received):
    client.force_login(received.buyer)
    page = client.get(f"/orders/{received.public_id}/").content.decode()
    line = received.lines.get()
    assert f'name="qty_{line.public_id}" min="0" max="2" value="2"' in page
    assert "Not as described" in page and 'name="photos"' in page
    response = client.post(
        f"/orders/{received.public_id}/after-sale/",
        {
            "kind": "refund_only",
            "reason_code": "damaged",
            "reason": "",
            f"qty_{line.public_id}": "2",
            "photos": [photo(size=(40, 40)), photo(size=(50, 50))],
        },
    )
    after_sale = AfterSale.objects.get()
    assert response["Location"] == f"/after-sales/{after_sale.public_id}/"
    assert after_sale.photos.count() == 2 and after_sale.lines.get().quantity == 2
    detail = client.get(response["Location"]).content.decode()
    assert "Arrived damaged" in detail and after_sale.photos.first().image.url in detail
    assert "Deadline:" in detail


def test_request_page_refuses_seven_photos_with_a_message(client, received):
    client.force_login(received.buyer)
    line = received.lines.get()
    response = client.post(
        f"/orders/{received.public_id}/after-sale/",
        {
            "kind": "refund_only",
            "reason_code": "damaged",
            f"qty_{line.public_id}": "1",
            "photos": [photo(size=(20, 20)) for _ in range(7)],
        },
        follow=True,
    )
    assert "At most 6 photos" in response.content.decode()
    assert not AfterSale.objects.exists()


# --- API ---


def test_api_request_with_reason_and_default_lines_then_photo(api, received):
    response = api.post(
        f"/orders/{received.public_id}/after-sales",
        {"kind": "refund_only", "reason_code": "quality"},
        user=received.buyer,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reason_code"] == "quality" and body["amount_fen"] == received.total_fen
    assert body["lines"][0]["quantity"] == 2 and body["due_at"] and body["due_label"]
    assert body["return_address"] == "" and body["photos"] == []


def test_api_photo_upload_and_bad_file(client, make_token, received):
    after_sale = _ask(received)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {make_token(received.buyer)}"}
    url = f"/api/v1/orders/after-sales/{after_sale.public_id}/photos"
    created = client.post(url, {"photo": photo(size=(30, 30))}, **headers)
    assert created.status_code == 201, created.content
    assert created.json()["width"] == 30
    bad = client.post(
        url, {"photo": SimpleUploadedFile("x.png", b"not an image", "image/png")}, **headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "photos_not_image"
    assert after_sale.photos.count() == 1


def test_api_bad_reason_code_is_refused(api, received):
    response = api.post(
        f"/orders/{received.public_id}/after-sales",
        {"kind": "refund_only", "reason_code": "bogus"},
        user=received.buyer,
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"reason_code": "invalid"}
    assert not AfterSale.objects.exists()
