"""Who sees which insights (pages, CSV, API), and the k-anonymity rule on the page."""

from datetime import timedelta

import pytest

from shoploop.catalog import services as catalog
from shoploop.communities import services as communities
from shoploop.core import clock
from shoploop.insights import services
from shoploop.insights.tests.conftest import WEEK_1, pid

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def merchant(make_user):
    return make_user(display_name="店主阿花")


@pytest.fixture
def shop(merchant, operator):
    shop = catalog.apply_for_shop(user=merchant, name="阿花的小店", contact="微信 shop123")
    return catalog.approve_shop(shop=shop, actor=operator)


@pytest.fixture
def other_shop(make_user, operator):
    owner = make_user(display_name="隔壁老张")
    shop = catalog.apply_for_shop(user=owner, name="老张杂货", contact="微信 zhang")
    return catalog.approve_shop(shop=shop, actor=operator)


@pytest.fixture
def community(user):
    return communities.create_community(actor=user, name="茶友会", tags=["茶"])


@pytest.fixture
def rolled(shop, paid):
    """Six buyers and a lone seventh in another week (the dashboard's current week)."""

    def build(buyers=6):
        with clock.frozen_at(WEEK_1 + timedelta(days=1)):
            for n in range(buyers):
                paid(pid("U"), shop.public_id, WEEK_1 + timedelta(minutes=n), fen=4_321)
            services.roll_up(settle_seconds=0)

    return build


def page(client, user, kind, public_id, suffix=""):
    client.force_login(user)
    with clock.frozen_at(WEEK_1 + timedelta(days=1)):
        return client.get(f"/insights/{kind}/{public_id}/{suffix}")


def test_a_merchant_sees_their_shop_as_charts_tables_and_csv(client, merchant, shop, rolled):
    rolled(6)

    response = page(client, merchant, "shop", shop.public_id)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and "<script" not in body.split("</header>", 1)[1]
    assert "Where your next product should go" in body
    assert "25926" in body  # 6 × 4321 fen in the table
    csv = page(client, merchant, "shop", shop.public_id, "loop.csv")
    assert csv["Content-Type"].startswith("text/csv")
    header, *rows = csv.content.decode().splitlines()
    assert header.startswith("week,people_reach,")
    assert rows[-1].split(",")[header.split(",").index("orders")] == "6"


def test_fewer_than_five_buyers_are_shown_as_less_than_five(client, merchant, shop, rolled):
    rolled(4)

    body = page(client, merchant, "shop", shop.public_id).content.decode()
    csv = page(client, merchant, "shop", shop.public_id, "loop.csv").content.decode()

    assert "17284" not in body and "&lt;5" in body
    header, *rows = csv.splitlines()
    assert rows[-1].split(",")[header.split(",").index("orders")] == ""


def test_another_shops_insights_are_forbidden(client, api, merchant, shop, other_shop):
    response = page(client, merchant, "shop", other_shop.public_id)
    assert response.status_code == 403
    csv = page(client, merchant, "shop", other_shop.public_id, "loop.csv")
    assert csv.status_code == 403
    answer = api.get(f"/insights/shop/{other_shop.public_id}/loop", user=merchant)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


def test_a_community_owner_sees_their_community_and_not_the_platform(
    client, api, user, community, merchant, shop
):
    assert page(client, user, "community", community.public_id).status_code == 200
    assert page(client, user, "platform", "all").status_code == 403
    assert page(client, merchant, "community", community.public_id).status_code == 403
    assert (
        api.get(f"/insights/community/{community.public_id}/cohorts", user=user).status_code == 200
    )


def test_operators_see_everything(client, api, operator, shop, community, rolled):
    rolled(6)
    for kind, public_id in (
        ("shop", shop.public_id),
        ("community", community.public_id),
        ("platform", "all"),
    ):
        assert page(client, operator, kind, public_id).status_code == 200
    with clock.frozen_at(WEEK_1 + timedelta(days=1)):
        answer = api.get("/insights/platform/all/loop", user=operator).json()
    orders = answer["header"].index("orders")
    assert answer["rows"][-1][orders] == 6
    assert answer["min_people"] == 5


def test_the_api_needs_a_sign_in_and_names_unknown_things(api, merchant):
    assert api.get("/insights/shop/nope/loop").status_code == 401
    answer = api.get("/insights/shop/nope/loop", user=merchant)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "shop_not_found")
    answer = api.get("/insights/galaxy/x/loop", user=merchant)
    assert answer.status_code == 404


def test_the_index_lists_what_a_person_may_open(client, merchant, shop):
    client.force_login(merchant)
    body = client.get("/insights/").content.decode()
    assert f"/insights/shop/{shop.public_id}/" in body
    assert "/insights/platform/all/" not in body
