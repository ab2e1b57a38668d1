"""Every kind of notification: its label, its text, its link, and its channel defaults.

A notification stores only its kind and parameters; ``render`` builds the text in the active
language when someone reads it, so switching language re-renders the whole inbox. Parameters
are public ids and the few names and amounts the text needs (a snapshot at the event's time).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shoploop.core.money import format_fen


@dataclass(frozen=True)
class Kind:
    code: str
    label: object  # lazy text for the preferences page
    text: Callable[[dict], str]
    url: Callable[[dict], str]
    # Important kinds may also go out by SMS (on by default) when the person is away.
    important: bool = False
    sms_params: Callable[[dict], list[str]] = field(default=lambda params: [])


def _url(name: str, **kwargs) -> str:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return ""


def _money(params: dict, key: str) -> str:
    return format_fen(int(params.get(key) or 0))


def _group_url(p):
    return _url("deals_groups:group", group_id=p["group"])


def _bargain_url(p):
    return _url("deals_bargains:detail", bargain_id=p["bargain"])


def _project_url(p):
    return _url("deals_crowdfunding:project", project_id=p["project"])


def _order_url(p):
    return _url("orders:detail", order_id=p["order"])


def _after_sale_url(p):
    return _url("orders:after_sale_detail", after_sale_id=p["after_sale"])


def _group_failed_text(p) -> str:
    if int(p.get("refund_fen") or 0):
        return _(
            "Your group for %(product)s did not fill up in time. Your payment of %(amount)s "
            "is refunded."
        ) % {"product": p["product"], "amount": _money(p, "refund_fen")}
    return _("Your group for %(product)s did not fill up in time; your seat is released.") % {
        "product": p["product"]
    }


def _order_title(p) -> str:
    return p.get("title") or p["order"]


# --- texts: called at display time, in the reader's language ------------------------------------


def _group_joined_text(p) -> str:
    return _("%(name)s joined your group for %(product)s.") % {
        "name": p["member_name"],
        "product": p["product"],
    }


def _group_completed_text(p) -> str:
    return _("Your group for %(product)s is complete: the shop prepares your order.") % {
        "product": p["product"]
    }


def _bargain_helped_text(p) -> str:
    return _("%(name)s cut %(amount)s off your bargain for %(product)s.") % {
        "name": p["helper_name"],
        "amount": _money(p, "cut_fen"),
        "product": p["product"],
    }


def _bargain_floor_text(p) -> str:
    return _("Your bargain for %(product)s reached its lowest price: buy it for %(price)s.") % {
        "product": p["product"],
        "price": _money(p, "price_fen"),
    }


def _bargain_expiring_text(p) -> str:
    return _("Your bargain for %(product)s ends within the hour.") % {"product": p["product"]}


def _crowdfunding_succeeded_text(p) -> str:
    return _("%(title)s reached its goal: your pledge goes ahead.") % {"title": p["title"]}


def _crowdfunding_failed_text(p) -> str:
    return _("%(title)s did not reach its goal: your pledge is refunded.") % {"title": p["title"]}


def _order_paid_text(p) -> str:
    return _("New paid order for %(title)s: %(amount)s. Time to ship it.") % {
        "title": _order_title(p),
        "amount": _money(p, "total_fen"),
    }


def _order_shipped_text(p) -> str:
    return _("Your order of %(title)s has shipped.") % {"title": _order_title(p)}


def _order_pickup_ready_text(p) -> str:
    return _("Your order of %(title)s is on its way to %(point)s. Show your pickup code there.") % {
        "title": _order_title(p),
        "point": p.get("point", ""),
    }


def _pickup_order_sent_text(p) -> str:
    return _("An order for %(buyer)s is on its way to your pickup point %(point)s.") % {
        "buyer": p.get("buyer_name", ""),
        "point": p.get("point", ""),
    }


def _pickup_point_url(p):
    return _url("orders:pickup_point", point_id=p["point_id"])


def _order_pickup_ready_sms(p):
    return [_order_title(p)[:20], str(p.get("point", ""))[:20]]


def _order_auto_received_text(p) -> str:
    return _("Your order of %(title)s was marked as received automatically.") % {
        "title": _order_title(p)
    }


def _order_refunded_text(p) -> str:
    return _("%(amount)s was refunded for your order of %(title)s.") % {
        "amount": _money(p, "amount_fen"),
        "title": _order_title(p),
    }


def _after_sale_requested_text(p) -> str:
    return _("A buyer asked for an after-sale on %(title)s. Please answer it.") % {
        "title": _order_title(p)
    }


def _after_sale_accepted_text(p) -> str:
    return _("The shop accepted your after-sale request for %(title)s.") % {
        "title": _order_title(p)
    }


def _after_sale_rejected_text(p) -> str:
    return _(
        "The shop declined your after-sale request for %(title)s. You can ask the "
        "platform to decide."
    ) % {"title": _order_title(p)}


def _after_sale_escalated_text(p) -> str:
    return _("The after-sale request for %(title)s went to the platform to decide.") % {
        "title": _order_title(p)
    }


def _new_follower_text(p) -> str:
    return _("%(name)s started following you.") % {"name": p["name"]}


def _chat_message_text(p) -> str:
    return _("%(name)s sent you a message.") % {"name": p["sender_name"]}


def _idea_url(p):
    return _url("ideas:idea", idea_id=p["idea"])


def _idea_shipped_text(p) -> str:
    return _("An idea you voted for has shipped: %(title)s is now %(product)s.") % {
        "title": p["title"],
        "product": p["product"],
    }


def _idea_answered_text(p) -> str:
    from shoploop.ideas.models import Idea

    status = Idea.Status(p["status"]).label
    return _("%(shop)s answered your idea %(title)s: %(status)s.") % {
        "shop": p["shop"],
        "title": p["title"],
        "status": status,
    }


def _wanted_presale_text(p) -> str:
    return _("%(title)s, which you wanted, is now on pre-sale.") % {"title": p["title"]}


def _profile_url(p):
    return _url("accounts:profile", public_id=p["user"])


def _conversation_url(p):
    return _url("chat:conversation", public_id=p["conversation"])


def _group_failed_sms(p):
    return [p["product"], _money(p, "refund_fen")]


def _order_shipped_sms(p):
    return [_order_title(p)[:20]]


def _order_refunded_sms(p):
    return [_money(p, "amount_fen"), _order_title(p)[:20]]


def _crowdtask_url(p):
    return _url("crowdtasks:detail", task_id=p["task"])


def _crowdtask_won_text(p) -> str:
    if int(p.get("amount_fen") or 0):
        return _("Your entry won “%(title)s” at %(shop)s: %(amount)s is in your balance.") % {
            "title": p["title"],
            "shop": p["shop"],
            "amount": _money(p, "amount_fen"),
        }
    return _("Your entry won “%(title)s” at %(shop)s: the coupon is in My coupons.") % {
        "title": p["title"],
        "shop": p["shop"],
    }


def _crowdtask_ended_text(p) -> str:
    return _("“%(title)s” has ended; your entry was not picked this time. Thank you!") % {
        "title": p["title"]
    }


_ALL = [
    Kind("group_joined", gettext_lazy("Someone joined your group"), _group_joined_text, _group_url),
    Kind(
        "group_completed",
        gettext_lazy("Your group is complete"),
        _group_completed_text,
        _group_url,
    ),
    Kind(
        "group_failed",
        gettext_lazy("Your group did not fill up"),
        _group_failed_text,
        _group_url,
        important=True,
        sms_params=_group_failed_sms,
    ),
    Kind(
        "bargain_helped",
        gettext_lazy("A friend helped your bargain"),
        _bargain_helped_text,
        _bargain_url,
    ),
    Kind(
        "bargain_floor_reached",
        gettext_lazy("Your bargain reached the lowest price"),
        _bargain_floor_text,
        _bargain_url,
    ),
    Kind(
        "bargain_expiring",
        gettext_lazy("Your bargain ends soon"),
        _bargain_expiring_text,
        _bargain_url,
    ),
    Kind(
        "crowdfunding_succeeded",
        gettext_lazy("A project you backed succeeded"),
        _crowdfunding_succeeded_text,
        _project_url,
    ),
    Kind(
        "crowdfunding_failed",
        gettext_lazy("A project you backed did not reach its goal"),
        _crowdfunding_failed_text,
        _project_url,
    ),
    Kind("order_paid", gettext_lazy("New paid order (shop)"), _order_paid_text, _order_url),
    Kind(
        "order_shipped",
        gettext_lazy("Your order has shipped"),
        _order_shipped_text,
        _order_url,
        important=True,
        sms_params=_order_shipped_sms,
    ),
    Kind(
        "order_pickup_ready",
        gettext_lazy("Your order is on its way to the pickup point"),
        _order_pickup_ready_text,
        _order_url,
        important=True,
        sms_params=_order_pickup_ready_sms,
    ),
    Kind(
        "pickup_order_sent",
        gettext_lazy("An order is on its way to your pickup point (group leader)"),
        _pickup_order_sent_text,
        _pickup_point_url,
    ),
    Kind(
        "order_auto_received",
        gettext_lazy("Your order was received automatically"),
        _order_auto_received_text,
        _order_url,
    ),
    Kind(
        "order_refunded",
        gettext_lazy("You were refunded"),
        _order_refunded_text,
        _order_url,
        important=True,
        sms_params=_order_refunded_sms,
    ),
    Kind(
        "after_sale_requested",
        gettext_lazy("A buyer asked for an after-sale (shop)"),
        _after_sale_requested_text,
        _after_sale_url,
    ),
    Kind(
        "after_sale_accepted",
        gettext_lazy("The shop accepted your after-sale request"),
        _after_sale_accepted_text,
        _after_sale_url,
    ),
    Kind(
        "after_sale_rejected",
        gettext_lazy("The shop declined your after-sale request"),
        _after_sale_rejected_text,
        _after_sale_url,
    ),
    Kind(
        "after_sale_escalated",
        gettext_lazy("An after-sale request went to the platform"),
        _after_sale_escalated_text,
        _after_sale_url,
    ),
    Kind(
        "idea_shipped",
        gettext_lazy("An idea you voted for has shipped"),
        _idea_shipped_text,
        _idea_url,
    ),
    Kind(
        "idea_answered",
        gettext_lazy("A shop answered your idea"),
        _idea_answered_text,
        _idea_url,
    ),
    Kind(
        "wanted_presale_started",
        gettext_lazy("Something you wanted is on pre-sale"),
        _wanted_presale_text,
        _project_url,
    ),
    Kind("new_follower", gettext_lazy("New follower"), _new_follower_text, _profile_url),
    Kind(
        "chat_message",
        gettext_lazy("New message while you were away"),
        _chat_message_text,
        _conversation_url,
    ),
    Kind(
        "crowdtask_won",
        gettext_lazy("Your task entry won"),
        _crowdtask_won_text,
        _crowdtask_url,
    ),
    Kind(
        "crowdtask_ended",
        gettext_lazy("A task you entered has ended"),
        _crowdtask_ended_text,
        _crowdtask_url,
    ),
]

KINDS: dict[str, Kind] = {kind.code: kind for kind in _ALL}

IMPORTANT_KINDS = tuple(code for code, kind in KINDS.items() if kind.important)


def render(kind: str, params: dict) -> str:
    """The text in the active language ("" for a kind this code no longer knows)."""
    found = KINDS.get(kind)
    if found is None:
        return ""
    try:
        return found.text(params)
    except (KeyError, TypeError, ValueError):
        return ""


def link(kind: str, params: dict) -> str:
    found = KINDS.get(kind)
    if found is None:
        return ""
    try:
        return found.url(params)
    except (KeyError, TypeError):
        return ""
