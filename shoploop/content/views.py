"""Content pages. Thin: parse, call a service or selector, render; DomainErrors are shown (a
form sent with bad input comes back with the message and a 4xx status, nothing stored)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shoploop.communities.selectors import get_community
from shoploop.content import selectors, services
from shoploop.content.models import MAX_PHOTOS, Post
from shoploop.core.errors import DomainError, NotFound
from shoploop.web.confirm import confirmation_page, is_confirmed

POSTS_PER_PAGE = 20
REVIEWS_PER_PAGE = 20


def _or_404(lookup):
    try:
        return lookup()
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _perform(request, action, success_message) -> bool:
    try:
        action()
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return False
    if success_message:
        messages.success(request, success_message)
    return True


def _post(request, post_id) -> Post:
    return _or_404(lambda: selectors.get_post(public_id=post_id, viewer=request.user))


def _product(product_id):
    from shoploop.catalog.selectors import product_for_viewer

    return _or_404(lambda: product_for_viewer(public_id=product_id, viewer=None))


# ---------------------------------------------------------------------------------------------
# A community's discussion


def community_posts(request, public_id):
    community = _or_404(lambda: get_community(public_id=public_id))
    if not selectors.can_read_community(user=request.user, community=community):
        return render(
            request,
            "content/members_only.html",
            {"community": community, "nav_active": "communities"},
            status=403,
        )
    status, error = 200, None
    if request.method == "POST":
        try:
            post = services.create_post(
                actor=request.user,
                community=community,
                body=request.POST.get("body", ""),
                photos=request.FILES.getlist("photos"),
                card_kind=request.POST.get("card_kind", ""),
                card_id=request.POST.get("card_id", "").strip(),
            )
        except DomainError as exc:
            status, error = exc.status, exc.message
        else:
            messages.success(request, _("Posted."))
            return redirect(reverse("content:post", args=[post.public_id]))
    posts = selectors.pinned_first(
        selectors.community_posts(community=community, viewer=request.user)
    )
    page = Paginator(posts, POSTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "content/community_posts.html",
        {
            "community": community,
            "page": page,
            "liked": selectors.liked_post_ids(user=request.user, posts=page.object_list),
            "may_post": request.user.is_authenticated
            and selectors.may_post(user=request.user, community=community),
            "error": error,
            "form_data": request.POST if error else {},
            "card_kinds": Post.CardKind.choices,
            "max_photos": MAX_PHOTOS,
            "nav_active": "communities",
        },
        status=status,
    )


def post_detail(request, post_id):
    post = _post(request, post_id)
    return _render_post(request, post)


def _render_post(request, post, *, status=200, error=None):
    return render(
        request,
        "content/post_detail.html",
        {
            "post": post,
            "comments": selectors.post_comments(post=post, viewer=request.user),
            "liked": post.pk in selectors.liked_post_ids(user=request.user, posts=[post]),
            "favourite": post.pk in selectors.favourite_post_ids(user=request.user, posts=[post]),
            "is_author": request.user.is_authenticated and request.user.pk == post.author_id,
            "may_moderate": selectors.may_moderate(user=request.user, community=post.community),
            "may_comment": request.user.is_authenticated
            and post.is_visible
            and selectors.may_post(user=request.user, community=post.community),
            "error": error,
            "nav_active": "communities",
        },
        status=status,
    )


@login_required
def post_edit(request, post_id):
    post = _post(request, post_id)
    if post.author_id != request.user.pk:
        raise Http404()
    error, status = None, 200
    if request.method == "POST":
        try:
            services.edit_post(actor=request.user, post=post, body=request.POST.get("body", ""))
        except DomainError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("Saved."))
            return redirect(reverse("content:post", args=[post.public_id]))
    return render(
        request,
        "content/post_edit.html",
        {"post": post, "error": error, "body": request.POST.get("body", post.body)},
        status=status,
    )


_POST_ACTIONS = {
    "like": (services.like_post, gettext_lazy("Liked.")),
    "unlike": (services.unlike_post, ""),
    "favourite": (
        lambda *, actor, post: services.favourite(actor=actor, post=post),
        gettext_lazy("Saved to your favourites."),
    ),
    "unfavourite": (lambda *, actor, post: services.unfavourite(actor=actor, post=post), ""),
    "pin": (
        lambda *, actor, post: services.pin_post(actor=actor, post=post),
        gettext_lazy("Pinned."),
    ),
    "unpin": (lambda *, actor, post: services.pin_post(actor=actor, post=post, pinned=False), ""),
}
_MODERATION = {
    "hide": gettext_lazy("Hidden. The author sees your reason."),
    "remove": gettext_lazy("Removed. The author sees your reason."),
    "restore": gettext_lazy("Shown again."),
}


@login_required
@require_POST
def post_action(request, post_id, action):
    post = _post(request, post_id)
    back = reverse("content:post", args=[post.public_id])
    actor = request.user
    if action in _POST_ACTIONS:
        service, message = _POST_ACTIONS[action]
        _perform(request, lambda: service(actor=actor, post=post), message)
    elif action in _MODERATION:
        reason = request.POST.get("reason", "")
        _perform(
            request,
            lambda: services.moderate_post(actor=actor, post=post, action=action, reason=reason),
            _MODERATION[action],
        )
    elif action == "report":
        reason = request.POST.get("reason", "")
        _perform(
            request,
            lambda: services.report(actor=actor, post=post, reason=reason),
            _("Thank you. The moderators will look at it."),
        )
    elif action == "delete":
        if not is_confirmed(request):
            return confirmation_page(
                request,
                question=_("Delete this post?"),
                details=_("It disappears for everyone; this cannot be undone."),
                button=_("Yes, delete"),
                cancel_url=back,
            )
        if _perform(
            request, lambda: services.delete_post(actor=actor, post=post), _("Post deleted.")
        ):
            return redirect(reverse("content:community_posts", args=[post.community.public_id]))
    else:
        raise Http404()
    return redirect(back)


@login_required
@require_POST
def comment_create(request, post_id):
    post = _post(request, post_id)
    parent = None
    parent_id = request.POST.get("parent_id", "")
    try:
        if parent_id:
            parent = selectors.get_comment(public_id=parent_id)
        services.add_comment(
            actor=request.user, post=post, body=request.POST.get("body", ""), parent=parent
        )
    except DomainError as exc:
        return _render_post(request, post, status=exc.status, error=exc.message)
    return redirect(reverse("content:post", args=[post.public_id]) + "#comments")


@login_required
@require_POST
def comment_action(request, comment_id, action):
    comment = _or_404(lambda: selectors.get_comment(public_id=comment_id))
    selectors.require_readable_post(viewer=request.user, post=comment.post)
    back = reverse("content:post", args=[comment.post.public_id]) + "#comments"
    actor, reason = request.user, request.POST.get("reason", "")
    if action == "delete":
        if not is_confirmed(request):
            return confirmation_page(
                request,
                question=_("Delete this comment?"),
                button=_("Yes, delete"),
                cancel_url=back,
            )
        _perform(
            request, lambda: services.delete_comment(actor=actor, comment=comment), _("Deleted.")
        )
    elif action in ("hide", "remove"):
        _perform(
            request,
            lambda: services.moderate_comment(
                actor=actor, comment=comment, action=action, reason=reason
            ),
            _MODERATION[action],
        )
    elif action == "report":
        _perform(
            request,
            lambda: services.report(actor=actor, comment=comment, reason=reason),
            _("Thank you. The moderators will look at it."),
        )
    else:
        raise Http404()
    return redirect(back)


# ---------------------------------------------------------------------------------------------
# Reviews


def product_reviews(request, product_id):
    product = _product(product_id)
    page = Paginator(selectors.product_reviews(product=product), REVIEWS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "content/product_reviews.html",
        {
            "product": product,
            "rating": selectors.product_rating(product=product),
            "page": page,
            "nav_active": "shop",
        },
    )


@login_required
@require_POST
def product_favourite(request, product_id):
    product = _product(product_id)
    if request.POST.get("remove"):
        _perform(request, lambda: services.unfavourite(actor=request.user, product=product), "")
    else:
        _perform(
            request,
            lambda: services.favourite(actor=request.user, product=product),
            _("Saved to your favourites."),
        )
    return redirect(reverse("catalog:product", args=[product.public_id]))


@login_required
def review_write(request, line_id):
    from shoploop.orders.models import OrderLine

    line = (
        OrderLine.objects.select_related("order", "order__shop")
        .filter(public_id=line_id, order__buyer=request.user)
        .first()
    )
    if line is None:
        raise Http404()
    error, status = None, 200
    if request.method == "POST":
        try:
            stars = int(request.POST.get("stars", "0"))
        except ValueError:
            stars = 0
        try:
            review = services.create_review(
                actor=request.user,
                order_line=line,
                stars=stars,
                body=request.POST.get("body", ""),
                photos=request.FILES.getlist("photos"),
            )
        except DomainError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("Thank you for your review."))
            return redirect(reverse("content:review", args=[review.public_id]))
    return render(
        request,
        "content/review_write.html",
        {
            "line": line,
            "error": error,
            "form_data": request.POST,
            "star_choices": [5, 4, 3, 2, 1],
            "max_photos": MAX_PHOTOS,
            "nav_active": "me",
        },
        status=status,
    )


def review_detail(request, review_id):
    review = _or_404(lambda: selectors.get_review(public_id=review_id, viewer=request.user))
    user = request.user
    is_author = user.is_authenticated and user.pk == review.author_id
    return render(
        request,
        "content/review_detail.html",
        {
            "review": review,
            "is_author": is_author,
            "is_shop_owner": user.is_authenticated and user.pk == review.shop.owner_id,
            "my_communities": selectors.communities_to_share(user=user) if is_author else [],
            "shares": selectors.visible_shares(review=review, viewer=user),
            "nav_active": "me",
        },
    )


@login_required
@require_POST
def review_action(request, review_id, action):
    review = _or_404(lambda: selectors.get_review(public_id=review_id, viewer=request.user))
    back = reverse("content:review", args=[review.public_id])
    actor, body = request.user, request.POST.get("body", "")
    if action == "follow-up":
        _perform(
            request,
            lambda: services.add_follow_up(actor=actor, review=review, body=body),
            _("Follow-up added."),
        )
    elif action == "reply":
        _perform(
            request,
            lambda: services.reply_to_review(actor=actor, review=review, body=body),
            _("Reply published."),
        )
    elif action == "report":
        _perform(
            request,
            lambda: services.report(
                actor=actor, review=review, reason=request.POST.get("reason", "")
            ),
            _("Thank you. The operators will look at it."),
        )
    elif action == "share":
        community_id = request.POST.get("community_id", "")
        try:
            community = get_community(public_id=community_id)
            post = services.share_review(actor=actor, review=review, community=community, body=body)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Shared to %(name)s.") % {"name": community.name})
            return redirect(reverse("content:post", args=[post.public_id]))
    else:
        raise Http404()
    return redirect(back)


@login_required
def to_review(request):
    """待评价: received order lines still waiting for the buyer's review."""
    lines = selectors.lines_awaiting_review(user=request.user)
    page = Paginator(lines, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "content/to_review.html",
        {"page": page, "reviews": selectors.reviews_by(user=request.user)[:10], "nav_active": "me"},
    )


