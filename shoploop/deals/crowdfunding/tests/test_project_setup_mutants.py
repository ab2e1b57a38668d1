"""Tests written for mutation testing of ``shoploop/deals/crowdfunding/services.py``
(``scripts/mutate.py crowdfunding``, docs/mutation.md): the project's set-up at the service, its
refusals by code, message and field (who may create, the target, the deadline's two edges, each
tier's title, price, units, limit and delivery, the number of tiers), what a project, its tiers
and an update write and the events they publish, pause and resume (the moment kept, repeats,
closed projects), the images (sizes, positions, the ninth and tenth, closed or gone projects,
removal and its file) and the deal order's title."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile

from shoploop.catalog import services as catalog_services
from shoploop.catalog.tests.conftest import image_bytes
from shoploop.core import clock
from shoploop.core.money import MAX_PRICE_FEN
from shoploop.core.testing import outbox_payloads, refusal, said
from shoploop.deals.crowdfunding import services
from shoploop.deals.crowdfunding.models import (
    MAX_PROJECT_IMAGES,
    Project,
    ProjectImage,
    RewardTier,
    Update,
)
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
SIGN_IN = ("not_authenticated", "Please sign in first.")
NOT_YOURS = ("not_your_project", "This is another shop's project.")
NO_SHOP = ("no_shop", "Only an approved shop can start a crowdfunding project.")
ALREADY_CLOSED = ("project_closed", "This project is already closed.")
WHOLE = "This must be a whole number."
REQUIRED = "This field is required."


@pytest.fixture
def frozen():
    """The clock stands at NOW for the whole test (the deadline's edges are exact)."""
    with clock.frozen_at(NOW):
        yield NOW


def _refused(call) -> tuple[str, str, dict]:
    """(code, message, fields) of the refusal ``call()`` raises."""
    error = refusal(call)
    return error.code, str(error.message), error.fields


def _tier(**change) -> services.TierSpec:
    spec = services.TierSpec(
        title="早鸟档", price_fen=9900, estimated_delivery=(NOW + timedelta(days=40)).date()
    )
    return replace(spec, **change)


def _create(actor, **change) -> Project:
    args = {
        "actor": actor,
        "title": "会发光的手冲壶",
        "story": "我们想做一把会发光的壶。",
        "target_kind": "fen",
        "target_value": 20000,
        "deadline": NOW + timedelta(days=7),
        "tiers": [_tier()],
    }
    args.update(change)
    return services.create_project(**args)


def _upload(size=(1600, 900)) -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.png", image_bytes("PNG", size), content_type="image/png")


def _fresh(row):
    return type(row).objects.get(pk=row.pk)


# --- who may create and manage ------------------------------------------------------------------


def test_only_a_signed_in_owner_of_an_approved_shop_creates(frozen, shop, make_user):
    for nobody in (None, AnonymousUser(), object()):
        assert said(lambda nobody=nobody: services.creator_shop(actor=nobody)) == SIGN_IN
    assert said(lambda: services.creator_shop(actor=make_user())) == NO_SHOP
    applicant = make_user()
    catalog_services.apply_for_shop(user=applicant, name="待审小店", contact="微信 x")
    assert said(lambda: services.creator_shop(actor=applicant)) == NO_SHOP
    assert said(lambda: _create(applicant)) == NO_SHOP
    assert services.creator_shop(actor=shop.owner) == shop
    assert not Project.objects.exists()


def test_only_the_creator_manages_the_project(frozen, make_project, other_merchant):
    project = make_project()
    image = services.add_project_image(project=project, actor=project.shop.owner, upload=_upload())
    calls = {
        "update": lambda actor: services.post_update(project=project, actor=actor, body="假消息"),
        "pause": lambda actor: services.pause_project(project=project, actor=actor),
        "resume": lambda actor: services.resume_project(project=project, actor=actor),
        "add": lambda actor: services.add_project_image(
            project=project, actor=actor, upload=_upload()
        ),
        "remove": lambda actor: services.remove_project_image(image=image, actor=actor),
    }
    for name, call in calls.items():
        assert said(lambda call=call: call(other_merchant)) == NOT_YOURS, name
        assert said(lambda call=call: call(None)) == SIGN_IN, name
    assert not Update.objects.exists()
    assert list(ProjectImage.objects.values_list("pk", flat=True)) == [image.pk]
    assert _fresh(project).paused_at is None


# --- the target ---------------------------------------------------------------------------------

TOO_LARGE_AMOUNT = ("The amount is too large.", "too_large")


@pytest.mark.parametrize(
    ("kind", "value", "message", "code"),
    [
        ("likes", 100, "The target is an amount or a number of units.", "invalid"),
        ("fen", True, WHOLE, "not_integer"),
        ("fen", "20000", WHOLE, "not_integer"),
        ("units", 20.0, WHOLE, "not_integer"),
        ("fen", 0, "The target must be greater than zero.", "not_positive"),
        ("units", 0, "The target must be greater than zero.", "not_positive"),
        ("fen", -1, "The target must be greater than zero.", "not_positive"),
        ("fen", MAX_PRICE_FEN + 1, *TOO_LARGE_AMOUNT),
        ("units", services.MAX_TARGET_UNITS + 1, "The target is too large.", "too_large"),
    ],
)
def test_a_bad_target_is_refused_by_its_field(frozen, shop, kind, value, message, code):
    field = "target_kind" if kind == "likes" else "target_value"
    assert _refused(lambda: _create(shop.owner, target_kind=kind, target_value=value)) == (
        "invalid",
        message,
        {field: code},
    )
    assert not Project.objects.exists()


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("fen", 1),
        ("units", 1),
        ("units", services.MAX_TARGET_UNITS),
        ("fen", services.MAX_TARGET_UNITS + 1),  # the units' ceiling is not the amount's
        ("fen", MAX_PRICE_FEN),
    ],
)
def test_targets_at_their_edges_are_kept(frozen, shop, kind, value):
    project = _fresh(_create(shop.owner, target_kind=kind, target_value=value))
    assert (project.target_kind, project.target_value) == (kind, value)


