"""Ideas services: who may propose, vote and comment; the merchant's answers and their
transitions; wants and the pre-sale started from them. Every refusal changes nothing."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shoploop.catalog.tests.conftest import image_bytes
from shoploop.communities.models import Membership
from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.core.events import recorded_events
from shoploop.core.models import OutboxEvent
from shoploop.deals.crowdfunding.models import Project
from shoploop.ideas import selectors, services
from shoploop.ideas.models import (
    Idea,
    IdeaComment,
    IdeaPhoto,
    IdeaStatusChange,
    IdeaVote,
    Want,
    WantedProduct,
)

pytestmark = pytest.mark.django_db


def snapshot():
    """Everything a refused call must leave as it was."""
    return (
        list(Idea.objects.order_by("pk").values()),
        IdeaVote.objects.count(),
        IdeaComment.objects.count(),
        IdeaPhoto.objects.count(),
        IdeaStatusChange.objects.count(),
        list(WantedProduct.objects.order_by("pk").values()),
        Want.objects.count(),
        Project.objects.count(),
        OutboxEvent.objects.count(),
    )


def refused(call, code):
    before = snapshot()
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.code == code, caught.value.as_dict()
    assert snapshot() == before
    return caught.value


def photo():
    return SimpleUploadedFile("p.png", image_bytes("PNG", (2400, 1200)), "image/png")


# --- proposing -------------------------------------------------------------------------------


def test_a_member_proposes_an_idea_with_photos(member, shop, community):
    with recorded_events() as events:
        idea = services.propose_idea(
            actor=member,
            shop=shop,
            community=community,
            title=" 小罐装 ",
            body="想要 50g 的小罐装。",
            photos=[photo(), photo()],
        )
    assert idea.title == "小罐装" and idea.status == Idea.Status.PROPOSED
    assert [(p.width, p.height) for p in idea.photos.all()] == [(1600, 800), (1600, 800)]
    (event,) = events
    assert event.name == "ideas.idea.proposed"
    assert event.payload == {
        "idea_public_id": idea.public_id,
        "shop_public_id": shop.public_id,
        "community_public_id": community.public_id,
        "author_public_id": member.public_id,
        "product_public_id": None,
        "kind": "new_product",
    }


def test_a_follower_proposes_an_improvement_without_a_community(fan, shop, product):
    idea = services.propose_idea(
        actor=fan, shop=shop, title="更大的包装", body="一次买两包", product=product
    )
    assert idea.community is None and idea.product == product


def test_who_may_not_propose(outsider, member, shop, community, other_shop, make_sku):
    def propose(**kwargs):
        base = {"actor": outsider, "shop": shop, "title": "t", "body": "b"}
        return lambda: services.propose_idea(**{**base, **kwargs})

    refused(propose(actor=None), "not_authenticated")
    refused(propose(), "not_a_follower")
    refused(propose(community=community), "not_a_member")
    refused(propose(actor=member, shop=other_shop, community=community), "shop_not_in_community")
    other_product = make_sku(shop=other_shop).product
    refused(
        propose(actor=member, community=community, product=other_product), "product_not_in_shop"
    )
    refused(propose(actor=member, community=community, title=""), "invalid")
    refused(propose(actor=member, community=community, body="x" * 5001), "invalid")
    refused(propose(actor=member, community=community, photos=[photo()] * 5), "too_many_photos")
    bad = SimpleUploadedFile("p.png", b"not an image", "image/png")
    refused(propose(actor=member, community=community, photos=[bad]), "photos_not_image")


def test_a_banned_member_may_not_propose(member, shop, community):
    Membership.objects.filter(user=member, community=community).update(
        state=Membership.State.BANNED
    )
    refused(
        lambda: services.propose_idea(
            actor=member, shop=shop, community=community, title="t", body="b"
        ),
        "not_a_member",
    )


def test_the_author_adds_photos_up_to_the_limit(idea, member, outsider):
    for _ in range(4):
        services.add_idea_photo(actor=member, idea=idea, upload=photo())
    refused(
        lambda: services.add_idea_photo(actor=member, idea=idea, upload=photo()), "too_many_photos"
    )
    refused(
        lambda: services.add_idea_photo(actor=outsider, idea=idea, upload=photo()), "not_author"
    )


# --- voting -------------------------------------------------------------------------------------


def test_members_and_followers_vote_once_each(idea, member, fan):
    with recorded_events() as events:
        services.vote(actor=member, idea=idea)
        services.vote(actor=fan, idea=idea)
    idea.refresh_from_db()
    assert idea.vote_count == 2
    assert [e.payload["voter_public_id"] for e in events] == [member.public_id, fan.public_id]
    assert events[0].payload["community_public_id"] == idea.community.public_id
    error = refused(lambda: services.vote(actor=member, idea=idea), "already_voted")
    assert error.status == 409 and str(error.message) == "You already voted for this idea."


def test_an_outsider_may_not_vote(idea, outsider):
    error = refused(lambda: services.vote(actor=outsider, idea=idea), "not_a_member")
    assert error.status == 403


def test_a_closed_idea_takes_no_votes(idea, merchant, fan, member):
    services.vote(actor=member, idea=idea)
    services.change_status(actor=merchant, idea=idea, status="declined", reason="做不了")
    error = refused(lambda: services.vote(actor=fan, idea=idea), "idea_closed")
    assert error.status == 409


def test_a_vote_counted_after_the_idea_closed_is_rolled_back(idea, fan):
    """The idea read as open, but it was declined before the vote's counter update."""
    Idea.objects.filter(pk=idea.pk).update(status=Idea.Status.DECLINED)
    refused(lambda: services.vote(actor=fan, idea=idea), "idea_closed")
    assert not IdeaVote.objects.exists()


