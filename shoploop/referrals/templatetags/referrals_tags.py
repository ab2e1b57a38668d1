"""``{% share_action kind public_id %}`` (the share button of a page) and
``{% open_graph kind public_id %}`` (the card a pasted link shows in a chat)."""

from django import template

from shoploop.referrals.targets import resolve

register = template.Library()


@register.inclusion_tag("referrals/_share_action.html", takes_context=True)
def share_action(context, kind, public_id, community=""):
    request = context.get("request")
    return {
        "kind": kind,
        "target": public_id,
        "community": community or "",
        "next": request.get_full_path() if request else "/",
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("referrals/_open_graph.html", takes_context=True)
def open_graph(context, kind, public_id):
    request = context.get("request")
    target = resolve(kind, public_id)
    if target is None or request is None:
        return {"target": None}
    image = ""
    if target.image:
        try:
            image = request.build_absolute_uri(target.image.url)
        except ValueError:
            image = ""
    return {
        "target": target,
        "url": request.build_absolute_uri(target.url),
        "image": image,
    }
