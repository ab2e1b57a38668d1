"""A crowdfunding fails and its backers see their refunds: two backers, each on their own phone,
back a tier and pay in the sandbox cashier; the deadline passes (``settle_due``); the project page
and "My pledges" say the project failed and show each pledge refunded. The creator adds photos
from the console on a phone and a backer sees them in the project's gallery, even without
JavaScript. Every page fits 390 px; each step leaves a screenshot in test-artifacts/screenshots/."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shoploop.catalog import services as catalog
from shoploop.catalog.tests.conftest import image_bytes
from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.money import format_fen
from shoploop.deals.crowdfunding import services as crowdfunding
from shoploop.deals.crowdfunding.models import Pledge, Project, ProjectImage
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for
from shoploop.web.tests.browser.conftest import assert_no_horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Glow-in-the-dark tent pegs"
TIER = "Early bird"
PRICE_FEN = 9900
PRICE = format_fen(PRICE_FEN)


@pytest.fixture
def project(make_user, operator):
    merchant = make_user(display_name="Ada")
    shop = catalog.apply_for_shop(user=merchant, name="Ada's Camp", contact="WeChat ada")
    catalog.approve_shop(shop=shop, actor=operator)
    return crowdfunding.create_project(
        actor=merchant,
        title=TITLE,
        story="Pegs you can find at night.\nWe make them if 100 of you back us.",
        target_kind="fen",
        target_value=PRICE_FEN * 100,
        deadline=clock.now() + timedelta(days=3),
        tiers=[
            crowdfunding.TierSpec(
                TIER, PRICE_FEN, 1, 50, (clock.now() + timedelta(days=40)).date()
            ),
        ],
    )


def _back_and_pay(page, project, screenshot, name):
    page.goto(f"/crowdfunding/{project.public_id}/")
    expect(page.locator("main h1")).to_have_text(TITLE)
    expect(page.locator("main time[data-countdown]")).to_have_count(1)
    page.get_by_role("link", name="Back this").first.click()
    expect(page.locator("main h1")).to_have_text("Back this project")
    expect(page.get_by_test_id("amount-to-pay")).to_have_text(PRICE)
    expect(page.get_by_test_id("addresses").get_by_role("radio")).to_be_checked()
    screenshot(page, f"crowdfunding-{name}-confirm")
    page.get_by_test_id("confirm-and-pay").click()
    expect(page.locator("main h1")).to_have_text("Sandbox cashier")
    expect(page.get_by_test_id("pay-amount")).to_have_text(PRICE)
    screenshot(page, f"crowdfunding-{name}-cashier")
    page.get_by_role("button", name=f"Pay {PRICE}").click()
    expect(page.get_by_test_id("pay-state")).to_have_text("Paid")
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(re.compile(rf"/crowdfunding/{project.public_id}/$"))
    expect(page.get_by_test_id("my-pledges").get_by_test_id("pledge-state")).to_have_text("Pledged")
    assert_no_horizontal_overflow(page)
    screenshot(page, f"crowdfunding-{name}-pledged")


def test_a_failed_crowdfunding_refunds_both_backers(phone, make_user, project, screenshot):
    backers = [make_user(display_name="Ming"), make_user(display_name="Li")]
    for backer in backers:
        address_id_for(backer)  # the reward ships to their default address
    contexts = [phone(user) for user in backers]
    try:
        pages = [context.new_page() for context in contexts]
        for page, name in zip(pages, ("ming", "li"), strict=True):
            _back_and_pay(page, project, screenshot, name)
        expect(pages[1].get_by_test_id("backers")).to_have_text("2 backers")
        assert Pledge.objects.filter(state=Pledge.State.ACTIVE).count() == 2

        # The deadline passes with 2 of 100 pledges: the scheduler's settle_due runs.
        settled = settle_due(project.deadline + timedelta(seconds=1))
        assert settled["deals_crowdfunding.settle"] == 2
        project.refresh_from_db()
        assert project.state == Project.State.FAILED

        for page, name in zip(pages, ("ming", "li"), strict=True):
            page.reload()
            expect(page.get_by_test_id("outcome")).to_contain_text("did not reach its target")
            mine = page.get_by_test_id("my-pledges")
            expect(mine.get_by_test_id("pledge-state")).to_have_text("Refunded")
            expect(mine.get_by_test_id("refund")).to_have_text(f"refunded {PRICE}")
            expect(page.get_by_role("link", name="Back this")).to_have_count(0)
            assert_no_horizontal_overflow(page)
            screenshot(page, f"crowdfunding-{name}-failed")

            page.goto("/deals/mine/")
            page.get_by_role("link", name="My pledges").click()
            expect(page.locator("main h1")).to_have_text("My pledges")
            row = page.get_by_test_id("pledge")
            expect(row).to_have_count(1)
            expect(row).to_contain_text(TITLE)
            expect(row.get_by_test_id("pledge-state")).to_have_text("Refunded")
            expect(row.get_by_test_id("refund")).to_have_text(f"refunded {PRICE}")
            assert_no_horizontal_overflow(page)
            screenshot(page, f"crowdfunding-{name}-my-pledges")
    finally:
        for context in contexts:
            context.close()

    # The creator's console fits the phone too: the failed project with its counts, and the
    # form for a new one.
    console_context = phone(project.shop.owner)
    try:
        console = console_context.new_page()
        console.goto(f"/console/crowdfunding/{project.public_id}/")
        expect(console.locator("main h1")).to_have_text(TITLE)
        expect(console.get_by_test_id("project-state")).to_have_text("Failed")
        expect(console.get_by_test_id("backers")).to_have_text("2 backers")
        assert_no_horizontal_overflow(console)
        screenshot(console, "crowdfunding-console-project")
        console.goto("/console/crowdfunding/")
        expect(console.get_by_role("button", name="Start the project")).to_have_count(1)
        assert_no_horizontal_overflow(console)
        screenshot(console, "crowdfunding-console-new")
    finally:
        console_context.close()

    for order in Order.objects.all():
        assert order.state == Order.State.CANCELLED
        assert order.refunded_fen == PRICE_FEN
    report = verify_ledger()
    assert report.ok, report.problems


def _file(name, mime, data):
    return {"name": name, "mimeType": mime, "buffer": data}


def test_the_creator_adds_photos_and_backers_see_the_gallery(phone, make_user, project, screenshot):
    creator = phone(project.shop.owner)
    try:
        console = creator.new_page()
        console.goto(f"/console/crowdfunding/{project.public_id}/")
        expect(console.locator("main h1")).to_have_text(TITLE)
        upload = console.get_by_label(re.compile("^Image"))
        for color in ((30, 120, 200), (230, 160, 20)):
            upload.set_input_files(
                _file("peg.jpg", "image/jpeg", image_bytes("JPEG", (2000, 1500), color))
            )
            console.get_by_role("button", name="Upload image").click()
            expect(console.get_by_text("Image added.")).to_be_visible()
        images = console.get_by_test_id("console-images").locator("img")
        expect(images).to_have_count(2)
        # A file that is not an image: a clear message, nothing added.
        upload.set_input_files(_file("peg.jpg", "image/jpeg", b"definitely not a photo"))
        console.get_by_role("button", name="Upload image").click()
        expect(console.get_by_text("Upload a JPEG, PNG or WebP image.")).to_be_visible()
        expect(images).to_have_count(2)
        assert ProjectImage.objects.filter(project=project).count() == 2
        assert_no_horizontal_overflow(console)
        screenshot(console, "crowdfunding-console-images")
    finally:
        creator.close()
    stored = list(ProjectImage.objects.filter(project=project).order_by("position"))
    assert [(image.width, image.height) for image in stored] == [(1200, 900), (1200, 900)]

    # A backer's phone without JavaScript: the gallery is plain HTML and CSS.
    backer = phone(make_user(display_name="Ming"), javascript=False)
    try:
        page = backer.new_page()
        page.goto(f"/crowdfunding/{project.public_id}/")
        gallery = page.get_by_test_id("project-gallery")
        photos = gallery.locator("img")
        expect(photos).to_have_count(2)
        first = photos.first
        expect(first).to_be_visible()
        loaded, shown_width = first.evaluate("img => [img.complete && img.naturalWidth, img.width]")
        assert loaded == 1200  # the resized file, served from /media/
        assert 0 < shown_width <= 390
        assert_no_horizontal_overflow(page)
        screenshot(page, "crowdfunding-gallery-no-js")
    finally:
        backer.close()

    # The creator takes one down; the gallery shows the other.
    creator = phone(project.shop.owner)
    try:
        console = creator.new_page()
        console.goto(f"/console/crowdfunding/{project.public_id}/")
        console.get_by_test_id("console-images").get_by_role("button", name="Remove").first.click()
        expect(console.get_by_text("Image removed.")).to_be_visible()
        expect(console.get_by_test_id("console-images").locator("img")).to_have_count(1)
        console.goto(f"/crowdfunding/{project.public_id}/")
        expect(console.get_by_test_id("project-gallery").locator("img")).to_have_count(1)
    finally:
        creator.close()
    assert list(ProjectImage.objects.filter(project=project)) == stored[1:]