# --- comments -----------------------------------------------------------------------------------


def test_comments_by_members_and_the_shop(idea, fan, merchant, outsider):
    services.add_comment(actor=fan, idea=idea, body="好主意")
    answer = services.add_comment(actor=merchant, idea=idea, body="在考虑")
    assert answer.from_shop
    idea.refresh_from_db()
    assert idea.comment_count == 2
    refused(lambda: services.add_comment(actor=outsider, idea=idea, body="hi"), "not_a_member")
    refused(lambda: services.add_comment(actor=fan, idea=idea, body="  "), "invalid")


# --- the merchant's answers ---------------------------------------------------------------------


def test_an_idea_goes_forward_to_shipped_and_links_its_product(idea, merchant, product, member):
    services.vote(actor=member, idea=idea)
    services.change_status(actor=merchant, idea=idea, status="under_review")
    services.change_status(actor=merchant, idea=idea, status="planned")
    services.change_status(actor=merchant, idea=idea, status="in_progress")
    with recorded_events() as events:
        services.change_status(actor=merchant, idea=idea, status="shipped", product=product)
    assert idea.status == "shipped" and idea.shipped_product == product and idea.shipped_at
    assert [e.name for e in events] == ["ideas.idea.status_changed", "ideas.idea.shipped"]
    assert events[1].payload["product_public_id"] == product.public_id
    history = [(c.from_status, c.to_status) for c in selectors.idea_history(idea=idea)]
    assert history == [
        ("proposed", "under_review"),
        ("under_review", "planned"),
        ("planned", "in_progress"),
        ("in_progress", "shipped"),
    ]
    assert list(selectors.shop_changelog(shop=idea.shop, viewer=None)) == [idea]


def test_answers_that_are_refused(idea, merchant, member, product, other_shop, make_sku):
    def answer(actor=merchant, **kwargs):
        return lambda: services.change_status(actor=actor, idea=idea, **kwargs)

    assert refused(answer(actor=member, status="planned"), "not_shop_owner").status == 403
    refused(answer(status="proposed"), "invalid_status")
    refused(answer(status="nonsense"), "invalid_status")
    refused(answer(status="declined"), "reason_required")
    refused(answer(status="declined", reason="   "), "reason_required")
    refused(answer(status="shipped"), "product_required")
    refused(
        answer(status="shipped", product=make_sku(shop=other_shop).product), "product_not_in_shop"
    )
    services.change_status(actor=merchant, idea=idea, status="in_progress")
    refused(answer(status="planned"), "invalid_transition")
    refused(answer(status="in_progress"), "invalid_transition")
    services.change_status(actor=merchant, idea=idea, status="shipped", product=product)
    refused(answer(status="declined", reason="no"), "idea_closed")


def test_an_unpublished_product_cannot_answer_an_idea(idea, merchant, product):
    type(product).objects.filter(pk=product.pk).update(is_published=False)
    product.refresh_from_db()
    refused(
        lambda: services.change_status(
            actor=merchant, idea=idea, status="shipped", product=product
        ),
        "product_not_published",
    )


def test_a_stale_answer_is_a_conflict(idea, merchant):
    stale = Idea.objects.get(pk=idea.pk)
    services.change_status(actor=merchant, idea=idea, status="planned")
    refused(
        lambda: services.change_status(actor=merchant, idea=stale, status="under_review"),
        "invalid_transition",
    )


# --- visibility ---------------------------------------------------------------------------------


def test_ideas_of_a_members_only_community_are_hidden_from_others(
    idea, community, outsider, member, merchant
):
    type(community).objects.filter(pk=community.pk).update(visibility="approval")
    with pytest.raises(DomainError):
        selectors.get_idea(public_id=idea.public_id, viewer=outsider)
    assert selectors.get_idea(public_id=idea.public_id, viewer=member) == idea
    assert selectors.get_idea(public_id=idea.public_id, viewer=merchant) == idea
    assert list(selectors.shop_ideas(shop=idea.shop, viewer=None)) == []


