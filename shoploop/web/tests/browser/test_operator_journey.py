"""An operator made by ``createoperator`` signs in to the operator area on a 390 px phone with
their number and a one-time code (no password), lands in the admin and opens the group-buying
pages; a buyer signing in the same way is kept out."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from shoploop.accounts.selectors import latest_debug_code
from shoploop.web.tests.browser.conftest import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OPERATOR_PHONE = "+8613312345678"


def _sign_in_with_a_code(page, phone: str) -> None:
    expect(page.locator("main h1")).to_have_text("Sign in or sign up")
    page.get_by_label("Mobile number (+86)").fill(phone.removeprefix("+86"))
    page.get_by_role("button", name="Send code").click()
    page.get_by_label("Code").fill(latest_debug_code(phone))
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_an_operator_signs_in_to_the_operator_area_with_a_one_time_code(page, screenshot):
    call_command("createoperator", OPERATOR_PHONE, "--name", "Zhang")
    page.goto("/admin/")
    # Signed out: the phone sign-in, which comes back to the admin.
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/\?next=%2Fadmin%2F$"))
    assert_accessible(page)
    _sign_in_with_a_code(page, OPERATOR_PHONE)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#site-name")).to_contain_text("Shoploop operator area")
    screenshot(page, "operator-1-admin")
    page.locator('a[href="/admin/deals_groups/group/"]').first.click()
    expect(page).to_have_url(re.compile(r"/admin/deals_groups/group/$"))
    screenshot(page, "operator-2-groups")


def test_a_buyer_signing_in_the_same_way_is_kept_out(page, make_user):
    buyer = make_user(display_name="Ming")
    page.goto("/admin/")
    _sign_in_with_a_code(page, buyer.phone)
    expect(page.locator("main h1")).to_have_text("Not allowed")
    expect(page.locator("#site-name")).to_have_count(0)
