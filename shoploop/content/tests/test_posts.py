"""Posts, comments, likes, favourites: every rule and every bad input (nothing stored)."""

import io
from datetime import timedelta

import pytest
from PIL import Image

from shoploop.communities import services as communities
from shoploop.content import selectors, services
from shoploop.content.markup import render_markdown
from shoploop.content.models import Comment, Moderated, Post, PostLike, PostPhoto
from shoploop.content.tests.conftest import photo
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from shoploop.core.events import recorded_events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_a_member_posts_markdown_with_photos_and_the_event_names_public_ids(member, community):
    with recorded_events() as events:
        post = services.create_post(
            actor=member,
            community=community,
            body="**好茶** [店](https://example.com)\n\n- 一\n- 二",
            photos=[photo(), photo("JPEG", (300, 200))],
        )
    assert [p.position for p in post.photos.all()] == [0, 1]
    assert max(post.photos.first().width, post.photos.first().height) == 1600
    html = render_markdown(post.body)
    assert "<strong>好茶</strong>" in html and "<li>一</li>" in html
    assert 'href="https://example.com" rel="nofollow noopener noreferrer"' in html
    (event,) = [e for e in events if e.name == "content.post.created"]
    assert event.payload["post_public_id"] == post.public_id
    assert event.payload["community_public_id"] == community.public_id
    assert event.payload["author_public_id"] == member.public_id


def test_photo_exif_is_stripped(member, community):
    from django.core.files.uploadedfile import SimpleUploadedFile

    image = Image.new("RGB", (400, 300), (10, 20, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    upload = SimpleUploadedFile("e.jpg", buffer.getvalue(), "image/jpeg")
    post = services.create_post(actor=member, community=community, body="x", photos=[upload])
    stored = post.photos.get().image
    stored.open("rb")
    assert not dict(Image.open(stored).getexif())


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "hello <b>bold</b>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        "<!-- hidden -->",
    ],
)
def test_html_or_scripts_are_refused_and_nothing_is_stored(member, community, body):
    with pytest.raises(ValidationFailed) as caught:
        services.create_post(actor=member, community=community, body=body)
    assert caught.value.code == "html_not_allowed"
    assert not Post.objects.exists()


def test_plain_angle_brackets_are_text(member, community):
    post = services.create_post(actor=member, community=community, body="I <3 tea, 1<2")
    assert "I &lt;3 tea, 1&lt;2" in render_markdown(post.body)


def test_not_a_member_cannot_post(outsider, community):
    with pytest.raises(PermissionDenied) as caught:
        services.create_post(actor=outsider, community=community, body="hi")
    assert caught.value.code == "not_a_member"
    assert not Post.objects.exists()


def test_banned_and_muted_people_cannot_post(owner, member, old_user, community):
    services.mute_member(actor=owner, community=community, user=member, days=3, reason="spam")
    with pytest.raises(PermissionDenied) as caught:
        services.create_post(actor=member, community=community, body="hi")
    assert caught.value.code == "muted"
    services.unmute_member(actor=owner, community=community, user=member)
    services.create_post(actor=member, community=community, body="hi")
    banned = old_user("坏人")
    communities.join_community(actor=banned, community=community)
    communities.ban_member(actor=owner, community=community, user=banned)
    with pytest.raises(PermissionDenied) as caught:
        services.create_post(actor=banned, community=community, body="hi")
    assert caught.value.code == "banned"
    assert Post.objects.count() == 1


def test_a_mute_ends_by_itself(owner, member, community):
    services.mute_member(actor=owner, community=community, user=member, days=1)
    with clock.frozen_at(clock.now() + timedelta(days=1, minutes=1)):
        services.create_post(actor=member, community=community, body="back")


def test_only_moderators_mute(member, old_user, community):
    other = old_user()
    communities.join_community(actor=other, community=community)
    with pytest.raises(PermissionDenied):
        services.mute_member(actor=member, community=community, user=other, days=1)


