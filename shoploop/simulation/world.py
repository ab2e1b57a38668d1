"""The demo world: one seeded community economy, played day by day through the services.

Design (the parameters live in ``WorldParameters`` and are written to var/world.json; they
are the ground truth that the insights app must recover):

* Themes. Twelve interest themes (露营/户外, 咖啡, 母婴, 宠物, 烘焙, 读书, 健身, 数码,
  茶, 汉服, 花艺, 手作), each with tags, community names, shop names and product
  templates (titles, option axes such as 颜色/尺码/口味, price ranges in fen).
  Popularity is Zipf-like in that order (``theme_zipf_exponent``).
* People. ``users`` people; ~90 % get Faker zh_CN names, ``english_name_share`` en_US
  names. Each has 1–3 distinct interests drawn by theme popularity.
  ``early_adopter_share`` sign up on day 0, the rest uniformly over the following days.
  Phone numbers are +86 mobiles derived from the person's index by a seeded bijection, so
  they are unique and stable for a seed. One extra operator (staff) account reviews shops.
* Communities. ``community_count`` communities, spread over themes by popularity (at least
  one each), founded in the first ``founding_period_share`` of the days by an owner who
  shares the theme. Visibility by ``visibility_shares`` (the first three are public,
  approval and invite so every kind exists). People join by interest; joins to approval
  communities are requests the owner approves at ``request_approval_rate``; invite-only
  communities are joined through an invite link the owner made. Owners promote one
  moderator per ``members_per_moderator`` members. On the last day
  ``archived_communities`` are archived and ``dissolved_communities`` dissolved.
* Social graph. Each person makes on average ``follows_per_user_mean`` follows, half on
  sign-up day. A target is sought in a shared community, a shared theme or anywhere
  (``follow_source_shares``: homophily), then picked with preferential attachment
  (probability ∝ followers + 1). A few people (``block_share``) block someone.
* Merchants. ``merchant_count`` people apply for a shop in their first interest; the
  operator approves ``shop_approval_rate`` of them the next day (the rest are rejected).
  Approved merchants publish ``products_per_shop`` products from their theme's templates,
  each with 1–4 SKUs, and list their shop and products in the communities of that theme
  they belong to.
* Money (activities/coupons.py, orders.py, payouts.py). Shops create ``coupons_per_shop``
  coupons (fixed or percentage) once their first products are on sale; interested people
  claim them. Each day a person checks out with probability ``purchase_propensity`` (+ a
  share per community joined), filling the cart from offers of their communities, their
  interests or anywhere (``purchase_source_shares``), using a held coupon at
  ``coupon_use_rate``. In the sandbox
  cashier they approve, decline or never pay (``payment_outcome_shares``; the reservation
  then expires at the day's ``settle_due``). Merchants ship a day or two later; buyers cancel
  a few paid orders first, confirm receipt (or it is auto-received), ask for a few
  after-sales (accepted, rejected, escalated, decided by the operator). ``settle_due`` runs at
  the end of every day with the clock at 23:59:59, so orders complete and payouts settle as
  in production. Merchants withdraw part of their available balance.

Determinism: one ``random.Random(seed)`` is threaded through everything (Faker instances are
seeded from it); nothing reads the global random. Activities plan first (no database) and
then play each day in a fixed order, inside ``clock.frozen_at`` so every timestamp falls on
its simulated day; a batch commits under its last call's moment, so what runs after the
commit (event subscribers, the sandbox's callbacks, refunds) is on the simulated clock too.
New behaviours are new ``Activity`` subclasses appended to
``DEFAULT_ACTIVITIES``.
"""

from __future__ import annotations

import random
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from faker import Faker

from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.errors import DomainError
from shoploop.simulation.parameters import WorldParameters
from shoploop.simulation.themes import THEMES

# Simulated activity happens between 07:00 and 23:00 of each day (in the project's time zone).
DAY_STARTS_AT = timedelta(hours=7)
DAY_LENGTH = timedelta(hours=16)
# Service calls share one transaction per batch: far fewer commits, and a refused call only rolls
# back its own savepoint.
CALLS_PER_TRANSACTION = 200
USER_CACHE_SIZE = 4096
# Where a shop's campaigns find their customers, and how often to draw before giving up.
CUSTOMER_SOURCES = ("community", "theme", "anyone")
CUSTOMER_PICK_TRIES = 4