# --- the deadline -------------------------------------------------------------------------------

PAST = ("The deadline must be in the future.", {"deadline": "in_the_past"})
FAR = ("A project runs for at most 90 days.", {"deadline": "too_far"})
NOT_A_MOMENT = ("Give the deadline as a date and time.", {"deadline": "invalid"})


@pytest.mark.parametrize(
    ("deadline", "why"),
    [
        (NOW - timedelta(hours=1), PAST),
        (NOW, PAST),
        (NOW + services.MIN_DURATION, PAST),
        (NOW + services.MAX_DURATION + timedelta(microseconds=1), FAR),
        (NOW.replace(tzinfo=None) + timedelta(days=7), NOT_A_MOMENT),
        ((NOW + timedelta(days=7)).date(), NOT_A_MOMENT),
        ((NOW + timedelta(days=7)).isoformat(), NOT_A_MOMENT),
        (None, NOT_A_MOMENT),
    ],
)
def test_a_bad_deadline_is_refused(frozen, shop, deadline, why):
    assert _refused(lambda: _create(shop.owner, deadline=deadline)) == ("invalid", *why)
    assert not Project.objects.exists()


@pytest.mark.parametrize(
    "deadline",
    [NOW + services.MIN_DURATION + timedelta(microseconds=1), NOW + services.MAX_DURATION],
)
def test_deadlines_at_their_edges_are_kept(frozen, shop, deadline):
    tier = _tier(estimated_delivery=deadline.date())
    project = _fresh(_create(shop.owner, deadline=deadline, tiers=[tier]))
    assert project.deadline == deadline


# --- the tiers ----------------------------------------------------------------------------------

DELIVERY = "The estimated delivery must be a date after the deadline."
UNITS = "A tier gives between 1 and 1000 units."
LIMIT = "A tier's limit must be at least 1 (or empty for no limit)."
PRICE = "A tier's price must be greater than zero."


