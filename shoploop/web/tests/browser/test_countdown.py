"""Countdowns print their days unit in the page's language: base.html renders it translated on
<body data-countdown-days>, countdown.js reads it (it once printed "1d" on Chinese pages)."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shoploop.core import clock
from shoploop.deals.crowdfunding import services as crowdfunding
from shoploop.deals.crowdfunding.tests.conftest import tier_spec
from shoploop.web.tests import worlds

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project_in_three_days(make_user, operator):
    merchant = make_user(display_name="Kettle maker")
    tea = worlds.community(owner=merchant, name="Tea friends")
    worlds.product_on_sale(
        merchant=merchant, operator=operator, community=tea, title="Oolong", price_fen=3900
    )
    return crowdfunding.create_project(
        actor=merchant,
        title="Glowing kettle",
        story="A kettle that glows.",
        target_kind="fen",
        target_value=20000,
        deadline=clock.now() + timedelta(days=3),
        tiers=[tier_spec()],
    )


def test_the_days_unit_comes_from_the_page(page, project_in_three_days):
    page.goto("/crowdfunding/")
    countdown = page.locator("time[data-countdown]").first
    assert page.locator("body").get_attribute("data-countdown-days") == "{days}d"
    expect(countdown).to_have_text(re.compile(r"^2d \d{1,2}:\d\d:\d\d$"))
    # What a Chinese page renders there (the zh-Hans entry for msgctxt "countdown", "{days}d").
    page.evaluate("() => document.body.setAttribute('data-countdown-days', '{days}天')")
    expect(countdown).to_have_text(re.compile(r"^2天 \d{1,2}:\d\d:\d\d$"))