def test_sorting_by_votes_and_newest(idea, member, fan, shop, community):
    later = services.propose_idea(actor=fan, shop=shop, title="新口味", body="桂花")
    services.vote(actor=member, idea=idea)
    assert list(selectors.shop_ideas(shop=shop, viewer=None, sort="votes")) == [idea, later]
    assert list(selectors.shop_ideas(shop=shop, viewer=None, sort="new")) == [later, idea]
    assert list(selectors.community_ideas(community=community, viewer=None)) == [idea]


# --- wants --------------------------------------------------------------------------------------


def test_wants_need_a_price_band_and_count_once(wanted, fan, member, merchant, community):
    refused(
        lambda: services.add_want(actor=fan, wanted_product=wanted, price_band=""),
        "price_band_required",
    )
    refused(
        lambda: services.add_want(actor=fan, wanted_product=wanted, price_band=None),
        "price_band_required",
    )
    refused(
        lambda: services.add_want(actor=fan, wanted_product=wanted, price_band="cheap"),
        "invalid_price_band",
    )
    refused(
        lambda: services.add_want(actor=merchant, wanted_product=wanted, price_band="50_100"),
        "own_shop",
    )
    refused(
        lambda: services.add_want(
            actor=fan, wanted_product=wanted, price_band="50_100", community=community
        ),
        "not_a_member",
    )
    with recorded_events() as events:
        services.add_want(
            actor=member, wanted_product=wanted, price_band="50_100", community=community
        )
    (event,) = events
    assert event.name == "ideas.want.added"
    assert event.payload["community_public_ids"] == [community.public_id]
    assert event.payload["price_band"] == "50_100"
    refused(
        lambda: services.add_want(actor=member, wanted_product=wanted, price_band="under_50"),
        "already_wanted",
    )
    wanted.refresh_from_db()
    assert wanted.want_count == 1


def test_demand_by_band_and_community(wanted, member, fan, community, old_user):
    services.add_want(actor=member, wanted_product=wanted, price_band="50_100")
    services.add_want(actor=fan, wanted_product=wanted, price_band="100_200")
    third = old_user("第三人")
    from shoploop.communities import services as communities

    communities.join_community(actor=third, community=community)
    services.add_want(actor=third, wanted_product=wanted, price_band="50_100")
    bands = {b.band: b.count for b in selectors.demand_by_band(wanted_product=wanted)}
    assert bands == {"under_50": 0, "50_100": 2, "100_200": 1, "200_500": 0, "500_up": 0}
    (row,) = selectors.demand_by_community(wanted_product=wanted)
    assert (row.community_public_id, row.total, row.by_band) == (
        community.public_id,
        2,
        {"50_100": 2},
    )
    wanted.refresh_from_db()
    draft = selectors.presale_draft(wanted_product=wanted)
    assert (draft.band, draft.price_fen, draft.target_units) == ("50_100", 7900, 2)
    assert "3 people said they want this." in draft.story


def start(wanted, actor, **overrides):
    draft = selectors.presale_draft(wanted_product=wanted)
    fields = {
        "title": draft.title,
        "story": draft.story,
        "price_fen": draft.price_fen,
        "target_units": draft.target_units,
        "deadline": draft.deadline,
        "estimated_delivery": draft.estimated_delivery,
    }
    return lambda: services.start_presale(
        actor=actor, wanted_product=wanted, **{**fields, **overrides}
    )


def test_a_presale_starts_from_the_wants_once(wanted, member, fan, merchant):
    refused(start(wanted, merchant), "no_wants")
    services.add_want(actor=member, wanted_product=wanted, price_band="50_100")
    services.add_want(actor=fan, wanted_product=wanted, price_band="50_100")
    wanted.refresh_from_db()
    refused(start(wanted, member), "not_shop_owner")
    refused(start(wanted, merchant, price_fen=0), "invalid")
    refused(start(wanted, merchant, deadline=clock.now() - timedelta(days=1)), "invalid")
    with recorded_events() as events:
        start(wanted, merchant)()
    assert wanted.state == "presale" and wanted.project is not None
    project = wanted.project
    assert (project.target_kind, project.target_value, project.title) == ("units", 1, "冷泡茶")
    assert [(t.price_fen, t.units) for t in project.tiers.all()] == [(7900, 1)]
    names = [e.name for e in events]
    assert names == ["crowdfunding.project.created", "ideas.wanted_product.presale_started"]
    assert events[1].payload["project_public_id"] == project.public_id
    assert events[1].payload["want_count"] == 2
    refused(start(wanted, merchant), "presale_already_started")
    refused(
        lambda: services.add_want(actor=merchant, wanted_product=wanted, price_band="50_100"),
        "own_shop",
    )


def test_no_wants_after_the_presale(wanted, member, fan, merchant, old_user):
    services.add_want(actor=member, wanted_product=wanted, price_band="50_100")
    wanted.refresh_from_db()
    start(wanted, merchant)()
    late = old_user("晚来的")
    refused(
        lambda: services.add_want(actor=late, wanted_product=wanted, price_band="50_100"),
        "presale_already_started",
    )
