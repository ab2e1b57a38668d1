"""Share links: making them, visiting them, sign-ups through them, pages, API, cleanup."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.referrals import handlers, selectors, services
from shoploop.referrals.models import ShareLink, ShareVisit

pytestmark = pytest.mark.django_db


def test_a_link_names_who_shared_what_and_is_made_once(sku, promoter):
    product_id = sku.product.public_id
    link = services.create_share_link(sharer=promoter, kind="product", target_public_id=product_id)
    again = services.create_share_link(sharer=promoter, kind="product", target_public_id=product_id)
    assert link.pk == again.pk and link.sharer == promoter and link.kind == "product"
    assert len(link.code) == 12 and link.code.isalnum()
    assert ShareLink.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "target", "code"),
    [
        ("spaceship", "x", "share_kind_invalid"),
        ("product", "nope", "share_target_not_found"),
        ("product", "", "share_target_not_found"),
        ("community", "zzzzzzzzzzzz", "share_target_not_found"),
    ],
)
def test_bad_share_input_is_refused_and_stores_nothing(promoter, kind, target, code):
    with pytest.raises(DomainError) as failure:
        services.create_share_link(sharer=promoter, kind=kind, target_public_id=target)
    assert failure.value.code == code
    assert not ShareLink.objects.exists()


def test_signed_out_people_cannot_make_links(sku):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(DomainError) as failure:
        services.create_share_link(
            sharer=AnonymousUser(), kind="product", target_public_id=sku.product.public_id
        )
    assert failure.value.status == 401


def test_visiting_records_and_redirects(client, product_link, sku):
    response = client.get(f"/s/{product_link.code}/", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    assert response["Location"] == f"/p/{sku.product.public_id}/"
    visit = ShareVisit.objects.get()
    assert visit.link == product_link and visit.visitor is None
    assert visit.ip_hash and "203" not in visit.ip_hash
    product_link.refresh_from_db()
    assert product_link.visits_count == 1


def test_a_forged_code_or_a_gone_target_is_404_and_records_nothing(client, product_link, sku):
    assert client.get("/s/notARealCode/").status_code == 404
    assert client.get("/s/%3Cscript%3E/").status_code == 404
    type(sku.product).objects.filter(pk=sku.product.pk).update(is_published=False)
    assert client.get(f"/s/{product_link.code}/").status_code == 404
    assert not ShareVisit.objects.exists()


def test_a_signed_out_visitor_who_signs_up_keeps_the_link(product_link, make_user):
    _link, visit, _target = services.record_visit(code=product_link.code, visitor=None)
    newcomer = make_user()  # joined after the visit
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.session[handlers.VISIT_SESSION_FIELD] = visit.pk
    handlers.claim_visit_at_sign_in(sender=None, request=request, user=newcomer)
    visit.refresh_from_db()
    assert visit.visitor == newcomer and visit.signed_up
    product_link.refresh_from_db()
    assert product_link.signups_count == 1
    # The promoter's first link binds the newcomer.
    assert newcomer.referral_binding.promoter == product_link.sharer


def test_an_old_account_signing_in_is_no_sign_up(product_link, make_user):
    old = make_user()
    _link, visit, _target = services.record_visit(code=product_link.code, visitor=None)
    type(old).objects.filter(pk=old.pk).update(date_joined=clock.now() - timedelta(days=30))
    old.refresh_from_db()
    services.claim_visit(visit_id=visit.pk, user=old)
    visit.refresh_from_db()
    assert visit.visitor == old and not visit.signed_up


def test_share_action_page_and_sheet(client, sku, promoter):
    product_id = sku.product.public_id
    response = client.post("/s/new/", {"kind": "product", "target": product_id, "next": "/"})
    assert (response.status_code == 302 and "sign-in" in response["Location"]) or "next=" in (
        response["Location"]
    )
    assert not ShareLink.objects.exists()
    client.force_login(promoter)
    response = client.post("/s/new/", {"kind": "product", "target": product_id})
    link = ShareLink.objects.get()
    assert response["Location"] == f"/s/{link.code}/share/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert f"/s/{link.code}/" in body and f"/s/{link.code}/poster.png" in body
    assert "data-copy-link" in body and "data-web-share" in body and "<script>" not in body


def test_someone_elses_sheet_is_404(client, product_link, make_user):
    client.force_login(make_user())
    assert client.get(f"/s/{product_link.code}/share/").status_code == 404


def test_product_page_has_a_share_action_and_open_graph(client, sku):
    body = client.get(f"/p/{sku.product.public_id}/").content.decode()
    assert 'property="og:title"' in body and 'property="og:url"' in body
    assert 'data-testid="share-action"' in body


def test_my_shares_page_and_api(client, product_link, promoter):
    services.record_visit(code=product_link.code, visitor=None)
    client.force_login(promoter)
    page = client.get("/me/shares/")
    assert page.status_code == 200
    response = client.get("/api/v1/referrals/links")
    assert response.status_code == 200
    [row] = response.json()
    assert row["code"] == product_link.code and row["visits"] == 1
    assert row["url"].endswith(f"/s/{product_link.code}/")
    totals = client.get("/api/v1/referrals/totals").json()
    assert totals["visits"] == 1 and totals["links"] == 1


def test_api_creates_links_and_refuses_bad_input(client, sku, promoter):
    client.force_login(promoter)
    created = client.post(
        "/api/v1/referrals/links",
        {"kind": "product", "target": sku.product.public_id},
        content_type="application/json",
    )
    assert created.status_code == 201
    bad = client.post(
        "/api/v1/referrals/links",
        {"kind": "product", "target": "missing"},
        content_type="application/json",
    )
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "share_target_not_found"
    assert ShareLink.objects.count() == 1


def test_hashed_networks_are_forgotten_after_the_window(product_link, settings):
    settings.REFERRALS_IP_HASH_HOURS = 72
    services.record_visit(code=product_link.code, visitor=None, ip="198.51.100.4")
    assert services.forget_ip_hashes(clock.now() + timedelta(hours=71)) == 0
    assert services.forget_ip_hashes(clock.now() + timedelta(hours=73)) == 1
    assert ShareVisit.objects.get().ip_hash == ""


def test_ip_hash_truncates_the_network():
    assert services.hash_ip("203.0.113.7") == services.hash_ip("203.0.113.200")
    assert services.hash_ip("203.0.113.7") != services.hash_ip("203.0.114.7")
    assert services.hash_ip("not an ip") == "" and services.hash_ip(None) == ""


def test_making_links_is_rate_limited_per_sharer(shop, make_sku, promoter, settings):
    """A script cannot mint links (and their events) without end; finding one's own link again
    is not counted."""
    from django.core.cache import cache

    cache.clear()
    settings.REFERRALS_SHARE_RATE_PER_MINUTE = 2
    skus = [make_sku(shop=shop, title=f"豆子 {n}") for n in range(3)]
    first = services.create_share_link(
        sharer=promoter, kind="product", target_public_id=skus[0].product.public_id
    )
    services.create_share_link(
        sharer=promoter, kind="product", target_public_id=skus[1].product.public_id
    )
    with pytest.raises(DomainError) as failure:
        services.create_share_link(
            sharer=promoter, kind="product", target_public_id=skus[2].product.public_id
        )
    assert failure.value.code == "rate_limited" and failure.value.status == 429
    assert ShareLink.objects.count() == 2
    again = services.create_share_link(
        sharer=promoter, kind="product", target_public_id=skus[0].product.public_id
    )
    assert again.pk == first.pk
    cache.clear()


def test_a_signed_out_visit_is_remembered_in_a_signed_cookie_not_a_session(
    client, product_link, make_user
):
    """A poster scanned by thousands must not write a session row per scan: the redirect sets a
    signed cookie, which sign-in reads; a forged one claims nothing."""
    from django.contrib.sessions.models import Session

    response = client.get(f"/s/{product_link.code}/")
    assert response.status_code == 302
    assert not Session.objects.exists()
    cookie = response.cookies[handlers.VISIT_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    visit = ShareVisit.objects.get()

    forged = RequestFactory().get("/")
    forged.session = SessionStore()
    forged.COOKIES[handlers.VISIT_COOKIE] = f"{visit.pk}:forged"
    handlers.claim_visit_at_sign_in(sender=None, request=forged, user=make_user())
    visit.refresh_from_db()
    assert visit.visitor is None

    newcomer = make_user()
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.COOKIES[handlers.VISIT_COOKIE] = cookie.value
    handlers.claim_visit_at_sign_in(sender=None, request=request, user=newcomer)
    visit.refresh_from_db()
    assert visit.visitor == newcomer and visit.signed_up


def test_following_a_link_reads_two_rows_and_writes_the_visit_and_its_event_only(
    client, product_link, sku
):
    """The hot path of sharing (bench/share.py): the link's own columns, whether its target is
    visible, then the visit and its event. The link's row is never written, so a viral link's
    visitors do not queue on its lock; its count is the count of its visits."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(f"/s/{product_link.code}/")  # the first follow compiles the prepared reads
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/s/{product_link.code}/")
    assert response.status_code == 302
    statements = [query["sql"].split()[0].upper() for query in queries]
    written = [q["sql"] for q in queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE"}]
    assert statements.count("SELECT") == 2
    assert len(written) == 2 and not any("referrals_sharelink" in sql for sql in written)
    assert product_link.visits_count == 2
    assert selectors.totals_of(user=product_link.sharer)["visits"] == 2
    assert [link.visits_count for link in selectors.links_of(user=product_link.sharer)] == [2]


@pytest.mark.parametrize(
    "change",
    ["unpublished", "shop rejected"],
)
def test_a_link_leads_only_where_its_card_can_be_shown(product_link, sku, change):
    from shoploop.catalog.models import Product, Shop
    from shoploop.referrals.targets import destination, resolve

    product_id = sku.product.public_id
    assert destination("product", product_id) == f"/p/{product_id}/"
    assert resolve("product", product_id).url == f"/p/{product_id}/"
    if change == "unpublished":
        Product.objects.filter(pk=sku.product.pk).update(is_published=False)
    else:
        Shop.objects.filter(pk=sku.product.shop_id).update(status=Shop.Status.REJECTED)
    assert destination("product", product_id) is None and resolve("product", product_id) is None
    with pytest.raises(DomainError):
        services.record_visit(code=product_link.code)
    assert not ShareVisit.objects.exists()


def test_operators_see_each_links_visits_in_the_admin_list(client, operator, product_link):
    services.record_visit(code=product_link.code)
    services.record_visit(code=product_link.code)
    client.force_login(operator)
    response = client.get("/admin/referrals/sharelink/?o=5")
    assert response.status_code == 200
    row = next(r for r in response.context["cl"].result_list if r.pk == product_link.pk)
    assert row.visits_count == 2
