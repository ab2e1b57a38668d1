"""Pages: sign in with a phone code, profiles, follows and blocks, the token page.

Thin: parse, call a service or selector, render; a DomainError's message is shown on the page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.accounts import selectors, services
from shoploop.accounts.models import ApiToken
from shoploop.accounts.phones import normalize_phone
from shoploop.accounts.returning import requested_next, safe_next, sign_in_then_back
from shoploop.core.client_ip import client_ip
from shoploop.core.errors import DomainError, NotFound

PEOPLE_PER_PAGE = 20
PROFILE_PER_PAGE = 10


def _remember_language(response, locale: str):
    """The language a person chose in their profile follows them into every new session."""
    if locale:
        translation.activate(locale)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            locale,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


def _sign_in_page(request, *, step: str, phone: str = "", error=None, status: int = 200, **extra):
    context = {
        "step": step,
        "phone": phone,
        "error": error,
        "next": requested_next(request),
        "debug_code": (
            selectors.latest_debug_code(phone) if settings.DEBUG and step == "code" else None
        ),
        "terms_version": services.TERMS_VERSION,
        "nav_active": "me",
        **extra,
    }
    return render(request, "accounts/sign_in.html", context, status=status)


def _welcome_page(request, *, phone: str, error=None, status: int = 200):
    """The first-time step of a new number: a display name and consent to the terms. The code
    (still unused) rides along in the form, so the account is made only with consent."""
    return _sign_in_page(
        request,
        step="welcome",
        phone=phone,
        error=error,
        status=status,
        code=request.POST.get("code", ""),
        display_name=request.POST.get("display_name", ""),
    )


def _verify(request, phone: str):
    from_welcome_step = request.POST.get("step") == "welcome"
    try:
        verified = services.verify_code(
            phone=phone,
            code=request.POST.get("code", ""),
            accept_terms=from_welcome_step and request.POST.get("accept_terms") == "on",
            display_name=request.POST.get("display_name", "") if from_welcome_step else "",
        )
    except services.TermsNotAccepted as error:
        # A new number: on to the first-time step; the error shows only if it was skipped there.
        return _welcome_page(
            request,
            phone=phone,
            error=error.message if from_welcome_step else None,
            status=error.status if from_welcome_step else 200,
        )
    except DomainError as error:
        if from_welcome_step and "display_name" in error.fields:
            return _welcome_page(request, phone=phone, error=error.message, status=error.status)
        return _sign_in_page(
            request, step="code", phone=phone, error=error.message, status=error.status
        )
    login(request, verified.user)
    if verified.signed_up:
        messages.success(request, _("Welcome to Shoploop!"))
    return _remember_language(redirect(safe_next(request)), verified.user.locale)


def _send(request, phone: str):
    try:
        otp = services.send_code(phone=phone, ip=client_ip(request))
    except services.ResendTooSoon as error:
        # The code sent a moment ago is still the one to type: keep its box on the page.
        return _sign_in_page(
            request,
            step="code",
            phone=_normalized_or_typed(phone),
            error=error.message,
            status=error.status,
            wait_seconds=error.wait_seconds,
        )
    except DomainError as error:
        return _sign_in_page(
            request, step="phone", phone=phone, error=error.message, status=error.status
        )
    return _sign_in_page(
        request,
        step="code",
        phone=otp.phone,
        wait_seconds=int(services.CODE_RESEND_AFTER.total_seconds()),
    )


def _normalized_or_typed(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except DomainError:
        return phone


def sign_in(request):
    """Step 1: a phone number → a code by SMS. Step 2: the code → signed in. A new number has a
    first-time step in between: a display name and consent to the terms. ``next`` (a page on
    this site) is carried through every step and is where the person lands at the end."""
    if request.method != "POST":
        if request.user.is_authenticated:
            return redirect(safe_next(request))
        return _sign_in_page(request, step="phone")
    phone = request.POST.get("phone", "")
    if request.POST.get("action") == "verify":
        return _verify(request, phone)
    return _send(request, phone)


def admin_sign_in(request):
    """The operator area's sign-in: the same phone and one-time code as everyone (no password).
    A signed-in operator goes on; anyone else signed in is told the area is for operators."""
    target = requested_next(request) or reverse("admin:index")
    if not request.user.is_authenticated:
        return sign_in_then_back(target)
    if request.user.is_active and request.user.is_staff:
        return redirect(target)
    raise Forbidden(_("Only platform operators can open the operator area."))


def terms(request):
    return render(request, "accounts/terms.html", {"terms_version": services.TERMS_VERSION})


def privacy(request):
    return render(request, "accounts/privacy.html", {"terms_version": services.TERMS_VERSION})


@require_POST
def sign_out(request):
    logout(request)
    messages.success(request, _("You are signed out."))
    return redirect(settings.LOGIN_REDIRECT_URL)


@require_POST
@login_required
def sign_out_everywhere(request):
    services.sign_out_everywhere(user=request.user)
    logout(request)
    messages.success(
        request, _("You are signed out on every device, and your API tokens are revoked.")
    )
    return redirect("accounts:sign_in")


def _profile_form_page(request, *, error=None, values=None, status=200):
    user = request.user
    context = {
        "values": values
        or {
            "display_name": user.display_name,
            "bio": user.bio,
            "locale": user.locale,
            "share_activity_with_followers": user.share_activity_with_followers,
        },
        "error": error,
        "languages": settings.LANGUAGES,
        "nav_active": "me",
    }
    return render(request, "accounts/edit_profile.html", context, status=status)


@login_required
def edit_profile(request):
    if request.method != "POST":
        return _profile_form_page(request)
    values = {key: request.POST.get(key, "") for key in ("display_name", "bio", "locale")}
    # An unticked checkbox sends nothing: its absence means "off" (the form always shows it).
    values["share_activity_with_followers"] = "share_activity_with_followers" in request.POST
    try:
        user = services.update_profile(actor=request.user, **values)
    except DomainError as error:
        return _profile_form_page(request, error=error.message, values=values, status=error.status)
    messages.success(request, _("Your profile is saved."))
    return _remember_language(redirect("accounts:profile", public_id=user.public_id), user.locale)


@require_POST
@login_required
def upload_avatar(request):
    try:
        services.set_avatar(actor=request.user, upload=request.FILES.get("avatar"))
    except DomainError as error:
        return _profile_form_page(request, error=error.message, status=error.status)
    messages.success(request, _("Your new picture is saved."))
    return redirect("accounts:edit_profile")


def _active_user(public_id: str):
    try:
        return selectors.active_user_by_public_id(public_id)
    except NotFound:
        raise Http404 from None


def profile(request, public_id):
    person = _active_user(public_id)
    summary = selectors.profile_summary(user=person, viewer=request.user)
    context = {"summary": summary, "person": person, "nav_active": "me" if summary.is_self else ""}
    context.update(_profile_sections(request, person=person, summary=summary))
    return render(request, "accounts/profile.html", context)


def _profile_sections(request, *, person, summary) -> dict:
    """What makes a profile worth visiting: posts, reviews, public communities and followed
    shops, each paged on its own. Across a block (either way) none of it is shown.

    The apps above accounts are imported here, inside the function, so imports stay one-way."""
    from shoploop.catalog.selectors import followed_shop_links
    from shoploop.communities.selectors import public_communities_of
    from shoploop.content.selectors import posts_by, public_reviews_by

    if summary.viewer_blocked or summary.blocks_viewer:
        return {"hidden_by_block": True}
    viewer = request.user
    get = request.GET.get
    return {
        "posts": Paginator(posts_by(author=person, viewer=viewer), PROFILE_PER_PAGE).get_page(
            get("posts")
        ),
        "reviews": Paginator(
            public_reviews_by(author=person, viewer=viewer), PROFILE_PER_PAGE
        ).get_page(get("reviews")),
        "communities": Paginator(public_communities_of(user=person), PEOPLE_PER_PAGE).get_page(
            get("communities")
        ),
        "shops": Paginator(followed_shop_links(user=person), PEOPLE_PER_PAGE).get_page(
            get("shops")
        ),
    }


def _people_page(request, public_id, *, which: str):
    person = _active_user(public_id)
    if which == "followers":
        links, attribute = selectors.follower_links(person), "follower"
    else:
        links, attribute = selectors.following_links(person), "followee"
    page = Paginator(links, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    people = [getattr(link, attribute) for link in page.object_list]
    return render(
        request,
        "accounts/people.html",
        {"person": person, "which": which, "page": page, "people": people},
    )


def followers(request, public_id):
    return _people_page(request, public_id, which="followers")


def following(request, public_id):
    return _people_page(request, public_id, which="following")


def _act_on_person(request, public_id, action, done_message):
    person = _active_user(public_id)
    try:
        action(request.user, person)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done_message)
    return redirect("accounts:profile", public_id=person.public_id)


@require_POST
@login_required
def follow(request, public_id):
    return _act_on_person(
        request,
        public_id,
        lambda me, them: services.follow(follower=me, followee=them),
        _("You now follow this person."),
    )


@require_POST
@login_required
def unfollow(request, public_id):
    return _act_on_person(
        request,
        public_id,
        lambda me, them: services.unfollow(follower=me, followee=them),
        _("You no longer follow this person."),
    )


@require_POST
@login_required
def block(request, public_id):
    return _act_on_person(
        request,
        public_id,
        lambda me, them: services.block(blocker=me, blocked=them),
        _("You blocked this person."),
    )


@require_POST
@login_required
def unblock(request, public_id):
    return _act_on_person(
        request,
        public_id,
        lambda me, them: services.unblock(blocker=me, blocked=them),
        _("You unblocked this person."),
    )


@login_required
def tokens(request):
    issued, error, status = None, None, 200
    if request.method == "POST":
        try:
            issued = services.issue_api_token(user=request.user, name=request.POST.get("name", ""))
        except DomainError as exc:
            error, status = exc.message, exc.status
    return _tokens_page(request, issued=issued, error=error, status=status)


def _tokens_page(request, *, issued=None, error=None, status=200):
    context = {
        "tokens": selectors.api_tokens_of(request.user),
        "issued": issued,
        "error": error,
        "nav_active": "me",
    }
    return render(request, "accounts/tokens.html", context, status=status)


@require_POST
@login_required
def rotate_token(request, token_id):
    token = get_object_or_404(ApiToken, public_id=token_id)
    try:
        issued = services.rotate_api_token(actor=request.user, token=token)
    except DomainError as error:
        if error.status == 403:
            raise Forbidden(error.message) from None
        return _tokens_page(request, error=error.message, status=error.status)
    return _tokens_page(request, issued=issued)


@require_POST
@login_required
def revoke_token(request, token_id):
    token = get_object_or_404(ApiToken, public_id=token_id)
    try:
        services.revoke_api_token(actor=request.user, token=token)
    except DomainError as error:
        if error.status == 403:
            raise Forbidden(error.message) from None
        messages.error(request, error.message)
    else:
        messages.success(request, _("The token is revoked."))
    return redirect("accounts:tokens")