@login_required
def favourites(request):
    page = Paginator(selectors.favourites_of(user=request.user), 30).get_page(
        request.GET.get("page")
    )
    return render(request, "content/favourites.html", {"page": page, "nav_active": "me"})


@login_required
@require_POST
def mute(request, public_id, user_id):
    """A moderator mutes (``days`` > 0) or unmutes (``days`` = 0) a member of the community."""
    from django.contrib.auth import get_user_model

    community = _or_404(lambda: get_community(public_id=public_id))
    target = get_user_model().objects.filter(public_id=user_id).first()
    if target is None:
        raise Http404()
    try:
        days = int(request.POST.get("days", ""))
    except ValueError:
        days = -1
    if days == 0:
        _perform(
            request,
            lambda: services.unmute_member(actor=request.user, community=community, user=target),
            _("Mute lifted."),
        )
    else:
        _perform(
            request,
            lambda: services.mute_member(
                actor=request.user,
                community=community,
                user=target,
                days=days,
                reason=request.POST.get("reason", ""),
            ),
            _("Muted."),
        )
    back = request.POST.get("back", "")
    if back.startswith("/posts/"):
        return redirect(back)
    return redirect(reverse("content:community_posts", args=[community.public_id]))


# ---------------------------------------------------------------------------------------------
# The report queue (moderators of a community; operators see everything)


@login_required
def community_reports(request, public_id):
    community = _or_404(lambda: get_community(public_id=public_id))
    reports = selectors.report_queue(viewer=request.user, community=community)
    return render(
        request,
        "content/reports.html",
        {"community": community, "reports": reports[:200], "nav_active": "communities"},
    )


@login_required
def operator_reports(request):
    reports = selectors.report_queue(viewer=request.user)
    return render(request, "content/reports.html", {"community": None, "reports": reports[:200]})


@login_required
@require_POST
def report_action(request, report_id, action):
    report = _or_404(lambda: selectors.get_report(public_id=report_id))
    _perform(
        request,
        lambda: services.handle_report(
            actor=request.user, report=report, action=action, reason=request.POST.get("reason", "")
        ),
        _("Report handled."),
    )
    if report.community_id and not request.POST.get("operator"):
        return redirect(reverse("content:community_reports", args=[report.community.public_id]))
    return redirect(reverse("content:operator_reports"))
