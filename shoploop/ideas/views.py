"""Co-creation pages. Thin: parse, call a service or selector, render; a refused action shows its
message with its 4xx status and changes nothing. Every page works at 390 px without JavaScript."""

from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.catalog import selectors as catalog_selectors
from shoploop.communities.selectors import get_community
from shoploop.core.errors import DomainError, NotFound, ValidationFailed
from shoploop.core.money import format_fen, parse_yuan
from shoploop.ideas import selectors, services
from shoploop.ideas.models import MAX_PHOTOS, Idea, PriceBand

IDEAS_PER_PAGE = 20
ANSWERS = [status for status in Idea.Status if status != Idea.Status.PROPOSED]


def _or_404(lookup):
    try:
        return lookup()
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _sort(request) -> str:
    sort = request.GET.get("sort", "votes")
    return sort if sort in selectors.SORTS else "votes"


def _page(request, queryset):
    return Paginator(queryset, IDEAS_PER_PAGE).get_page(request.GET.get("page"))


def _list_context(request, ideas) -> dict:
    page = _page(request, ideas)
    return {
        "page": page,
        "sort": _sort(request),
        "voted": selectors.voted_idea_ids(user=request.user, ideas=page.object_list),
    }


def _visible_shop(request, shop_id):
    return _or_404(lambda: catalog_selectors.visible_shop(public_id=shop_id, viewer=request.user))


# ---------------------------------------------------------------------------------------------
# Lists


def community_ideas(request, community_id):
    community = _or_404(lambda: get_community(public_id=community_id))
    ideas = selectors.community_ideas(community=community, viewer=request.user, sort=_sort(request))
    wanted = selectors.community_wanted_products(community=community, viewer=request.user)
    return render(
        request,
        "ideas/community_ideas.html",
        {
            "community": community,
            **_list_context(request, ideas),
            "shops": selectors.community_shops(community=community),
            "wanted": wanted[:10],
            "is_member": selectors.is_member(user=request.user, community=community),
            "nav_active": "communities",
        },
    )


def shop_ideas(request, shop_id):
    shop = _visible_shop(request, shop_id)
    ideas = selectors.shop_ideas(shop=shop, viewer=request.user, sort=_sort(request))
    return render(
        request,
        "ideas/shop_ideas.html",
        {
            "shop": shop,
            **_list_context(request, ideas),
            "may_propose": selectors.follows_shop(user=request.user, shop=shop)
            or bool(selectors.member_communities_of_shop(user=request.user, shop=shop)),
            "is_owner": selectors.is_shop_owner(user=request.user, shop=shop),
        },
    )


def changelog(request, shop_id):
    shop = _visible_shop(request, shop_id)
    return render(
        request,
        "ideas/changelog.html",
        {
            "shop": shop,
            "page": _page(request, selectors.shop_changelog(shop=shop, viewer=request.user)),
        },
    )


# ---------------------------------------------------------------------------------------------
# Proposing


def _optional_community(public_id: str):
    public_id = (public_id or "").strip()
    return _or_404(lambda: get_community(public_id=public_id)) if public_id else None


def _optional_product(shop, public_id: str):
    """One of the shop's products named in a form, or None when none is chosen."""
    public_id = (public_id or "").strip()[:12]
    if not public_id:
        return None
    product = shop.products.filter(public_id=public_id).first()
    if product is None:
        raise ValidationFailed(
            _("That product is not one of this shop's."),
            code="product_not_in_shop",
            fields={"product_id": "not_in_shop"},
        )
    return product


