import pytest
from django.db import IntegrityError, transaction

from shoploop.catalog import services
from shoploop.catalog.models import DEFAULT_FEE_RATE_BPS, Shop
from shoploop.communities import services as community_services
from shoploop.core.errors import Conflict, NotAuthenticated, PermissionDenied, ValidationFailed
from shoploop.core.events import recorded_events

pytestmark = pytest.mark.django_db


def test_applying_creates_a_pending_shop_and_announces_it(user):
    with recorded_events() as events:
        shop = services.apply_for_shop(user=user, name=" 小王的店 ", contact="13800000000")
    assert shop.status == Shop.Status.PENDING
    assert shop.name == "小王的店"
    assert shop.fee_rate_bps == DEFAULT_FEE_RATE_BPS == 500
    assert len(shop.public_id) == 12
    assert [e.name for e in events] == ["catalog.shop.applied"]


def test_one_shop_per_user_is_enforced_by_the_database(user):
    services.apply_for_shop(user=user, name="一号店", contact="x")
    with pytest.raises(Conflict) as error:
        services.apply_for_shop(user=user, name="二号店", contact="y")
    assert error.value.code == "shop_exists"
    assert Shop.objects.filter(owner=user).count() == 1
    assert Shop.objects.get(owner=user).name == "一号店"
    with pytest.raises(IntegrityError), transaction.atomic():
        Shop.objects.create(owner=user, name="绕过服务", contact="z")


@pytest.mark.parametrize(
    ("name", "contact", "field"),
    [
        ("", "x", "name"),
        ("   ", "x", "name"),
        ("n" * 41, "x", "name"),
        ("店", "", "contact"),
        ("店", "c" * 101, "contact"),
        ("a\x00b", "x", "name"),
    ],
)
def test_bad_applications_change_nothing(user, name, contact, field):
    with pytest.raises(ValidationFailed) as error:
        services.apply_for_shop(user=user, name=name, contact=contact)
    assert field in error.value.fields
    assert not Shop.objects.exists()


def test_anonymous_cannot_apply():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        services.apply_for_shop(user=AnonymousUser(), name="店", contact="x")


def test_html_in_a_shop_name_is_stored_as_given(user):
    shop = services.apply_for_shop(user=user, name="<b>店</b>", contact="<script>x</script>")
    shop.refresh_from_db()
    assert shop.name == "<b>店</b>"
    assert shop.contact == "<script>x</script>"


def test_operator_approves_once(user, operator):
    shop = services.apply_for_shop(user=user, name="店", contact="x")
    with recorded_events() as events:
        services.approve_shop(shop=shop, actor=operator)
    assert shop.status == Shop.Status.APPROVED
    assert shop.reviewed_by == operator and shop.reviewed_at is not None
    assert [e.name for e in events] == ["catalog.shop.approved"]
    with pytest.raises(Conflict) as error:
        services.approve_shop(shop=shop, actor=operator)
    assert error.value.code == "shop_not_pending"


def test_only_operators_review_shops(user, other_user):
    shop = services.apply_for_shop(user=user, name="店", contact="x")
    for actor in (user, other_user):
        with pytest.raises(PermissionDenied):
            services.approve_shop(shop=shop, actor=actor)
        with pytest.raises(PermissionDenied):
            services.reject_shop(shop=shop, actor=actor, reason="no")
    shop.refresh_from_db()
    assert shop.status == Shop.Status.PENDING


def test_rejection_needs_a_reason_and_the_applicant_may_apply_again(user, operator):
    shop = services.apply_for_shop(user=user, name="店", contact="x")
    with pytest.raises(ValidationFailed):
        services.reject_shop(shop=shop, actor=operator, reason="  ")
    services.reject_shop(shop=shop, actor=operator, reason="资料不全")
    assert shop.status == Shop.Status.REJECTED and shop.rejection_reason == "资料不全"
    with pytest.raises(Conflict):
        services.approve_shop(shop=shop, actor=operator)
    again = services.apply_for_shop(user=user, name="新店名", contact="y")
    assert again.pk == shop.pk
    assert again.status == Shop.Status.PENDING and again.rejection_reason == ""
    assert again.name == "新店名"


def test_owner_updates_shop_and_others_cannot(shop, merchant, other_merchant, operator):
    services.update_shop(shop=shop, actor=merchant, name="新名字", description="介绍")
    shop.refresh_from_db()
    assert (shop.name, shop.description) == ("新名字", "介绍")
    for actor in (other_merchant, operator):
        with pytest.raises(PermissionDenied):
            services.update_shop(shop=shop, actor=actor, name="抢走")
    shop.refresh_from_db()
    assert shop.name == "新名字"
    with pytest.raises(ValidationFailed):
        services.update_shop(shop=shop, actor=merchant, description="长" * 2001)


def test_logo_is_checked_and_resized(shop, merchant, png_upload):
    from django.core.files.uploadedfile import SimpleUploadedFile

    services.set_shop_logo(shop=shop, actor=merchant, upload=png_upload(size=(2000, 1000)))
    shop.refresh_from_db()
    assert shop.logo.width == 512 and shop.logo.height == 256
    with pytest.raises(ValidationFailed):
        services.set_shop_logo(
            shop=shop, actor=merchant, upload=SimpleUploadedFile("x.png", b"<svg onload=alert(1)>")
        )


def test_shop_is_listed_only_in_communities_the_owner_belongs_to(
    shop, merchant, community, make_community, other_merchant
):
    services.list_shop_in_community(shop=shop, community=community, actor=merchant)
    services.list_shop_in_community(shop=shop, community=community, actor=merchant)  # twice: fine
    assert list(shop.communities.all()) == [community]
    foreign = make_community(owner=other_merchant, name="别人的群")
    with pytest.raises(PermissionDenied) as error:
        services.list_shop_in_community(shop=shop, community=foreign, actor=merchant)
    assert error.value.code == "not_member"
    with pytest.raises(PermissionDenied):
        services.list_shop_in_community(shop=shop, community=community, actor=other_merchant)
    community_services.join_community(actor=merchant, community=foreign)
    services.list_shop_in_community(shop=shop, community=foreign, actor=merchant)
    assert shop.communities.count() == 2


def test_pending_shop_cannot_be_listed(user, make_community):
    shop = services.apply_for_shop(user=user, name="店", contact="x")
    community = make_community(owner=user)
    with pytest.raises(Conflict):
        services.list_shop_in_community(shop=shop, community=community, actor=user)


def test_unlisting_a_shop_withdraws_its_products_there(shop, merchant, community, product):
    services.list_shop_in_community(shop=shop, community=community, actor=merchant)
    services.update_product(product=product, actor=merchant, communities=[community])
    services.set_shop_communities(shop=shop, communities=[], actor=merchant)
    assert shop.communities.count() == 0
    assert product.communities.count() == 0
