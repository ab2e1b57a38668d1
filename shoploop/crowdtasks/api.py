"""Crowdsourcing tasks API (/api/v1/crowdtasks): parse, call a service or selector, return a
schema. Errors: 401 sign in, 403 ``not_shop_owner`` / ``not_eligible``, 404 ``task_not_found`` /
``entry_not_found``, 409 ``already_entered`` / ``deadline_passed`` / ``insufficient_balance`` /
``winners_full`` / ``task_closed`` / ``has_entries``, 422 invalid input. Nothing changes on an
error."""

from datetime import datetime

from django.utils.translation import gettext_lazy as _
from ninja import Router, Status
from ninja.pagination import CursorPagination, paginate
from pydantic import AwareDatetime, StrictInt

from shoploop.accounts.auth import optional_auth
from shoploop.catalog.selectors import shop_of, visible_shop
from shoploop.core.errors import NotFound
from shoploop.core.ratelimit import money_endpoint
from shoploop.core.schemas import InputSchema, PublicSchema
from shoploop.crowdtasks import selectors, services
from shoploop.crowdtasks.models import Entry, Task, Winner

router = Router(tags=["crowdtasks"])


# --- schemas ------------------------------------------------------------------------------------


class CrowdTaskShopRef(PublicSchema):
    name: str


class CrowdTaskOut(PublicSchema):
    shop: CrowdTaskShopRef
    kind: str
    title: str
    brief: str
    deadline: datetime
    winners_count: int
    winners_picked: int
    entries_count: int
    audience: str
    reward_kind: str
    reward_fen: int
    coupon: str | None
    state: str
    created_at: datetime

    @staticmethod
    def resolve_coupon(obj: Task) -> str | None:
        return obj.coupon.public_id if obj.coupon_id else None


class CrowdMerchantTaskOut(CrowdTaskOut):
    reserved_fen: int
    paid_fen: int
    refunded_fen: int


class CrowdEntryOut(PublicSchema):
    task: str
    text: str
    photo_url: str | None
    created_at: datetime
    won: bool

    @staticmethod
    def resolve_task(obj: Entry) -> str:
        return obj.task.public_id

    @staticmethod
    def resolve_photo_url(obj: Entry) -> str | None:
        return obj.photo.url if obj.photo else None

    @staticmethod
    def resolve_won(obj: Entry) -> bool:
        return hasattr(obj, "winner")


class CrowdMerchantEntryOut(CrowdEntryOut):
    author: str
    author_name: str

    @staticmethod
    def resolve_author(obj: Entry) -> str:
        return obj.author.public_id

    @staticmethod
    def resolve_author_name(obj: Entry) -> str:
        return str(obj.author)


class CrowdWinnerOut(PublicSchema):
    task: str
    entry: str
    user: str
    amount_fen: int
    coupon_claim: str | None
    picked_at: datetime

    @staticmethod
    def resolve_task(obj: Winner) -> str:
        return obj.task.public_id

    @staticmethod
    def resolve_entry(obj: Winner) -> str:
        return obj.entry.public_id

    @staticmethod
    def resolve_user(obj: Winner) -> str:
        return obj.user.public_id

    @staticmethod
    def resolve_coupon_claim(obj: Winner) -> str | None:
        return obj.coupon_claim_public_id or None


class CrowdTaskIn(InputSchema):
    kind: str
    title: str
    brief: str
    deadline: AwareDatetime
    winners_count: StrictInt
    reward_kind: str
    # StrictInt: money is whole fen per winner; 12.5 or "12" answers 422.
    reward_fen: StrictInt | None = None
    coupon: str | None = None
    audience: str = Task.Audience.EVERYONE


class CrowdEntryIn(InputSchema):
    text: str


class CrowdPickIn(InputSchema):
    entry: str


# --- helpers ------------------------------------------------------------------------------------


def _my_shop(user):
    shop = shop_of(user=user)
    if shop is None:
        raise NotFound(_("You do not have a shop yet."), code="no_shop")
    return shop


# --- members ------------------------------------------------------------------------------------


@router.get("/shops/{shop_id}", response=list[CrowdTaskOut], auth=optional_auth)
def shop_tasks(request, shop_id: str, state: str = "open"):
    """A shop's tasks (``state=open`` by default, ``all`` for every one), newest first."""
    shop = visible_shop(public_id=shop_id, viewer=request.user)
    if state == "all":
        return list(selectors.shop_tasks(shop=shop)[:100])
    return list(selectors.open_tasks(shop=shop)[:100])


@router.get("/mine/entries", response=list[CrowdEntryOut])
@paginate(CursorPagination, ordering=("-created_at",))
def my_entries(request):
    return selectors.my_entries(user=request.user)


# --- merchants (fixed paths before /{task_id}) --------------------------------------------------


@router.get("/console", response=list[CrowdMerchantTaskOut])
@paginate(CursorPagination, ordering=("-created_at",))
def console_tasks(request):
    return selectors.shop_tasks(shop=_my_shop(request.user))


@router.post("/console", response={201: CrowdMerchantTaskOut})
@money_endpoint
def publish_task(request, payload: CrowdTaskIn):
    """Post a task; a money reward is reserved from the shop's available balance at once."""
    fields = payload.dict()
    task = services.publish_task(
        actor=request.user,
        shop=_my_shop(request.user),
        coupon_public_id=fields.pop("coupon"),
        **fields,
    )
    return Status(201, selectors.owned_task(public_id=task.public_id, actor=request.user))


@router.get("/console/{task_id}", response=CrowdMerchantTaskOut)
def console_task(request, task_id: str):
    return selectors.owned_task(public_id=task_id, actor=request.user)


@router.get("/console/{task_id}/entries", response=list[CrowdMerchantEntryOut])
def console_entries(request, task_id: str):
    task = selectors.owned_task(public_id=task_id, actor=request.user)
    return list(selectors.task_entries(task=task))


@router.post("/console/{task_id}/winners", response={201: CrowdWinnerOut})
@money_endpoint
def pick_winner(request, task_id: str, payload: CrowdPickIn):
    """Pick an entry; its reward is given once (a retry answers the same winner)."""
    task = selectors.owned_task(public_id=task_id, actor=request.user)
    winner = services.pick_winner(actor=request.user, task=task, entry_public_id=payload.entry)
    return Status(201, winner)


@router.post("/console/{task_id}/cancel", response=CrowdMerchantTaskOut)
@money_endpoint
def cancel_task(request, task_id: str):
    task = selectors.owned_task(public_id=task_id, actor=request.user)
    services.cancel_task(actor=request.user, task=task)
    return selectors.owned_task(public_id=task_id, actor=request.user)


# --- any task -----------------------------------------------------------------------------------


@router.get("/{task_id}", response=CrowdTaskOut, auth=optional_auth)
def get_task(request, task_id: str):
    return selectors.visible_task(public_id=task_id, viewer=request.user)


@router.get("/{task_id}/winners", response=list[CrowdWinnerOut], auth=optional_auth)
def task_winners(request, task_id: str):
    task = selectors.visible_task(public_id=task_id, viewer=request.user)
    return list(selectors.task_winners(task=task))


@router.post("/{task_id}/entries", response={201: CrowdEntryOut})
def submit_entry(request, task_id: str, payload: CrowdEntryIn):
    """Enter a task (text; a photo is added on the page, multipart)."""
    task = selectors.visible_task(public_id=task_id, viewer=request.user)
    entry = services.submit_entry(task=task, author=request.user, text=payload.text)
    return Status(201, entry)