@login_required
def propose(request):
    """``?shop=`` (required) and ``?community=`` (optional, preselected)."""
    source = request.POST if request.method == "POST" else request.GET
    shop = _visible_shop(request, source.get("shop", "")[:12])
    status, error = 200, None
    if request.method == "POST":
        try:
            idea = services.propose_idea(
                actor=request.user,
                shop=shop,
                community=_optional_community(source.get("community", "")),
                product=_optional_product(shop, source.get("product", "")),
                title=source.get("title", ""),
                body=source.get("body", ""),
                photos=request.FILES.getlist("photos"),
            )
        except DomainError as exc:
            status, error = exc.status, exc.message
        else:
            messages.success(request, _("Your idea is posted. Ask friends to vote for it!"))
            return redirect("ideas:idea", idea_id=idea.public_id)
    return render(
        request,
        "ideas/propose.html",
        {
            "shop": shop,
            "communities": selectors.member_communities_of_shop(user=request.user, shop=shop),
            "follows": selectors.follows_shop(user=request.user, shop=shop),
            "products": selectors.shop_products_for_answer(shop=shop),
            "chosen_community": source.get("community", ""),
            "form": source,
            "error": error,
            "max_photos": MAX_PHOTOS,
        },
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# An idea


def _idea(request, idea_id) -> Idea:
    return _or_404(lambda: selectors.get_idea(public_id=idea_id, viewer=request.user))


def _render_idea(request, idea, *, status=200, error=None, form=None):
    user = request.user
    is_owner = selectors.is_shop_owner(user=user, shop=idea.shop)
    return render(
        request,
        "ideas/idea_detail.html",
        {
            "idea": idea,
            "comments": selectors.idea_comments(idea=idea),
            "history": selectors.idea_history(idea=idea),
            "voted": idea.pk in selectors.voted_idea_ids(user=user, ideas=[idea]),
            "may_take_part": selectors.may_take_part(user=user, idea=idea),
            "is_owner": is_owner,
            "answers": [s for s in ANSWERS if s in services.TRANSITIONS[idea.status]],
            "products": selectors.shop_products_for_answer(shop=idea.shop) if is_owner else [],
            "error": error,
            "form": form or {},
        },
        status=status,
    )


def idea_detail(request, idea_id):
    return _render_idea(request, _idea(request, idea_id))


def _act(request, idea, action, success):
    """Do ``action``; on success back to the idea, else the idea with the message and status."""
    try:
        action()
    except DomainError as exc:
        idea.refresh_from_db()
        return _render_idea(request, idea, status=exc.status, error=exc.message, form=request.POST)
    messages.success(request, success)
    return redirect("ideas:idea", idea_id=idea.public_id)


@login_required
@require_POST
def idea_vote(request, idea_id):
    idea = _idea(request, idea_id)
    return _act(
        request,
        idea,
        lambda: services.vote(actor=request.user, idea=idea),
        _("Thanks for your vote."),
    )


@login_required
@require_POST
def idea_comment(request, idea_id):
    idea = _idea(request, idea_id)
    body = request.POST.get("body", "")
    return _act(
        request,
        idea,
        lambda: services.add_comment(actor=request.user, idea=idea, body=body),
        _("Comment posted."),
    )


@login_required
@require_POST
def idea_answer(request, idea_id):
    idea = _idea(request, idea_id)
    post = request.POST

    def answer():
        services.change_status(
            actor=request.user,
            idea=idea,
            status=post.get("status", ""),
            reason=post.get("reason", ""),
            product=_optional_product(idea.shop, post.get("product", "")),
        )

    return _act(request, idea, answer, _("Your answer is posted; the community sees it."))


# ---------------------------------------------------------------------------------------------
# Wanted products (想要)


def shop_wanted(request, shop_id):
    shop = _visible_shop(request, shop_id)
    status, error = 200, None
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('accounts:sign_in')}?next={request.path}")
        try:
            wanted = services.propose_wanted_product(
                actor=request.user,
                shop=shop,
                community=_optional_community(request.POST.get("community", "")),
                title=request.POST.get("title", ""),
                description=request.POST.get("description", ""),
            )
        except DomainError as exc:
            status, error = exc.status, exc.message
        else:
            messages.success(request, _("Posted. Others can now say they want it too."))
            return redirect("ideas:wanted", wanted_id=wanted.public_id)
    return render(
        request,
        "ideas/shop_wanted.html",
        {
            "shop": shop,
            "wanted_products": selectors.shop_wanted_products(shop=shop, viewer=request.user)[:50],
            "communities": selectors.member_communities_of_shop(user=request.user, shop=shop),
            "error": error,
            "form": request.POST if error else {},
        },
        status=status,
    )


def _wanted(request, wanted_id):
    return _or_404(lambda: selectors.get_wanted_product(public_id=wanted_id, viewer=request.user))


