"""Reviews: only the buyer of a received line, once; follow-up, the shop's reply, refunds,
operators hiding, ratings, sharing into a community (晒单)."""

from datetime import timedelta

import pytest

from shoploop.content import selectors, services
from shoploop.content.models import Review, ReviewPhoto
from shoploop.content.tests.conftest import photo
from shoploop.core import clock
from shoploop.core.errors import Conflict, PermissionDenied, ValidationFailed
from shoploop.core.events import recorded_events
from shoploop.orders import services as orders
from shoploop.orders.models import Order, OrderLine

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_the_buyer_reviews_a_received_line_once(buyer, received_line):
    with recorded_events() as events:
        review = services.create_review(
            actor=buyer, order_line=received_line, stars=5, body="好喝", photos=[photo()]
        )
    assert (review.stars, review.photo_count, review.photos.count()) == (5, 1, 1)
    (event,) = [e for e in events if e.name == "content.review.created"]
    assert event.payload["review_public_id"] == review.public_id
    assert event.payload["product_public_id"] == received_line.product_public_id
    assert event.payload["author_public_id"] == buyer.public_id
    with pytest.raises(Conflict) as caught:
        services.create_review(actor=buyer, order_line=received_line, stars=1)
    assert caught.value.code == "already_reviewed"
    assert Review.objects.count() == 1


def test_someone_else_cannot_review(make_user, received_line):
    with pytest.raises(PermissionDenied) as caught:
        services.create_review(actor=make_user(), order_line=received_line, stars=5)
    assert caught.value.code == "not_your_order_line"
    assert not Review.objects.exists()


def test_a_line_not_yet_received_cannot_be_reviewed(buyer, sku, place, pay):
    checkout = place((sku, 1))
    pay(checkout)
    line = OrderLine.objects.get(order__checkout=checkout)
    with pytest.raises(Conflict) as caught:
        services.create_review(actor=buyer, order_line=line, stars=5)
    assert caught.value.code == "not_received"
    assert not Review.objects.exists()


@pytest.mark.parametrize("stars", [0, 6, "5", None, True])
def test_stars_are_1_to_5(buyer, received_line, stars):
    with pytest.raises(ValidationFailed) as caught:
        services.create_review(actor=buyer, order_line=received_line, stars=stars)
    assert caught.value.code == "invalid_stars"


def test_bad_text_and_uploads_store_nothing(buyer, received_line):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(ValidationFailed):
        services.create_review(
            actor=buyer, order_line=received_line, stars=4, body="<script>x</script>"
        )
    with pytest.raises(ValidationFailed):
        services.create_review(
            actor=buyer,
            order_line=received_line,
            stars=4,
            photos=[SimpleUploadedFile("a.png", b"not an image", "image/png")],
        )
    with pytest.raises(ValidationFailed):
        services.create_review(
            actor=buyer,
            order_line=received_line,
            stars=4,
            photos=[photo(size=(20, 20)) for _ in range(10)],
        )
    assert not Review.objects.exists() and not ReviewPhoto.objects.exists()


def test_follow_up_once_within_90_days(buyer, received_line):
    review = services.create_review(actor=buyer, order_line=received_line, stars=4)
    services.add_follow_up(actor=buyer, review=review, body="用了一个月，还不错")
    with pytest.raises(Conflict) as caught:
        services.add_follow_up(actor=buyer, review=review, body="again")
    assert caught.value.code == "follow_up_exists"


def test_no_follow_up_after_90_days(buyer, received_line):
    review = services.create_review(actor=buyer, order_line=received_line, stars=4)
    with clock.frozen_at(clock.now() + timedelta(days=91)), pytest.raises(Conflict) as caught:
        services.add_follow_up(actor=buyer, review=review, body="late")
    assert caught.value.code == "follow_up_closed"


def test_the_shop_replies_once_publicly(buyer, merchant, received_line):
    review = services.create_review(actor=buyer, order_line=received_line, stars=2)
    with pytest.raises(PermissionDenied):
        services.reply_to_review(actor=buyer, review=review, body="me")
    services.reply_to_review(actor=merchant, review=review, body="抱歉，已补发")
    with pytest.raises(Conflict):
        services.reply_to_review(actor=merchant, review=review, body="again")
    assert review.reply_body == "抱歉，已补发"


def test_a_refunded_line_is_marked_and_only_an_operator_hides(
    buyer, merchant, operator, received_line
):
    review = services.create_review(actor=buyer, order_line=received_line, stars=1)
    assert not review.is_refunded
    order = received_line.order
    after_sale = orders.request_after_sale(
        order=order,
        actor=buyer,
        kind="refund_only",
        reason="broken",
        lines=[{"line_id": received_line.public_id, "quantity": 1}],
    )
    orders.accept_after_sale(after_sale=after_sale, actor=merchant)
    review = selectors.get_review(public_id=review.public_id)
    assert review.is_refunded
    with pytest.raises(PermissionDenied):
        services.hide_review(actor=merchant, review=review, reason="差评")
    services.hide_review(actor=operator, review=review, reason="辱骂")
    assert selectors.product_rating(product=review.product)["count"] == 0
    assert Review.objects.filter(pk=review.pk).exists()


def test_ratings_and_photos_first(make_user, buyer, sku, place, pay, received_line):
    first = services.create_review(actor=buyer, order_line=received_line, stars=5)
    other = make_user()
    checkout = place((sku, 1), user=other)
    pay(checkout)
    order = Order.objects.get(checkout=checkout)
    orders.ship_order(
        order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    orders.confirm_receipt(order=order, actor=other)
    with_photo = services.create_review(
        actor=other, order_line=order.lines.get(), stars=2, photos=[photo(size=(40, 40))]
    )
    product = first.product
    assert selectors.product_rating(product=product) == {
        "count": 2,
        "average": 3.5,
        "distribution": {5: 1, 4: 0, 3: 0, 2: 1, 1: 0},
    }
    assert selectors.shop_rating(shop=product.shop)["average"] == 3.5
    assert list(selectors.product_reviews(product=product)) == [with_photo, first]


def test_lines_awaiting_review(buyer, received_line):
    assert list(selectors.lines_awaiting_review(user=buyer)) == [received_line]
    services.create_review(actor=buyer, order_line=received_line, stars=5)
    assert list(selectors.lines_awaiting_review(user=buyer)) == []


def test_share_a_review_into_a_community(buyer, owner, community, received_line):
    from shoploop.communities import services as communities

    review = services.create_review(actor=buyer, order_line=received_line, stars=5, body="好")
    with pytest.raises(PermissionDenied):
        services.share_review(actor=buyer, review=review, community=community)
    communities.join_community(actor=buyer, community=community)
    post = services.share_review(actor=buyer, review=review, community=community, body="晒单")
    assert post.review == review and post.card_kind == "product"
    with pytest.raises(Conflict) as caught:
        services.share_review(actor=buyer, review=review, community=community)
    assert caught.value.code == "already_shared"
    with pytest.raises(PermissionDenied):
        services.share_review(actor=owner, review=review, community=community)