def test_oversized_too_many_and_non_image_uploads_store_nothing(member, community):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("x.png", b"<?php echo 1; ?>", "image/png")
    with pytest.raises(ValidationFailed) as caught:
        services.create_post(actor=member, community=community, body="x", photos=[bad])
    assert caught.value.code == "photos_not_image"
    huge = SimpleUploadedFile("h.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024 + 1), "image/png")
    with pytest.raises(ValidationFailed) as caught:
        services.create_post(actor=member, community=community, body="x", photos=[huge])
    assert caught.value.code == "photos_too_large"
    with pytest.raises(ValidationFailed) as caught:
        services.create_post(
            actor=member,
            community=community,
            body="x",
            photos=[photo(size=(50, 50)) for _ in range(10)],
        )
    assert caught.value.code == "too_many_photos"
    assert not Post.objects.exists() and not PostPhoto.objects.exists()


def test_members_only_posts_are_shown_to_members_only(member, outsider, private_community):
    post = services.create_post(actor=member, community=private_community, body="内部")
    assert selectors.get_post(public_id=post.public_id, viewer=member) == post
    with pytest.raises(PermissionDenied):
        selectors.get_post(public_id=post.public_id, viewer=outsider)
    with pytest.raises(PermissionDenied):
        selectors.get_post(public_id=post.public_id, viewer=None)
    assert not selectors.can_read_community(user=outsider, community=private_community)


def test_cards_must_exist_and_be_open(member, community, sku):
    product = sku.product
    post = services.create_post(
        actor=member,
        community=community,
        body="看这个",
        card_kind="product",
        card_id=product.public_id,
    )
    assert (post.card_kind, post.card_title) == ("product", product.title)
    for kind, public_id, code in (
        ("product", "nosuchthing1", "card_not_found"),
        ("group", "nosuchthing1", "card_not_found"),
        ("bargain", "nosuchthing1", "card_not_found"),
        ("project", "nosuchthing1", "card_not_found"),
        ("coupon", "x", "invalid_card"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            services.create_post(
                actor=member, community=community, body="x", card_kind=kind, card_id=public_id
            )
        assert caught.value.code == code
    assert Post.objects.count() == 1


def test_authors_edit_and_delete_only_their_own(member, owner, community):
    post = services.create_post(actor=member, community=community, body="v1")
    with pytest.raises(PermissionDenied):
        services.edit_post(actor=owner, post=post, body="hacked")
    services.edit_post(actor=member, post=post, body="v2")
    post.refresh_from_db()
    assert post.body == "v2" and post.edited_at is not None
    with pytest.raises(PermissionDenied):
        services.delete_post(actor=owner, post=post)
    services.delete_post(actor=member, post=post)
    assert post.state == Moderated.DELETED
    with pytest.raises(NotFound):
        selectors.get_post(public_id=post.public_id, viewer=member)


def test_moderators_pin_hide_and_remove_with_a_reason_the_author_sees(
    owner, member, outsider, community
):
    post = services.create_post(actor=member, community=community, body="x")
    with pytest.raises(PermissionDenied):
        services.moderate_post(actor=member, post=post, action="hide", reason="no")
    services.pin_post(actor=owner, post=post)
    assert post.pinned_at is not None
    with pytest.raises(ValidationFailed):
        services.moderate_post(actor=owner, post=post, action="hide", reason="")
    services.moderate_post(actor=owner, post=post, action="hide", reason="广告")
    assert (post.state, post.moderation_reason, post.pinned_at) == ("hidden", "广告", None)
    # The author still sees it, with the reason; others do not.
    assert selectors.get_post(public_id=post.public_id, viewer=member).moderation_reason == "广告"
    with pytest.raises(NotFound):
        selectors.get_post(public_id=post.public_id, viewer=outsider)
    assert list(selectors.community_posts(community=community, viewer=outsider)) == []
    services.moderate_post(actor=owner, post=post, action="restore")
    assert post.state == "visible"
    services.moderate_post(actor=owner, post=post, action="remove", reason="违规")
    with pytest.raises(Conflict):
        services.moderate_post(actor=owner, post=post, action="restore")


def test_comments_with_one_level_of_replies(member, owner, community):
    post = services.create_post(actor=member, community=community, body="x")
    with recorded_events() as events:
        top = services.add_comment(actor=owner, post=post, body="好")
    reply = services.add_comment(actor=member, post=post, body="谢谢", parent=top)
    deeper = services.add_comment(actor=owner, post=post, body="不客气", parent=reply)
    assert deeper.parent == top  # a reply to a reply joins the thread
    post.refresh_from_db()
    assert post.comment_count == 3
    (event,) = [e for e in events if e.name == "content.comment.created"]
    assert event.payload["comment_public_id"] == top.public_id
    assert event.payload["post_public_id"] == post.public_id
    threads = selectors.post_comments(post=post, viewer=None)
    assert [c.pk for c in threads] == [top.pk]
    assert [r.pk for r in threads[0].shown_replies] == [reply.pk, deeper.pk]


def test_replying_to_a_deleted_comment_is_refused(member, owner, community):
    post = services.create_post(actor=member, community=community, body="x")
    top = services.add_comment(actor=owner, post=post, body="好")
    services.delete_comment(actor=owner, comment=top)
    with pytest.raises(Conflict) as caught:
        services.add_comment(actor=member, post=post, body="回复", parent=top)
    assert caught.value.code == "comment_deleted"
    assert Comment.objects.count() == 1
    post.refresh_from_db()
    assert post.comment_count == 0


def test_comment_moderation_and_bad_comments(member, owner, outsider, community):
    post = services.create_post(actor=member, community=community, body="x")
    comment = services.add_comment(actor=member, post=post, body="一")
    services.moderate_comment(actor=owner, comment=comment, action="remove", reason="吵架")
    assert (comment.state, comment.moderation_reason) == ("removed", "吵架")
    with pytest.raises(PermissionDenied):
        services.add_comment(actor=outsider, post=post, body="hi")
    with pytest.raises(ValidationFailed):
        services.add_comment(actor=member, post=post, body="<script>x</script>")
    with pytest.raises(ValidationFailed):
        services.add_comment(actor=member, post=post, body="   ")
    assert Comment.objects.count() == 1


def test_likes_once(member, owner, community):
    post = services.create_post(actor=member, community=community, body="x")
    with recorded_events() as events:
        services.like_post(actor=owner, post=post)
    assert [e.payload for e in events if e.name == "content.post.liked"] == [
        {
            "post_public_id": post.public_id,
            "community_public_id": community.public_id,
            "liker_public_id": owner.public_id,
            "author_public_id": member.public_id,
        }
    ]
    with pytest.raises(Conflict) as caught:
        services.like_post(actor=owner, post=post)
    assert caught.value.code == "already_liked"
    post.refresh_from_db()
    assert post.like_count == 1 and PostLike.objects.count() == 1
    services.unlike_post(actor=owner, post=post)
    post.refresh_from_db()
    assert post.like_count == 0


def test_favourites_of_posts_and_products(member, owner, community, sku):
    post = services.create_post(actor=member, community=community, body="x")
    services.favourite(actor=owner, post=post)
    services.favourite(actor=owner, product=sku.product)
    with pytest.raises(Conflict):
        services.favourite(actor=owner, post=post)
    with pytest.raises(Conflict):
        services.favourite(actor=owner, product=sku.product)
    assert selectors.favourites_of(user=owner).count() == 2
    with pytest.raises(ValidationFailed):
        services.unfavourite(actor=owner)
    assert selectors.favourites_of(user=owner).count() == 2
    services.unfavourite(actor=owner, product=sku.product)
    assert not selectors.is_favourite_product(user=owner, product=sku.product)


def test_reports_queue_for_moderators_and_operators(member, owner, outsider, operator, community):
    post = services.create_post(actor=member, community=community, body="x")
    report = services.report(actor=outsider, post=post, reason="广告")
    with pytest.raises(Conflict):
        services.report(actor=outsider, post=post, reason="again")
    assert list(selectors.report_queue(viewer=owner, community=community)) == [report]
    assert list(selectors.report_queue(viewer=operator)) == [report]
    with pytest.raises(PermissionDenied):
        selectors.report_queue(viewer=member, community=community)
    with pytest.raises(PermissionDenied):
        services.handle_report(actor=member, report=report, action="hide")
    services.handle_report(actor=owner, report=report, action="hide")
    post.refresh_from_db()
    assert (post.state, post.moderation_reason) == ("hidden", "广告")
    assert report.state == "acted"
    assert list(selectors.report_queue(viewer=operator)) == []


def test_new_accounts_and_bursts_are_rate_limited(make_user, owner, community, settings):
    settings.CONTENT_NEW_ACCOUNT_LIMIT = 1
    newcomer = make_user()
    communities.join_community(actor=newcomer, community=community)
    services.create_post(actor=newcomer, community=community, body="1")
    with pytest.raises(RateLimited):
        services.create_post(actor=newcomer, community=community, body="2")
    settings.CONTENT_BURST_LIMIT = 1
    services.create_post(actor=owner, community=community, body="1")
    with pytest.raises(RateLimited):
        services.create_post(actor=owner, community=community, body="2")
    assert Post.objects.count() == 2
