"""Ideas pages through the test client: lists, the idea page with its vote button, comments and
history, the propose form, the merchant's console and wants demand, the shop's changelog."""

import pytest
from django.urls import reverse

from shoploop.ideas import services
from shoploop.ideas.models import Idea, IdeaComment, IdeaVote, Want

pytestmark = pytest.mark.django_db


def test_community_and_shop_pages_link_to_ideas(client, community, shop, idea):
    page = client.get(reverse("communities:detail", args=[community.public_id]))
    assert reverse("ideas:community", args=[community.public_id]) in page.content.decode()
    page = client.get(reverse("catalog:shop", args=[shop.public_id]))
    assert reverse("ideas:shop", args=[shop.public_id]) in page.content.decode()
    listed = client.get(reverse("ideas:community", args=[community.public_id]) + "?sort=new")
    assert listed.status_code == 200 and "小罐装" in listed.content.decode()
    listed = client.get(reverse("ideas:shop", args=[shop.public_id]))
    assert "小罐装" in listed.content.decode()


def test_propose_vote_and_comment_through_pages(client, member, fan, shop, community):
    client.force_login(member)
    form = client.get(
        reverse("ideas:propose") + f"?shop={shop.public_id}&community={community.public_id}"
    )
    assert form.status_code == 200 and "茶友会" in form.content.decode()
    empty = client.post(
        reverse("ideas:propose"),
        {"shop": shop.public_id, "community": community.public_id, "title": "", "body": "b"},
    )
    assert empty.status_code == 422 and Idea.objects.count() == 0
    sent = client.post(
        reverse("ideas:propose"),
        {
            "shop": shop.public_id,
            "community": community.public_id,
            "title": "小罐装",
            "body": "50g",
        },
    )
    idea = Idea.objects.get()
    assert sent.status_code == 302 and sent["Location"] == reverse(
        "ideas:idea", args=[idea.public_id]
    )
    client.force_login(fan)
    page = client.get(reverse("ideas:idea", args=[idea.public_id]))
    assert 'id="vote"' in page.content.decode()
    assert client.post(reverse("ideas:vote", args=[idea.public_id])).status_code == 302
    twice = client.post(reverse("ideas:vote", args=[idea.public_id]))
    assert twice.status_code == 409
    assert "You already voted for this idea." in twice.content.decode()
    assert IdeaVote.objects.count() == 1
    client.post(reverse("ideas:comment", args=[idea.public_id]), {"body": "支持"})
    page = client.get(reverse("ideas:idea", args=[idea.public_id])).content.decode()
    assert "支持" in page and "1 vote" in page and "You voted" in page
    blank = client.post(reverse("ideas:comment", args=[idea.public_id]), {"body": " "})
    assert blank.status_code == 422 and IdeaComment.objects.count() == 1


def test_the_merchant_answers_from_the_console(client, merchant, idea, product, member):
    services.vote(actor=member, idea=idea)
    client.force_login(merchant)
    console = client.get(reverse("ideas:console"))
    assert "小罐装" in console.content.decode()
    page = client.get(reverse("ideas:idea", args=[idea.public_id]))
    assert 'id="answer"' in page.content.decode()
    refused = client.post(reverse("ideas:answer", args=[idea.public_id]), {"status": "declined"})
    assert (
        refused.status_code == 422 and "Say why the idea is declined." in refused.content.decode()
    )
    done = client.post(
        reverse("ideas:answer", args=[idea.public_id]),
        {"status": "shipped", "product": product.public_id},
    )
    assert done.status_code == 302
    page = client.get(reverse("ideas:idea", args=[idea.public_id])).content.decode()
    assert "Shipped as" in page and product.title in page
    changelog = client.get(reverse("ideas:changelog", args=[idea.shop.public_id])).content.decode()
    assert (
        "小罐装" in changelog and reverse("catalog:product", args=[product.public_id]) in changelog
    )


def test_someone_else_cannot_answer(client, member, idea):
    client.force_login(member)
    refused = client.post(reverse("ideas:answer", args=[idea.public_id]), {"status": "planned"})
    assert refused.status_code == 403
    idea.refresh_from_db()
    assert idea.status == "proposed"


def test_wants_and_a_presale_through_pages(client, wanted, fan, merchant, member):
    client.force_login(fan)
    page = client.get(reverse("ideas:wanted", args=[wanted.public_id]))
    assert 'name="price_band"' in page.content.decode()
    no_band = client.post(reverse("ideas:wanted", args=[wanted.public_id]), {})
    assert (
        no_band.status_code == 422 and "Choose the price you would pay." in no_band.content.decode()
    )
    assert (
        client.post(
            reverse("ideas:wanted", args=[wanted.public_id]), {"price_band": "50_100"}
        ).status_code
        == 302
    )
    assert Want.objects.count() == 1
    client.force_login(merchant)
    demand = client.get(reverse("ideas:console_wanted", args=[wanted.public_id]))
    body = demand.content.decode()
    assert demand.status_code == 200 and "¥50 to ¥100" in body and 'name="price" ' in body
    form = demand.context["form"]
    bad = client.post(
        reverse("ideas:console_wanted", args=[wanted.public_id]), {**form, "price": "abc"}
    )
    assert bad.status_code == 422
    wanted.refresh_from_db()
    assert wanted.state == "open"
    started = client.post(reverse("ideas:console_wanted", args=[wanted.public_id]), form)
    wanted.refresh_from_db()
    assert started.status_code == 302 and wanted.state == "presale"
    client.force_login(fan)
    page = client.get(reverse("ideas:wanted", args=[wanted.public_id])).content.decode()
    assert reverse("deals_crowdfunding:project", args=[wanted.project.public_id]) in page


def test_the_console_is_only_for_merchants(client, member):
    client.force_login(member)
    assert client.get(reverse("ideas:console")).status_code == 404


def test_shop_wanted_page_proposes(client, fan, shop):
    client.force_login(fan)
    page = client.post(reverse("ideas:shop_wanted", args=[shop.public_id]), {"title": "冷泡茶"})
    assert page.status_code == 302
    listed = client.get(reverse("ideas:shop_wanted", args=[shop.public_id])).content.decode()
    assert "冷泡茶" in listed


def test_operators_see_ideas_and_wanted_products_in_the_admin(client, operator, idea, wanted):
    client.force_login(operator)
    for name in ("idea", "wantedproduct"):
        listing = client.get(reverse(f"admin:ideas_{name}_changelist"))
        assert listing.status_code == 200
    page = client.get(reverse("admin:ideas_idea_change", args=[idea.pk]))
    assert page.status_code == 200 and "小罐装" in page.content.decode()
