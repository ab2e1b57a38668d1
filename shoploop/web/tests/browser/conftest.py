"""Playwright in Debian's Chromium against pytest-django's live server, on a 390 px phone screen."""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from shoploop.web.tests.live_server_gate import install_gate

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
# with a running loop unless told that this is deliberate (the test thread's own DB access).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
PHONE_VIEWPORT = {"width": 390, "height": 844}
ROOT = Path(__file__).resolve().parents[4]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# axe-core from npm (package.json; `make install-test` runs `npm ci`).
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa"]


@pytest.fixture(scope="module")
def browser():
    # Per module, not per session: while Playwright's sync API is started, its event loop counts
    # as running in this thread, and every later test in the same worker that calls
    # ``async_to_sync`` (the chat and notification consumers' tests) fails with "You cannot use
    # AsyncToSync in the same thread as an async event loop".
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def plain_static_files(settings):
    """The live server serves static files from the apps' folders (finders), so pages must link
    them unhashed: the browser then sees today's CSS, not the last collectstatic's."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _live_server_quiet_between_tests(request):
    """Requests still running when a test ends are waited for, and later ones turned away,
    before pytest-django empties the database (see live_server_gate). Autouse, so it is set up
    before, and torn down after, the fixtures that close the test's browser contexts."""
    if "live_server" not in request.fixturenames:
        yield
        return
    gate = install_gate(request.getfixturevalue("live_server"))
    gate.open()
    yield
    gate.close_and_drain()


@pytest.fixture(autouse=True)
def _no_browser_context_outlives_its_test(request):
    """A test that leaves a browser context open fails, naming the fix, instead of leaving its
    pages to call the server during the next test. Set up after the gate, so torn down before
    it: the contexts are closed, then the gate waits for their last requests."""
    yield
    if "browser" not in request.fixturenames:
        return
    left_open = request.getfixturevalue("browser").contexts
    for context in left_open:
        context.close()
    assert not left_open, (
        f"{len(left_open)} browser context(s) left open: open them with the `phone` fixture, "
        "which closes them"
    )


def session_cookies(user, url: str) -> list[dict]:
    """Sign ``user`` in without the SMS flow (that has its own journey): a real session cookie
    from Django's test client, for ``context.add_cookies``."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    return [{"name": cookie.key, "value": cookie.value, "url": url}]


@pytest.fixture
def phone(browser, live_server, plain_static_files):
    """``phone(user)`` → a new 390 px English browser context (own cookies) signed in as
    ``user``; ``phone()`` → one signed out. Its relative URLs go to the live server unless
    ``base_url`` says otherwise. Every context it opened is closed when the test ends, so no
    page of this test is left polling the server while the next one runs."""
    contexts = []

    def open_context(user=None, *, base_url=None, javascript=True, language=None):
        base_url = base_url or live_server.url
        context = browser.new_context(
            viewport=PHONE_VIEWPORT,
            base_url=base_url,
            locale="en-US",
            device_scale_factor=1,
            java_script_enabled=javascript,
        )
        contexts.append(context)
        context.set_default_timeout(15_000)
        if user is not None:
            context.add_cookies(session_cookies(user, base_url))
        if language is not None:
            context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(phone):
    """A tab of a fresh signed-out phone (see ``phone``) whose relative URLs hit the live server."""
    return phone().new_page()


@pytest.fixture
def screenshot():
    """``screenshot(page, "name")`` saves test-artifacts/screenshots/name.png (full page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def wait_for_htmx(page) -> None:
    """htmx puts swapped-in elements on the page first (marked ``htmx-added``) and wires their
    ``hx-*`` listeners only when it settles: a change made in between is lost. Wait until no
    request is in flight and nothing is left to settle."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, "
        ".htmx-added')"
    )


def choose_region(page, *, province: str, city: str, district: str) -> None:
    """The address form's three selects, each list loaded by htmx from the one before."""
    page.get_by_label("Province").select_option(label=province)
    expect(page.get_by_label("City").locator("option", has_text=city)).to_have_count(1)
    wait_for_htmx(page)
    page.get_by_label("City").select_option(label=city)
    expect(page.get_by_label("District").locator("option", has_text=district)).to_have_count(1)
    wait_for_htmx(page)
    page.get_by_label("District").select_option(label=district)


def assert_no_horizontal_overflow(page) -> None:
    """Nothing on the page is wider than the phone: no sideways scrolling at 390 px."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    scroll_width, body_width, viewport = widths
    assert viewport == PHONE_VIEWPORT["width"]
    assert scroll_width <= viewport, f"{page.url} is {scroll_width}px wide"
    assert body_width <= viewport, f"{page.url} body is {body_width}px wide"


def axe_violations(page) -> list[dict]:
    """Runs axe-core in ``page`` against WCAG 2 A and AA; returns its violations (rule id, help
    and the offending elements' selectors and HTML), an empty list for an accessible page."""
    if not AXE_SCRIPT.exists():
        raise RuntimeError(f"{AXE_SCRIPT} is missing: run `make install-test` (npm ci)")
    # Evaluated through the DevTools protocol, not added as a <script>: the pages' CSP forbids
    # inline and foreign scripts, and that policy stays on while axe looks at them.
    page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html,
                                            summary: n.failureSummary})),
            }));
        }""",
        AXE_TAGS,
    )


def assert_accessible(page) -> None:
    """No WCAG 2 A/AA violation on the page as it is now; the message lists each one."""
    violations = axe_violations(page)
    lines = [
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {n['target']}: {n['html'][:160]}" for n in v["nodes"])
        for v in violations
    ]
    assert not violations, f"{page.url}:\n" + "\n".join(lines)
