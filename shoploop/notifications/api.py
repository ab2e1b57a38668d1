"""/api/v1/notifications: the inbox by cursor, the unread count, mark read, preferences.

Texts are rendered in the request's language (``Accept-Language``, else the site's default), so
an app shows the inbox in the language it asks for."""

from datetime import datetime

from ninja import Router, Schema
from ninja.pagination import CursorPagination, paginate
from pydantic import Field

from shoploop.core.schemas import InputSchema
from shoploop.notifications import kinds, selectors, services
from shoploop.notifications.models import Notification

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: str
    kind: str
    text: str
    url: str
    created_at: datetime
    read: bool

    @staticmethod
    def resolve_id(obj: Notification) -> str:
        return obj.public_id

    @staticmethod
    def resolve_text(obj: Notification) -> str:
        return kinds.render(obj.kind, obj.params)

    @staticmethod
    def resolve_url(obj: Notification) -> str:
        return kinds.link(obj.kind, obj.params)

    @staticmethod
    def resolve_read(obj: Notification) -> bool:
        return obj.read_at is not None


class NotificationUnreadOut(Schema):
    unread: int


class NotificationsMarkedOut(Schema):
    marked: int
    unread: int


class NotificationPreferenceOut(Schema):
    kind: str
    label: str
    in_app: bool
    sms: bool
    sms_available: bool


class NotificationPreferenceIn(InputSchema):
    kind: str = Field(max_length=40)
    in_app: bool = True
    sms: bool = False


def _preference(choice: services.Choice) -> dict:
    return {
        "kind": choice.kind,
        "label": str(kinds.KINDS[choice.kind].label),
        "in_app": choice.in_app,
        "sms": choice.sms,
        "sms_available": choice.sms_available,
    }


@router.get("", response=list[NotificationOut])
@paginate(CursorPagination, ordering=("-created_at", "-id"))
def list_notifications(request):
    """Newest first; follow ``next`` for older ones."""
    return selectors.inbox(user=request.user)


@router.get("/unread-count", response=NotificationUnreadOut)
def unread_count(request):
    return {"unread": selectors.unread_count(user=request.user)}


@router.post("/{id}/read", response=NotificationOut)
def mark_read(request, id: str):
    return services.mark_read(user=request.user, public_id=id)


@router.post("/read-all", response=NotificationsMarkedOut)
def mark_all_read(request):
    marked = services.mark_all_read(user=request.user)
    return {"marked": marked, "unread": selectors.unread_count(user=request.user)}


@router.get("/preferences", response=list[NotificationPreferenceOut])
def list_preferences(request):
    return [_preference(choice) for choice in services.preferences_of(request.user)]


@router.put("/preferences", response=NotificationPreferenceOut)
def set_preference(request, payload: NotificationPreferenceIn):
    """One kind's channels; ``sms`` only for the kinds that offer it (``sms_available``)."""
    choice = services.set_preference(
        user=request.user, kind=payload.kind, in_app=payload.in_app, sms=payload.sms
    )
    return _preference(choice)
