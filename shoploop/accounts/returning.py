"""Bringing a person back where they were after signing in or signing up.

A page that needs a signed-in person sends a visitor to the sign-in page with ``next`` (a path on
this site; anything else is refused, so there is no open redirect). ``next`` is carried through
every step, including a new number's first-time step, and the person lands on it at the end. A
page may also remember, in the visitor's own session, an action they asked for before signing in
and finish it on return (joining by invite). Money actions are never finished that way: the page
offers them again and waits for the person's click.
"""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode


def requested_next(request) -> str:
    """The page to return to after signing in, if it is on this site (never an open redirect)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def safe_next(request) -> str:
    return requested_next(request) or reverse(settings.LOGIN_REDIRECT_URL)


def sign_in_url(next_url: str) -> str:
    """The sign-in page that brings the person back to ``next_url`` (a path on this site)."""
    return f"{reverse('accounts:sign_in')}?{urlencode({'next': next_url})}"


def sign_in_then_back(page: str):
    """Send a signed-out person to sign in (or sign up) and back to ``page`` afterwards; the
    page then offers the action again (money actions always wait for the person's own click)."""
    return redirect(sign_in_url(page))


PENDING_ACTIONS_KEY = "accounts:pending_actions"


def remember_pending_action(request, action: str) -> None:
    """Remember, in the visitor's own session, an action they asked for before signing in (a
    POST they made, so CSRF-protected). The session survives sign-in (Django keeps its data when
    an anonymous session becomes signed in), so the page can finish it on return."""
    pending = request.session.get(PENDING_ACTIONS_KEY, [])
    if action not in pending:
        request.session[PENDING_ACTIONS_KEY] = [*pending, action][-10:]


def take_pending_action(request, action: str) -> bool:
    """True once if ``action`` was remembered for this session and the person is now signed in."""
    pending = request.session.get(PENDING_ACTIONS_KEY, [])
    if not request.user.is_authenticated or action not in pending:
        return False
    request.session[PENDING_ACTIONS_KEY] = [item for item in pending if item != action]
    return True