# A multiplier coprime to 10^8 makes index → phone suffix a bijection (no duplicates, no lookups).
_PHONE_MULTIPLIER = 48_271_009
_PHONE_SPACE = 100_000_000
_MOBILE_PREFIXES = ("138", "139", "137", "136", "150", "151", "158", "186", "188", "177")


@dataclass(slots=True)
class Person:
    index: int
    phone: str
    name: str
    locale: str
    interests: tuple[int, ...]  # theme indices
    join_day: int
    user_id: int | None = None  # set once the accounts service created the user


@dataclass(slots=True)
class CommunityPlan:
    index: int
    theme: int
    name: str
    visibility: str
    owner: int  # person index
    founding_day: int
    community: Any = None  # the Community once created
    invite_code: str | None = None
    invite_day: int = 0
    fate: str = "active"  # active | archived | dissolved
    planned_members: int = 0
    members: list[int] = field(default_factory=list)  # person indices, in join order
    moderators: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ShopPlan:
    owner: int  # person index
    theme: int
    name: str
    apply_day: int
    approved: bool
    products: int  # how many it will publish
    shop: Any = None  # the Shop once applied for
    listed: list[int] = field(default_factory=list)  # community plan indices
    products_made: int = 0
    coupons_made: bool = False
    offers: list[int] = field(default_factory=list)  # world.offers indices on sale


@dataclass(slots=True)
class Offer:
    """One SKU on sale, as a buyer finds it (the simulator keeps its price: checkout decides)."""

    shop: int  # shop plan index
    theme: int
    sku_public_id: str
    price_fen: int


@dataclass(slots=True)
class HeldCoupon:
    """A coupon claim a person holds and has not used yet."""

    claim_public_id: str
    min_spend_fen: int


