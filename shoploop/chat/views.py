"""Chat pages. They work without JavaScript: send by form, reload to read. With JavaScript,
static/chat/chat.js connects to the WebSocket and adds messages as they arrive."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.chat import selectors, services
from shoploop.chat.forms import MessageForm, ReportForm
from shoploop.chat.models import Conversation
from shoploop.core.errors import DomainError
from shoploop.web.confirm import confirmation_page, is_confirmed


def _to_conversation(conversation: Conversation):
    return redirect(reverse("chat:conversation", args=[conversation.public_id]))


def _show_error(request, error: DomainError) -> None:
    messages.error(request, str(error.message))


def inbox(request):
    from shoploop.catalog.selectors import shop_of

    if not request.user.is_authenticated:
        return render(request, "chat/inbox.html", {"nav_active": "messages"})

    shop = shop_of(user=request.user)
    shop_waiting = 0
    if shop is not None:
        shop_waiting = sum(
            1
            for e in selectors.shop_inbox(user=request.user, shop=shop)
            if e.conversation.awaiting_shop
        )
    return render(
        request,
        "chat/inbox.html",
        {
            "nav_active": "messages",
            "entries": selectors.my_conversations(user=request.user),
            "shop": shop,
            "shop_waiting": shop_waiting,
        },
    )


@login_required
def shop_inbox(request):
    from shoploop.catalog.selectors import shop_of

    shop = shop_of(user=request.user)
    if shop is None:
        raise Http404
    return render(
        request,
        "chat/shop_inbox.html",
        {
            "nav_active": "messages",
            "shop": shop,
            "entries": selectors.shop_inbox(user=request.user, shop=shop),
        },
    )


@login_required
def conversation(request, public_id: str):
    access = selectors.conversation_for(user=request.user, public_id=public_id)
    chat = access.conversation
    form = MessageForm()
    if request.method == "POST":
        form = MessageForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.send_message(
                    actor=request.user,
                    conversation=chat,
                    text=form.cleaned_data["text"],
                    image=form.cleaned_data["image"],
                )
            except DomainError as error:
                _show_error(request, error)
            else:
                return _to_conversation(chat)
    before = request.GET.get("before")
    before = int(before) if before and before.isdigit() else None
    page = selectors.message_page(user=request.user, conversation=chat, before=before)
    if page and before is None:
        services.mark_read(actor=request.user, conversation=chat, seq=page[-1].seq)
    participant = selectors.participant_of(user=request.user, conversation=chat)
    return render(
        request,
        "chat/conversation.html",
        {
            "nav_active": "messages",
            "chat": chat,
            "access": access,
            "title": selectors.title_of(chat, user=request.user),
            "title_person": selectors.person_in_title(chat, user=request.user),
            "page": page,
            "older": page[0].seq if page and page[0].seq > 1 else None,
            "newest_seq": page[-1].seq if page else 0,
            "viewing_history": before is not None,
            "form": form,
            "muted": bool(participant and participant.muted_at),
            "report_count": (
                selectors.open_reports(user=request.user, conversation=chat).count()
                if access.moderator
                else 0
            ),
        },
    )


@login_required
@require_POST
def start_with_shop(request, shop_id: str):
    from shoploop.catalog.selectors import product_for_viewer, visible_shop
    from shoploop.orders.selectors import after_sale_for_viewer, order_for_viewer

    user = request.user
    shop = visible_shop(public_id=shop_id, viewer=user)
    found = {}
    if request.POST.get("product"):
        found["product"] = product_for_viewer(public_id=request.POST["product"], viewer=user)
    if request.POST.get("order"):
        found["order"] = order_for_viewer(public_id=request.POST["order"], viewer=user)
    if request.POST.get("after_sale"):
        found["after_sale"] = after_sale_for_viewer(
            public_id=request.POST["after_sale"], viewer=user
        )
    try:
        chat = services.start_shop_conversation(buyer=user, shop=shop, **found)
    except DomainError as error:
        _show_error(request, error)
        return redirect(
            request.POST.get("back") if _safe(request.POST.get("back")) else "chat:inbox"
        )
    return _to_conversation(chat)


def _safe(url) -> bool:
    return isinstance(url, str) and url.startswith("/") and not url.startswith("//")


@login_required
@require_POST
def start_with_person(request, user_id: str):
    from shoploop.accounts.selectors import active_user_by_public_id

    other = active_user_by_public_id(user_id)
    try:
        chat = services.start_direct_conversation(actor=request.user, other=other)
    except DomainError as error:
        _show_error(request, error)
        return redirect("chat:inbox")
    return _to_conversation(chat)


@login_required
def room(request, community_id: str):
    from shoploop.communities.selectors import get_community

    community = get_community(public_id=community_id)
    chat = services.open_room(actor=request.user, community=community)
    return _to_conversation(chat)


@login_required
@require_POST
def remove_message(request, message_id: str):
    message, _access = selectors.message_for(user=request.user, public_id=message_id)
    back = reverse("chat:conversation", args=[message.conversation.public_id])
    if not is_confirmed(request):
        return confirmation_page(
            request,
            question=_("Remove this message?"),
            details=message.text[:200],
            button=_("Remove"),
            cancel_url=back,
        )
    try:
        services.remove_message(actor=request.user, message=message)
    except DomainError as error:
        _show_error(request, error)
    else:
        messages.success(request, _("The message was removed."))
    return redirect(back)


@login_required
def report_message(request, message_id: str):
    message, _access = selectors.message_for(user=request.user, public_id=message_id)
    back = reverse("chat:conversation", args=[message.conversation.public_id])
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_message(
                actor=request.user, message=message, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            _show_error(request, error)
        else:
            messages.success(request, _("Thank you. The moderators will look at it."))
        return redirect(back)
    return render(
        request,
        "chat/report.html",
        {"nav_active": "messages", "message": message, "form": form, "back": back},
    )


@login_required
@require_POST
def mute_member(request, public_id: str):
    from shoploop.accounts.selectors import active_user_by_public_id

    chat = selectors.conversation_by_public_id(public_id)
    user = active_user_by_public_id(request.POST.get("user", ""))
    muted = request.POST.get("muted", "1") == "1"
    try:
        services.set_muted(actor=request.user, conversation=chat, user=user, muted=muted)
    except DomainError as error:
        _show_error(request, error)
    else:
        messages.success(
            request,
            _("%(name)s is muted.") % {"name": user}
            if muted
            else _("%(name)s may speak again.") % {"name": user},
        )
    return _to_conversation(chat)


@login_required
@require_POST
def close_room(request, public_id: str):
    chat = selectors.conversation_by_public_id(public_id)
    closing = request.POST.get("closed", "1") == "1"
    back = reverse("chat:conversation", args=[chat.public_id])
    if closing and not is_confirmed(request):
        return confirmation_page(
            request,
            question=_("Close this room?"),
            details=_("Members can still read it, but nobody can send messages."),
            button=_("Close the room"),
            cancel_url=back,
            keep=("closed",),
        )
    try:
        services.set_room_closed(actor=request.user, conversation=chat, closed=closing)
    except DomainError as error:
        _show_error(request, error)
    return redirect(back)


@login_required
def reports(request, public_id: str):
    chat = selectors.conversation_by_public_id(public_id)
    return render(
        request,
        "chat/reports.html",
        {
            "nav_active": "messages",
            "chat": chat,
            "reports": selectors.open_reports(user=request.user, conversation=chat),
        },
    )
