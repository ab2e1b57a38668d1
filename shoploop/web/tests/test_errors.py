"""Error pages: the layout, the right status, a friendly message and a way home."""

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.test import Client
from django.urls import path

from shoploop.urls import handler400, handler403, handler404, handler500, urlpatterns
from shoploop.web import views

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _boom(request):
    raise RuntimeError("a bug")


def _forbidden(request):
    raise PermissionDenied


def _suspicious(request):
    raise SuspiciousOperation("bad")


# A URLconf for these tests: the real one plus views that fail in each way. Django looks the
# handlers up on the root URLconf module, so they are re-exported here.
__all__ = ["handler400", "handler403", "handler404", "handler500"]
urlpatterns = [
    path("test-boom/", _boom),
    path("test-forbidden/", _forbidden),
    path("test-suspicious/", _suspicious),
    *urlpatterns,
]
THIS_URLCONF = __name__


def _assert_error_page(response, status: int, title: str):
    html = response.content.decode()
    assert response.status_code == status
    assert f'<p class="code">{status}</p>' in html
    assert title in html
    assert 'class="bottomnav"' in html and 'class="topbar"' in html
    assert '<a class="btn" href="/">' in html  # a way home


def test_unknown_url_renders_404_in_the_layout(client):
    _assert_error_page(client.get("/no/such/page/", **ENGLISH), 404, "Page not found")


def test_unknown_url_404_for_a_signed_in_user(client, user):
    client.force_login(user)
    _assert_error_page(client.get("/no/such/page/", **ENGLISH), 404, "Page not found")


@pytest.mark.urls(THIS_URLCONF)
def test_permission_denied_renders_403(client):
    _assert_error_page(client.get("/test-forbidden/", **ENGLISH), 403, "Not allowed")


@pytest.mark.urls(THIS_URLCONF)
def test_suspicious_request_renders_400(client):
    _assert_error_page(client.get("/test-suspicious/", **ENGLISH), 400, "Bad request")


@pytest.mark.urls(THIS_URLCONF)
def test_a_crash_renders_the_500_page():
    client = Client(raise_request_exception=False)
    response = client.get("/test-boom/", **ENGLISH)
    _assert_error_page(response, 500, "Something went wrong")
    # Rendered without the request: no language form that would need a CSRF token.
    assert "csrfmiddlewaretoken" not in response.content.decode()


def test_500_handler_renders_without_a_request_context(rf):
    response = views.server_error(rf.get("/"))
    _assert_error_page(response, 500, "")


def test_500_handler_falls_back_to_plain_html_when_the_layout_fails(rf, monkeypatch):
    def broken_template(*args, **kwargs):
        raise RuntimeError("template engine down")

    monkeypatch.setattr("shoploop.web.views.loader.render_to_string", broken_template)
    response = views.server_error(rf.get("/"))
    assert response.status_code == 500
    assert b'<a href="/">' in response.content


def test_error_handlers_are_the_web_views():
    assert handler400 == "shoploop.web.views.bad_request"
    assert handler403 == "shoploop.web.views.permission_denied"
    assert handler404 == "shoploop.web.views.page_not_found"
    assert handler500 == "shoploop.web.views.server_error"


def test_csrf_failure_page_explains_what_to_do(settings):
    settings.CSRF_FAILURE_VIEW = "shoploop.web.views.csrf_failure"
    client = Client(enforce_csrf_checks=True)
    response = client.post("/i18n/setlang/", {"language": "en"}, **ENGLISH)
    _assert_error_page(response, 403, "Please try again")
    assert "Reload the page" in response.content.decode()