@pytest.mark.parametrize(
    ("change", "field", "message", "code"),
    [
        ({"title": "  "}, "title", REQUIRED, "required"),
        ({"title": None}, "title", REQUIRED, "required"),
        (
            {"title": "档" * 121},
            "title",
            "This text is too long (at most 120 characters).",
            "too_long",
        ),
        ({"price_fen": True}, "price_fen", WHOLE, "not_integer"),
        ({"price_fen": "9900"}, "price_fen", WHOLE, "not_integer"),
        ({"price_fen": 0}, "price_fen", PRICE, "zero"),
        ({"price_fen": -1}, "price_fen", PRICE, "zero"),
        ({"price_fen": MAX_PRICE_FEN + 1}, "price_fen", *TOO_LARGE_AMOUNT),
        ({"units": 0}, "units", UNITS, "invalid"),
        ({"units": 1001}, "units", UNITS, "invalid"),
        ({"units": 1.0}, "units", WHOLE, "not_integer"),
        ({"limit": 0}, "limit", LIMIT, "invalid"),
        ({"limit": 1_000_001}, "limit", LIMIT, "invalid"),
        ({"limit": True}, "limit", WHOLE, "not_integer"),
        ({"limit": "5"}, "limit", WHOLE, "not_integer"),
        ({"estimated_delivery": None}, "estimated_delivery", DELIVERY, "invalid"),
        ({"estimated_delivery": "2026-12-01"}, "estimated_delivery", DELIVERY, "invalid"),
        ({"estimated_delivery": date(2026, 6, 7)}, "estimated_delivery", DELIVERY, "invalid"),
    ],
)
def test_a_bad_tier_is_refused_by_its_own_field(frozen, shop, change, field, message, code):
    # The deadline is 8 June: a delivery on 7 June is before it. The bad tier is the second.
    deadline = NOW + timedelta(days=7)
    tiers = [_tier(), _tier(**change)]
    assert _refused(lambda: _create(shop.owner, deadline=deadline, tiers=tiers)) == (
        "invalid",
        message,
        {f"tiers.1.{field}": code},
    )
    assert not Project.objects.exists()
    assert not RewardTier.objects.exists()


def test_tiers_at_their_edges_are_kept_in_order(frozen, shop):
    deadline = NOW + timedelta(days=7)
    on_the_day = deadline.date()
    tiers = [
        _tier(title=" " + "档" * 120 + " ", price_fen=1, units=1000, limit=1_000_000),
        _tier(title=" 双壶档 ", price_fen=MAX_PRICE_FEN, units=1, limit=1),
        _tier(title="无限档", units=2, estimated_delivery=on_the_day),
    ]
    project = _create(shop.owner, deadline=deadline, tiers=tiers)
    rows = RewardTier.objects.filter(project=project).order_by("position")
    assert [
        (t.position, t.title, t.price_fen, t.units, t.limit, t.claimed, t.estimated_delivery)
        for t in rows
    ] == [
        (0, "档" * 120, 1, 1000, 1_000_000, 0, tiers[0].estimated_delivery),
        (1, "双壶档", MAX_PRICE_FEN, 1, 1, 0, tiers[1].estimated_delivery),
        (2, "无限档", 9900, 2, None, 0, on_the_day),
    ]


def test_tiers_are_counted(frozen, shop):
    assert _refused(lambda: _create(shop.owner, tiers=[])) == (
        "invalid",
        "Add at least one reward tier.",
        {"tiers": "required"},
    )
    eleven = [_tier(title=f"档{i}") for i in range(services.MAX_TIERS + 1)]
    assert _refused(lambda: _create(shop.owner, tiers=eleven)) == (
        "invalid",
        "At most 10 reward tiers.",
        {"tiers": "too_many"},
    )
    assert not Project.objects.exists()
    project = _create(shop.owner, tiers=eleven[:10])
    rows = RewardTier.objects.filter(project=project).order_by("position")
    assert [(t.position, t.title) for t in rows] == [(i, f"档{i}") for i in range(10)]


# --- the project --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "fields", "message"),
    [
        ({"title": "  "}, {"title": "required"}, REQUIRED),
        (
            {"title": "壶" * 121},
            {"title": "too_long"},
            "This text is too long (at most 120 characters).",
        ),
        ({"story": ""}, {"story": "required"}, REQUIRED),
        (
            {"story": "事" * 10001},
            {"story": "too_long"},
            "This text is too long (at most 10000 characters).",
        ),
    ],
)
def test_a_bad_title_or_story_is_refused(frozen, shop, change, fields, message):
    assert _refused(lambda: _create(shop.owner, **change)) == ("invalid", message, fields)
    assert not Project.objects.exists()


