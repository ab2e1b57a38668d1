"""Crowdfunding pages: project page, my pledges, merchant console."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.deals.crowdfunding import services
from shoploop.deals.crowdfunding.models import Pledge, Project
from shoploop.orders.tests.conftest import address_id_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _url(name, *args):
    from django.urls import reverse

    return reverse(f"deals_crowdfunding:{name}", args=args)


def test_project_page_escapes_the_story_and_shows_tiers(client, project):
    page = client.get(_url("project", project.public_id))
    assert page.status_code == 200
    html = page.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "双壶档" in html and "2 of 2 left" in html
    assert "data-countdown" in html
    assert "0 backers" in html


def test_back_redirects_to_the_cashier_and_the_page_shows_the_pledge(client, project, buyer, pay):
    client.force_login(buyer)
    tier = project.tiers.get(position=1)
    response = client.post(_url("back", tier.public_id), {"address": address_id_for(buyer)})
    assert response.status_code == 302
    pledge = Pledge.objects.get(backer=buyer)
    assert "next=" in response["Location"]
    pay(pledge.order.checkout)
    html = client.get(_url("project", project.public_id)).content.decode()
    assert "Your pledges" in html and "Pledged" in html and "1 backer" in html
    again = client.post(
        _url("back", tier.public_id), {"address": address_id_for(buyer)}, follow=True
    )
    assert "You already back this project" in again.content.decode()


def test_failed_project_tells_backers_they_were_refunded(client, make_project, buyer, pay):
    project = make_project(target_value=10_000_000)
    pledge = services.back(
        tier=project.tiers.get(position=0), user=buyer, address_id=address_id_for(buyer)
    )
    pay(pledge.order.checkout)
    services.settle(project.deadline + timedelta(seconds=1))
    client.force_login(buyer)
    html = client.get(_url("project", project.public_id)).content.decode()
    assert "did not reach its target" in html
    assert "Refunded" in html and "refunded ¥99.00" in html
    mine = client.get(_url("mine")).content.decode()
    assert "Refunded" in mine and "refunded ¥99.00" in mine


def test_cancel_from_my_pledges(client, project, buyer):
    pledge = services.back(
        tier=project.tiers.get(position=0), user=buyer, address_id=address_id_for(buyer)
    )
    client.force_login(buyer)
    assert "Pay now" in client.get(_url("mine")).content.decode()
    response = client.post(_url("cancel", pledge.public_id), follow=True)
    assert "Your pledge was cancelled" in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.state == Pledge.State.CANCELLED


def test_someone_elses_pledge_is_403(client, project, buyer, make_user):
    pledge = services.back(
        tier=project.tiers.get(position=0), user=buyer, address_id=address_id_for(buyer)
    )
    client.force_login(make_user())
    assert client.post(_url("cancel", pledge.public_id)).status_code == 403


def test_console_creates_a_project(client, shop):
    client.force_login(shop.owner)
    assert client.get(_url("console")).status_code == 200
    deadline = (clock.now() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    delivery = (clock.now() + timedelta(days=30)).date().isoformat()
    response = client.post(
        _url("create"),
        {
            "title": "手工皮面笔记本",
            "story": "一针一线",
            "target_kind": "fen",
            "target": "5000",
            "deadline": deadline,
            "tier_title_0": "一本",
            "tier_price_0": "88.50",
            "tier_units_0": "1",
            "tier_limit_0": "100",
            "tier_delivery_0": delivery,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    project = Project.objects.get()
    assert project.target_value == 500000
    assert project.tiers.get().price_fen == 8850
    page = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 5s"' in page
    counts = client.get(_url("console_counts", project.public_id))
    assert "0 / 100 claimed" in counts.content.decode()


def test_console_shows_errors_and_keeps_nothing(client, shop):
    client.force_login(shop.owner)
    response = client.post(
        _url("create"),
        {
            "title": "x",
            "story": "y",
            "target_kind": "fen",
            "target": "0",
            "deadline": "2001-01-01T00:00",
            "tier_title_0": "a",
            "tier_price_0": "1",
            "tier_delivery_0": "2001-02-01",
        },
    )
    assert response.status_code == 422
    assert "greater than zero" in response.content.decode()
    assert not Project.objects.exists()


def test_console_updates_and_other_merchants(client, project, other_merchant):
    client.force_login(other_merchant)
    assert client.get(_url("console_project", project.public_id)).status_code == 403
    assert "Only an approved shop" in client.get(_url("console")).content.decode()  # no shop
    client.force_login(project.shop.owner)
    client.post(_url("post_update", project.public_id), {"body": "<i>样品</i>到了"})
    html = client.get(_url("project", project.public_id)).content.decode()
    assert "&lt;i&gt;样品&lt;/i&gt;到了" in html


def test_hub_links(client, buyer):
    client.force_login(buyer)
    assert _url("mine") in client.get("/deals/mine/").content.decode()
    assert _url("console") in client.get("/console/campaigns/").content.decode()


def test_community_page_lists_live_projects_of_its_shops(client, project, shop):
    from shoploop.catalog import services as catalog
    from shoploop.communities import services as communities

    community = communities.create_community(
        actor=shop.owner, name="露营同好会", description="", tags=["露营"]
    )
    page = f"/c/{community.public_id}/"
    assert 'data-testid="crowdfunding-block"' not in client.get(page).content.decode()
    catalog.list_shop_in_community(shop=shop, community=community, actor=shop.owner)
    html = client.get(page).content.decode()
    assert 'data-testid="crowdfunding-block"' in html
    assert _url("project", project.public_id) in html
    with clock.frozen_at(project.deadline + timedelta(seconds=1)):
        assert 'data-testid="crowdfunding-block"' not in client.get(page).content.decode()


def test_console_pauses_and_resumes_and_the_project_page_says_so(
    client, project, buyer, other_merchant
):
    client.force_login(other_merchant)
    assert client.post(_url("pause_project", project.public_id)).status_code == 403
    client.force_login(project.shop.owner)
    console = client.get(_url("console_project", project.public_id)).content.decode()
    assert "Pause new pledges" in console
    client.post(_url("pause_project", project.public_id))
    project.refresh_from_db()
    assert project.is_paused
    console = client.get(_url("console_project", project.public_id)).content.decode()
    assert 'data-testid="project-paused"' in console and ">Resume<" in console
    client.force_login(buyer)
    page = client.get(_url("project", project.public_id)).content.decode()
    assert 'data-testid="paused"' in page and "Back this" not in page
    tier = project.tiers.get(position=0)
    response = client.post(
        _url("back", tier.public_id), {"address": address_id_for(buyer)}, follow=True
    )
    assert "paused this project" in response.content.decode()
    assert not Pledge.objects.exists()
    client.force_login(project.shop.owner)
    client.post(_url("pause_project", project.public_id), {"action": "resume"})
    project.refresh_from_db()
    assert not project.is_paused
    client.force_login(buyer)
    assert "Back this" in client.get(_url("project", project.public_id)).content.decode()