class World:
    """State shared by the activities: the seeded randomness, people, communities and shops."""

    def __init__(self, params: WorldParameters, *, start: datetime, progress=None):
        if timezone.is_naive(start):
            raise ValueError("the world's start must be an aware datetime")
        self.params = params
        self.rng = random.Random(params.seed)
        self.faker_zh = Faker("zh_CN")
        self.faker_zh.seed_instance(self.rng.getrandbits(64))
        self.faker_en = Faker("en_US")
        self.faker_en.seed_instance(self.rng.getrandbits(64))
        self.start = start
        # The progress bar (tqdm or None) advances one step per activity per day; the number of
        # service calls cannot be known before the world plays, so it is shown beside the bar.
        self.progress = progress
        self.calls = 0
        self.people: list[Person] = []
        self.operator: Person | None = None
        self.communities: list[CommunityPlan] = []
        self.shops: list[ShopPlan] = []
        self.merchants: list[int] = []  # person indices who will apply for a shop
        # Who is here, for picking people: each signed-up person once, plus once more per follower
        # gained, so a uniform pick is preferential attachment (∝ followers + 1).
        self.pool_all: list[int] = []
        self.pool_by_theme: list[list[int]] = [[] for _ in THEMES]
        self.memberships: dict[int, list[int]] = {}  # person → community plan indices (active)
        self.planned_joins: Counter[int] = Counter()  # person → communities they will try to join
        self.communities_by_theme: list[list[int]] = [[] for _ in THEMES]
        self.theme_has_tags = [False for _ in THEMES]  # tags exist once a community used them
        self.pending_requests: list[tuple[int, int]] = []  # (person, community plan) to review
        self.pending_shops: list[int] = []  # shop plan indices waiting for the operator
        self.approved_shops: list[int] = []
        self.demo_logins: dict[str, int] = {}  # role → person index
        # What is on sale: every offer, and the same indices by theme and by community listed in.
        self.offers: list[Offer] = []
        self.offers_by_theme: list[list[int]] = [[] for _ in THEMES]
        self.offers_by_community: dict[int, list[int]] = {}
        self.held_coupons: dict[tuple[int, int], list[HeldCoupon]] = {}  # (person, shop) → claims
        self.coupons: list[Any] = []  # activities.coupons.CouponPlan, in creation order
        self.shop_index_by_pk: dict[int, int] = {}  # Shop primary key → shop plan index
        # Follow-ups due on a later day ("ship", "confirm", …): kind → day → items.
        self._agenda: dict[str, dict[int, list[Any]]] = {}
        self.outcomes: Counter[str] = Counter()
        self.current_activity = "world"
        self._phone_offset = self.rng.randrange(_PHONE_SPACE)
        self._slice: tuple[datetime, timedelta] = (start + DAY_STARTS_AT, DAY_LENGTH)
        self._users: OrderedDict[int, Any] = OrderedDict()
        self._batch = None
        self._calls_in_batch = 0
        self._last_moment: datetime | None = None
        # Told of every order that became paid (the sharing activity, for loop truth).
        self.on_orders_paid: Callable[[list[str], datetime | None], None] | None = None

    # -- identities -------------------------------------------------------------------------
    def phone_for(self, index: int) -> str:
        suffix = (index * _PHONE_MULTIPLIER + self._phone_offset) % _PHONE_SPACE
        prefix = _MOBILE_PREFIXES[index % len(_MOBILE_PREFIXES)]
        return f"+86{prefix}{suffix:08d}"

    def theme_of(self, index: int):
        return THEMES[index]

    # -- time -------------------------------------------------------------------------------
    def day_start(self, day: int) -> datetime:
        return self.start + timedelta(days=day)

    def day_end(self, day: int) -> datetime:
        """The last second of ``day``: when the scheduler settles the day's deadlines."""
        return self.day_start(day + 1) - timedelta(seconds=1)

    def set_slice(self, day: int, position: int, count: int) -> None:
        """Give the running activity its share of the day, so activities of a day stay in order."""
        length = DAY_LENGTH / count
        self._slice = (self.day_start(day) + DAY_STARTS_AT + length * position, length)

    def moments(self, count: int, *, rng: random.Random | None = None) -> list[datetime]:
        """``count`` sorted moments inside the running activity's slice of the day (drawn from
        ``rng`` when an activity keeps its own generator)."""
        begin, length = self._slice
        seconds = length.total_seconds()
        rng = rng or self.rng
        offsets = sorted(rng.random() * seconds for _ in range(count))
        return [begin + timedelta(seconds=offset) for offset in offsets]

    # -- users ------------------------------------------------------------------------------
    def user(self, person_index: int):
        """The User row of a person (bounded cache: memory stays flat at any scale)."""
        person = self.person(person_index)
        if person.user_id is None:
            raise LookupError(f"person {person_index} has not signed up")
        cached = self._users.get(person.user_id)
        if cached is not None:
            self._users.move_to_end(person.user_id)
            return cached
        found = get_user_model().objects.get(pk=person.user_id)
        self._users[person.user_id] = found
        if len(self._users) > USER_CACHE_SIZE:
            self._users.popitem(last=False)
        return found

    def person(self, index: int) -> Person:
        if index == -1:
            assert self.operator is not None
            return self.operator
        return self.people[index]

    def forget_user(self, person_index: int) -> None:
        user_id = self.person(person_index).user_id
        self._users.pop(user_id, None)

    # -- who is around -----------------------------------------------------------------------
    def arrived(self, person: Person) -> None:
        self.pool_all.append(person.index)
        for theme in person.interests:
            self.pool_by_theme[theme].append(person.index)

    def followed(self, person_index: int) -> None:
        self.pool_all.append(person_index)
        for theme in self.people[person_index].interests:
            self.pool_by_theme[theme].append(person_index)

    def joined(self, person_index: int, community: CommunityPlan) -> None:
        community.members.append(person_index)
        self.memberships.setdefault(person_index, []).append(community.index)

    def candidate_from(self, source: str, person_index: int) -> int | None:
        """Someone signed up, found in a shared community, a shared theme or anywhere."""
        rng = self.rng
        if source == "community":
            joined = self.memberships.get(person_index)
            if not joined:
                return None
            return rng.choice(self.communities[rng.choice(joined)].members)
        if source == "theme":
            interests = self.people[person_index].interests
            pool = self.pool_by_theme[rng.choice(interests)] if interests else None
            return rng.choice(pool) if pool else None
        return rng.choice(self.pool_all) if self.pool_all else None

    def shop_customer(self, shop_index: int, *, exclude: set[int]) -> int | None:
        """Someone who might buy from this shop: a member of a community it is listed in, someone
        who shares its theme, or anyone; never its owner nor anyone in ``exclude``."""
        rng, shop = self.rng, self.shops[shop_index]
        for _ in range(CUSTOMER_PICK_TRIES):
            source = rng.choice(CUSTOMER_SOURCES)
            if source == "community" and shop.listed:
                members = self.communities[rng.choice(shop.listed)].members
                candidate = rng.choice(members) if members else None
            elif source == "theme":
                pool = self.pool_by_theme[shop.theme]
                candidate = rng.choice(pool) if pool else None
            else:
                candidate = rng.choice(self.pool_all) if self.pool_all else None
            if candidate is not None and candidate != shop.owner and candidate not in exclude:
                return candidate
        return None

    # -- calling services -------------------------------------------------------------------
    def call(self, service: Callable[..., Any], /, *, at: datetime, outcome: str, **kwargs) -> Any:
        """Call one service at a simulated moment; a DomainError is a refused action, not a crash.

        Returns the service's result, or None when the service refused.
        """
        self._open_batch()
        self._last_moment = at
        try:
            with clock.frozen_at(at):
                result = service(**kwargs)
        except DomainError as refused:
            self.outcomes[f"{outcome}.refused.{refused.code}"] += 1
            result = None
        except BaseException:
            self._close_batch(failed=True)
            raise
        else:
            self.outcomes[outcome] += 1
        self._tick()
        return result

    def step_done(self) -> None:
        """One activity finished its share of one day (engine.play_world calls this)."""
        if self.progress is not None:
            self.progress.set_postfix_str(f"{self.calls} calls", refresh=False)
            self.progress.update(1)

    def _open_batch(self) -> None:
        if self._batch is None:
            self._batch = transaction.atomic()
            self._batch.__enter__()
            self._calls_in_batch = 0

    def _tick(self) -> None:
        self._calls_in_batch += 1
        self.calls += 1
        if self._calls_in_batch >= CALLS_PER_TRANSACTION:
            self._close_batch()

    def _close_batch(self, *, failed: bool = False) -> None:
        batch, self._batch = self._batch, None
        if batch is None:
            return
        # What runs after the commit (event subscribers, the sandbox's callbacks, refunds sent to
        # the provider) happens at the batch's last simulated moment, not at the wall clock's.
        moment = self._last_moment
        with clock.frozen_at(moment) if moment is not None else nullcontext():
            if failed:
                batch.__exit__(RuntimeError, RuntimeError("simulation step failed"), None)
            else:
                batch.__exit__(None, None, None)

    def flush(self) -> None:
        """Commit the open batch (the end of each day, and before reading what services wrote)."""
        self._close_batch()

    def settle_deadlines(self, *, at: datetime) -> dict[str, int]:
        """Run ``settle_due`` as production's scheduler would: outside any batch (each handler
        commits its own small transactions), with the clock at ``at``."""
        self.flush()
        with clock.frozen_at(at):
            settled = settle_due(at)
        for name, count in settled.items():
            if count < 0:
                self.outcomes[f"deadline.{name}.failed"] += 1
            elif count:
                self.outcomes[f"deadline.{name}"] += count
        return settled

    # -- purchases --------------------------------------------------------------------------
    def orders_paid(self, order_public_ids: Iterable[str], *, at: datetime | None = None) -> None:
        """Orders that became paid, at ``at`` (else at their ``paid_at``): every activity that
        buys says so, so loop truth can count the purchases links brought by insights' rule."""
        if self.on_orders_paid is not None:
            self.on_orders_paid(list(order_public_ids), at)

    # -- follow-ups --------------------------------------------------------------------------
    def schedule(self, kind: str, day: int, item: Any) -> None:
        """Remember ``item`` for the activity that handles ``kind`` on ``day`` (if in the world)."""
        if day < self.params.days:
            self._agenda.setdefault(kind, {}).setdefault(day, []).append(item)

    def due(self, kind: str, day: int) -> list[Any]:
        """The items of ``kind`` due on ``day``, in the order they were scheduled (once)."""
        return self._agenda.get(kind, {}).pop(day, [])

    # -- what is on sale ---------------------------------------------------------------------
    def add_offer(self, offer: Offer, *, communities: list[int]) -> None:
        index = len(self.offers)
        self.offers.append(offer)
        self.shops[offer.shop].offers.append(index)
        self.offers_by_theme[offer.theme].append(index)
        for community in communities:
            self.offers_by_community.setdefault(community, []).append(index)

    @contextmanager
    def activity(self, name: str) -> Iterator[None]:
        previous, self.current_activity = self.current_activity, name
        try:
            yield
        finally:
            self.current_activity = previous

    # -- randomness helpers -----------------------------------------------------------------
    def geometric(self, mean: float) -> int:
        """A count ≥ 0 with the given mean (number of failures before a success)."""
        if mean <= 0:
            return 0
        success = 1.0 / (1.0 + mean)
        count = 0
        while self.rng.random() > success:
            count += 1
        return count

    def weighted_choice(self, items, weights):
        return self.rng.choices(items, weights=weights, k=1)[0]