def test_a_project_writes_what_was_given_and_says_so(frozen, shop):
    deadline = NOW + timedelta(days=7)
    project = _create(
        shop.owner,
        title=" " + "壶" * 120 + " ",
        story=" " + "事" * 10000 + "\n",
        target_kind="units",
        target_value=300,
        deadline=deadline,
    )
    row = _fresh(project)
    assert (row.shop_id, row.title, row.story) == (shop.pk, "壶" * 120, "事" * 10000)
    assert (row.target_kind, row.target_value, row.deadline) == ("units", 300, deadline)
    assert (row.state, row.created_at, row.paused_at, row.decided_at) == ("live", NOW, None, None)
    assert (row.pledged_fen, row.pledged_units, row.backers) == (0, 0, 0)
    assert outbox_payloads("crowdfunding.project.created") == [
        {"project_public_id": row.public_id, "shop_public_id": shop.public_id}
    ]


# --- updates ------------------------------------------------------------------------------------


def test_an_update_writes_its_text_and_says_so(frozen, make_project):
    project, other = make_project(), make_project()
    update = services.post_update(project=project, actor=project.shop.owner, body=" 打样完成 ")
    row = _fresh(update)
    assert (row.project_id, row.body) == (project.pk, "打样完成")
    assert outbox_payloads("crowdfunding.project.update_posted") == [
        {"project_public_id": project.public_id, "update_public_id": row.public_id}
    ]
    longest = services.post_update(project=other, actor=other.shop.owner, body="字" * 5000)
    assert _fresh(longest).body == "字" * 5000


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("  ", "required", REQUIRED),
        (None, "required", REQUIRED),
        ("字" * 5001, "too_long", "This text is too long (at most 5000 characters)."),
    ],
)
def test_a_bad_update_is_refused(frozen, project, body, code, message):
    owner = project.shop.owner
    assert _refused(lambda: services.post_update(project=project, actor=owner, body=body)) == (
        "invalid",
        message,
        {"body": code},
    )
    assert not Update.objects.exists()
    assert outbox_payloads("crowdfunding.project.update_posted") == []


# --- pause and resume ---------------------------------------------------------------------------


def test_pause_and_resume_keep_their_moment_and_say_so_once(frozen, make_project):
    project, other = make_project(), make_project()
    owner = project.shop.owner
    paused_at = NOW + timedelta(hours=1)
    with clock.frozen_at(paused_at):
        returned = services.pause_project(project=project, actor=owner)
    assert returned.paused_at == paused_at and returned.is_paused
    with clock.frozen_at(paused_at + timedelta(hours=1)):
        again = services.pause_project(project=project, actor=owner)  # changes nothing
    assert again.paused_at == paused_at
    assert (_fresh(project).paused_at, _fresh(other).paused_at) == (paused_at, None)
    paused = [{"project_public_id": project.public_id}]
    assert outbox_payloads("crowdfunding.project.paused") == paused
    assert outbox_payloads("crowdfunding.project.resumed") == []

    returned = services.resume_project(project=project, actor=owner)
    assert returned.paused_at is None and not returned.is_paused
    assert services.resume_project(project=project, actor=owner).paused_at is None
    assert _fresh(project).paused_at is None
    assert outbox_payloads("crowdfunding.project.resumed") == paused
    assert outbox_payloads("crowdfunding.project.paused") == paused


def test_a_closed_project_is_neither_paused_nor_resumed(frozen, make_project):
    cancelled, due, paused_due = make_project(), make_project(), make_project()
    owner = cancelled.shop.owner
    services.cancel_project(project=cancelled, actor=owner)
    services.pause_project(project=paused_due, actor=owner)
    assert said(lambda: services.pause_project(project=cancelled, actor=owner)) == ALREADY_CLOSED
    with clock.frozen_at(due.deadline):  # the deadline itself is closed
        assert said(lambda: services.pause_project(project=due, actor=owner)) == ALREADY_CLOSED
        assert (
            said(lambda: services.resume_project(project=paused_due, actor=owner)) == ALREADY_CLOSED
        )
    assert (_fresh(due).paused_at, _fresh(paused_due).paused_at) == (None, NOW)
    assert _fresh(cancelled).paused_at is None
    assert len(outbox_payloads("crowdfunding.project.paused")) == 1
    assert outbox_payloads("crowdfunding.project.resumed") == []