def wanted_detail(request, wanted_id):
    wanted = _wanted(request, wanted_id)
    status, error = 200, None
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('accounts:sign_in')}?next={request.path}")
        try:
            services.add_want(
                actor=request.user,
                wanted_product=wanted,
                price_band=request.POST.get("price_band", ""),
                community=_optional_community(request.POST.get("community", "")),
            )
        except DomainError as exc:
            status, error = exc.status, exc.message
        else:
            messages.success(request, _("Noted: you want this. We will tell you when it comes."))
            return redirect("ideas:wanted", wanted_id=wanted.public_id)
    return render(
        request,
        "ideas/wanted_detail.html",
        {
            "wanted": wanted,
            "my_want": selectors.want_of(user=request.user, wanted_product=wanted),
            "bands": PriceBand.choices,
            "communities": selectors.member_communities_of_shop(
                user=request.user, shop=wanted.shop
            ),
            "is_owner": selectors.is_shop_owner(user=request.user, shop=wanted.shop),
            "error": error,
        },
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# Merchant console


def _console_shop(request):
    shop = catalog_selectors.shop_of(user=request.user)
    if shop is None:
        raise Http404(_("You have no shop."))
    return shop


@login_required
def console_ideas(request):
    shop = _console_shop(request)
    status = request.GET.get("status", "open")
    return render(
        request,
        "ideas/console_ideas.html",
        {
            "shop": shop,
            "status": status,
            "statuses": Idea.Status.choices,
            "page": _page(request, selectors.console_ideas(shop=shop, status=status)),
            "nav_active": "me",
        },
    )


@login_required
def console_wanted_list(request):
    shop = _console_shop(request)
    return render(
        request,
        "ideas/console_wanted_list.html",
        {
            "shop": shop,
            "wanted_products": selectors.shop_wanted_products(shop=shop, viewer=request.user),
            "nav_active": "me",
        },
    )


def _parse_deadline(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationFailed(
            _("Give the deadline as a date and time."), fields={"deadline": "invalid"}
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationFailed(
            _("The estimated delivery must be a date after the deadline."),
            fields={"estimated_delivery": "invalid"},
        ) from None


def _parse_units(text: str) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        raise ValidationFailed(
            _("This must be a whole number."), fields={"target_units": "invalid"}
        ) from None


def _draft_form(draft) -> dict:
    deadline = timezone.localtime(draft.deadline)
    return {
        "title": draft.title,
        "story": draft.story,
        "price": format_fen(draft.price_fen, symbol=False),
        "target_units": draft.target_units,
        "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
        "estimated_delivery": draft.estimated_delivery.isoformat(),
    }


@login_required
def console_wanted(request, wanted_id):
    """The demand (by price band, by the wanters' communities) and the pre-sale form, filled
    from it: the merchant checks it and starts the pre-sale in one step."""
    shop = _console_shop(request)
    wanted = _wanted(request, wanted_id)
    if wanted.shop_id != shop.pk:
        raise Http404()
    draft = selectors.presale_draft(wanted_product=wanted)
    status, error, form = 200, None, _draft_form(draft)
    if request.method == "POST":
        post = request.POST
        form = post
        try:
            services.start_presale(
                actor=request.user,
                wanted_product=wanted,
                title=post.get("title", ""),
                story=post.get("story", ""),
                price_fen=parse_yuan(post.get("price", ""), field="price"),
                target_units=_parse_units(post.get("target_units", "")),
                deadline=_parse_deadline(post.get("deadline", "")),
                estimated_delivery=_parse_date(post.get("estimated_delivery", "")),
            )
        except DomainError as exc:
            status, error = exc.status, exc.message
        else:
            messages.success(request, _("The pre-sale is live; everyone who wanted it is told."))
            return redirect(
                "deals_crowdfunding:console_project", project_id=wanted.project.public_id
            )
    return render(
        request,
        "ideas/console_wanted.html",
        {
            "shop": shop,
            "wanted": wanted,
            "bands": selectors.demand_by_band(wanted_product=wanted),
            "communities": selectors.demand_by_community(wanted_product=wanted),
            "draft": draft,
            "form": form,
            "error": error,
            "nav_active": "me",
        },
        status=status,
    )
