"""Fixtures shared by every app's tests."""

import asyncio
import itertools

import pytest
from celery._state import _set_task_join_will_block
from django.db import connection
from django.test import override_settings
from django.utils import translation

from shoploop.accounts.auth import hash_token
from shoploop.accounts.models import ApiToken, User
from shoploop.core import clock

_phone_numbers = itertools.count(13800000000)


@pytest.fixture
def make_user(db):
    """``make_user()`` → a verified user with a fresh +86 mobile number."""

    def make(*, phone: str | None = None, display_name: str = "", verified: bool = True, **extra):
        user = User.objects.create_user(
            phone or f"+86{next(_phone_numbers)}",
            display_name=display_name,
            phone_verified_at=clock.now() if verified else None,
            **extra,
        )
        return user

    return make


@pytest.fixture
def user(make_user):
    return make_user(display_name="买家小王")


@pytest.fixture
def other_user(make_user):
    return make_user(display_name="路人小李")


@pytest.fixture
def operator(make_user):
    return make_user(display_name="运营", is_staff=True, is_superuser=True)


@pytest.fixture
def ship_to(db):
    """``ship_to(user)`` → the public id of the user's default address (made on first use)."""
    from shoploop.orders.testing import address_id_for

    return address_id_for


@pytest.fixture
def make_token(db):
    """``make_token(user)`` → raw bearer token string for the API."""
    counter = itertools.count()

    def make(user: User) -> str:
        raw = f"test-token-{user.public_id}-{next(counter)}"
        ApiToken.objects.create(user=user, name="test", token_hash=hash_token(raw))
        return raw

    return make


@pytest.fixture
def api(client, make_token):
    """An API caller: ``api.get(path, user=u)``; paths are relative to /api/v1."""

    class Caller:
        def _headers(self, user):
            return {"Authorization": f"Bearer {make_token(user)}"} if user else {}

        def get(self, path, *, user=None, **params):
            return client.get(f"/api/v1{path}", params, headers=self._headers(user))

        def _send(self, method, path, user, json, headers):
            return getattr(client, method)(
                f"/api/v1{path}",
                data=json if json is not None else {},
                content_type="application/json",
                headers={**self._headers(user), **(headers or {})},
            )

        def post(self, path, json=None, *, user=None, headers=None):
            return self._send("post", path, user, json, headers)

        def patch(self, path, json=None, *, user=None, headers=None):
            return self._send("patch", path, user, json, headers)

        def put(self, path, json=None, *, user=None, headers=None):
            return self._send("put", path, user, json, headers)

        def delete(self, path, json=None, *, user=None, headers=None):
            return self._send("delete", path, user, json, headers)

    return Caller()


@pytest.fixture
def english(client):
    """Assert in English (the msgids) whatever the default language: services run under English
    and pages are asked for it. Apps whose tests read messages use it autouse."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"


def _event_loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A test outside the browser journeys starts in a thread without a running event loop. One
    left running (Playwright's sync API counts as one while it is started) fails every later
    ``async_to_sync`` in the worker, which made the result depend on which tests a worker ran
    before: say so at once, in the test that inherits it."""
    if "/tests/browser/" not in f"/{item.nodeid}" and _event_loop_running():
        pytest.fail("an event loop is still running in this thread, left by an earlier test")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's ``load`` scheduling, but a module with module-scoped fixtures (the simulated worlds)
    runs on one worker, so its fixtures are built once (shoploop/core/worker_scheduling.py)."""
    if config.getvalue("dist") != "load":
        return None
    from shoploop.core.worker_scheduling import ModuleFixtureScheduling

    return ModuleFixtureScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.postgres`` tests need PostgreSQL's row locks; on SQLite they are skipped."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run with SHOPLOOP_DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_page_view_counting():
    """Page views are counted per process and published now and then (insights.pageviews): a
    test must not see that event appear because some earlier test viewed pages. Tests of the
    counting turn it on (with the ``settings`` fixture). Not through ``settings`` here: a test
    may name a parameter ``settings``, which would shadow that fixture."""
    with override_settings(INSIGHTS_COUNT_VIEWS=False):
        yield


@pytest.fixture(autouse=True)
def _celery_join_flag_as_in_a_fresh_process():
    """Celery's "inside a task" flag is one process-wide global that each eager task sets and
    restores around itself. Two eager tasks overlapping in two threads (a race test's buyers, the
    live server's requests) restore it out of order and leave it set for good, and every later
    ``result.get()`` in the worker process raises "Never call result.get() within a task!". So a
    test failed whenever xdist happened to run it after such a test; each test starts clean."""
    _set_task_join_will_block(False)
    yield