# --- images -------------------------------------------------------------------------------------


def _stored_image(project, position: int) -> ProjectImage:
    """An image row as if uploaded before (its file is not needed to count or place it)."""
    return ProjectImage.objects.create(
        project=project, image=f"crowdfunding/old-{position}.png", position=position
    )


def test_images_are_shrunk_to_fit_both_sides_and_placed_last(frozen, project):
    owner = project.shop.owner
    wide = services.add_project_image(project=project, actor=owner, upload=_upload((2400, 1600)))
    tall = services.add_project_image(project=project, actor=owner, upload=_upload((1600, 2400)))
    side = services.IMAGE_MAX_SIDE
    assert side == 1200
    rows = [_fresh(wide), _fresh(tall)]
    assert [(r.project_id, r.width, r.height, r.position) for r in rows] == [
        (project.pk, 1200, 800, 0),
        (project.pk, 800, 1200, 1),
    ]
    assert all(r.image.name.startswith("crowdfunding/") for r in rows)
    assert all(Path(r.image.path).exists() for r in rows)
    ProjectImage.objects.filter(pk=tall.pk).update(position=6)
    after_a_gap = services.add_project_image(project=project, actor=owner, upload=_upload())
    assert _fresh(after_a_gap).position == 7


def test_the_ninth_image_is_taken_and_the_tenth_refused(frozen, project):
    owner = project.shop.owner
    for position in range(MAX_PROJECT_IMAGES - 1):
        _stored_image(project, position)
    ninth = services.add_project_image(project=project, actor=owner, upload=_upload((40, 30)))
    assert (_fresh(ninth).position, _fresh(ninth).width) == (MAX_PROJECT_IMAGES - 1, 40)
    assert _refused(
        lambda: services.add_project_image(project=project, actor=owner, upload=_upload())
    ) == ("too_many_images", "A project can have at most 9 images.", {"image": "too_many"})
    assert ProjectImage.objects.filter(project=project).count() == MAX_PROJECT_IMAGES


def test_a_closed_or_vanished_project_takes_no_image(frozen, make_project):
    closed, gone = make_project(), make_project()
    owner = closed.shop.owner
    services.cancel_project(project=closed, actor=owner)
    Project.objects.filter(pk=gone.pk).delete()
    message = "This project is closed: its images can no longer be added."
    for project in (closed, gone):

        def add(project=project):
            return services.add_project_image(project=project, actor=owner, upload=_upload())

        assert said(add) == ("project_closed", message)
    assert not ProjectImage.objects.exists()


def test_removing_an_image_deletes_its_row_and_then_its_file(frozen, project, committed):
    owner = project.shop.owner
    kept, removed = (
        services.add_project_image(project=project, actor=owner, upload=_upload((20, 20)))
        for _ in range(2)
    )
    kept_path, removed_path = Path(kept.image.path), Path(removed.image.path)
    with committed():
        services.remove_project_image(image=removed, actor=owner)
    assert list(ProjectImage.objects.values_list("pk", flat=True)) == [kept.pk]
    assert (kept_path.exists(), removed_path.exists()) == (True, False)
    assert said(lambda: services.remove_project_image(image=removed, actor=owner)) == (
        "image_not_found",
        "This image no longer exists.",
    )
    assert kept_path.exists()


# --- the deal order's title ---------------------------------------------------------------------


def test_a_pledge_order_is_titled_project_then_tier_within_200_characters(frozen, shop, buyer):
    project = _create(shop.owner, title="壶" * 120, tiers=[_tier(title="档" * 120)])
    pledge = services.back(tier=project.tiers.get(), user=buyer, address_id=address_id_for(buyer))
    line = Order.objects.get(pk=pledge.order_id).lines.get()
    assert line.title == ("壶" * 120 + " · " + "档" * 120)[:200]
    assert len(line.title) == 200
