"""One rollup batch: the events' facts gathered in memory, written in a few statements.

Projections the ingestors look up (links, products, memberships, first purchases, recent link
visits) are loaded once for the batch's people and codes (``prefetch``), kept current in memory
while the events are read in id order, and written at the end (``flush``). Counters are
additive upserts (``INSERT … ON CONFLICT … DO UPDATE SET value = value + excluded.value``) and
person facts are ``INSERT … ON CONFLICT DO NOTHING RETURNING``, so only people new in a week
add to its distinct count. ``services.roll_up`` runs the batch and moves the cursor in the same
transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from shoploop.insights.ingest import PLATFORM, community_scope, shop_scope
from shoploop.insights.models import (
    FirstPurchase,
    KnownLink,
    KnownProduct,
    LinkVisit,
    Member,
)

ROWS_PER_STATEMENT = 1000
# PostgreSQL takes a batch's rows as one array per column (``unnest``): no limit on placeholders.
ROWS_PER_ARRAY_STATEMENT = 20_000
# Joins a column's values into one text (``_columns``): the ASCII unit separator, in no id,
# scope or key.
SEPARATOR = chr(31)
# The PostgreSQL types of the columns ``_upsert_add`` writes, in its column order.
COLUMN_TYPES = {
    "insights_tally": ("text", "timestamptz", "text", "text", "bigint"),
    "insights_weeklydistinct": ("text", "date", "text", "bigint"),
}


@dataclass(frozen=True)
class Event:
    id: int
    name: str
    payload: dict[str, Any]
    occurred_at: datetime


def week_start(moment: datetime) -> date:
    """The Monday (local time) of ``moment``'s week."""
    day = timezone.localtime(moment).date()
    return day - timedelta(days=day.weekday())


def day_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def hour_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def attribution_window() -> timedelta:
    """How long after opening a product link buying that product counts as a purchase the link
    brought (``INSIGHTS_LINK_PURCHASE_HOURS``, 24): link conversion, narrower than the
    referrals app's 7-day attribution of any order (counted apart, as ``share_purchases``)."""
    return timedelta(hours=settings.INSIGHTS_LINK_PURCHASE_HOURS)


class Batch:
    def __init__(self, events: list[Event]):
        self.tallies: dict[tuple[str, datetime, str, str], int] = defaultdict(int)
        self.people: set[tuple[str, date, str, str]] = set()
        self.members: dict[str, set[str]] = {}
        self.member_changes: dict[tuple[str, str], bool] = {}
        self.products: dict[str, tuple[str, str]] = {}
        self.new_products: dict[str, tuple[str, str]] = {}
        self.links: dict[str, KnownLink] = {}
        self.new_links: dict[str, KnownLink] = {}
        self.firsts: dict[str, dict[str, tuple[date, str]]] = defaultdict(dict)
        self.new_firsts: list[FirstPurchase] = []
        self.visits: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
        self.new_visits: list[LinkVisit] = []
        self._buckets: dict[datetime, tuple[datetime, datetime, date]] = {}
        self._prefetch(events)

    # ---- loading -------------------------------------------------------------------------------

    def _prefetch(self, events: list[Event]) -> None:
        buyers, codes, products = set(), set(), set()
        for event in events:
            payload = event.payload
            if buyer := payload.get("buyer_public_id"):
                buyers.add(buyer)
            if code := payload.get("link_public_id"):
                codes.add(code)
            if event.name == "referrals.link.created":
                products.add(payload.get("target_public_id", ""))
        self.members = {buyer: set() for buyer in buyers}
        for person, community in Member.objects.filter(person__in=buyers).values_list(
            "person", "community"
        ):
            self.members[person].add(community)
        for row in FirstPurchase.objects.filter(person__in=buyers):
            self.firsts[row.person][row.scope] = (row.week, row.order)
        since = min((e.occurred_at for e in events), default=timezone.now())
        for visit in LinkVisit.objects.filter(
            visitor__in=buyers, at__gte=since - attribution_window()
        ).order_by("at", "pk"):
            self.visits[(visit.visitor, visit.product)].append((visit.at, visit.link))
            codes.add(visit.link)
        self.links = {link.code: link for link in KnownLink.objects.filter(code__in=codes)}
        self.products = {
            pk: (shop, category)
            for pk, shop, category in KnownProduct.objects.filter(
                public_id__in=products
            ).values_list("public_id", "shop", "category")
        }

    # ---- what ingestors call -------------------------------------------------------------------

    def buckets(self, event: Event) -> tuple[datetime, datetime, date]:
        """(hour, local day, week) of the event, computed once per moment."""
        moment = event.occurred_at
        found = self._buckets.get(moment)
        if found is None:
            found = self._buckets[moment] = (
                hour_start(moment),
                day_start(moment),
                week_start(moment),
            )
        return found

    def week_of(self, event: Event) -> date:
        return self.buckets(event)[2]

    def count(self, event: Event, scopes, metric: str, amount: int = 1) -> None:
        if not amount:
            return
        hour, day, _week = self.buckets(event)
        for scope in scopes:
            self.tallies[("h", hour, scope, metric)] += amount
            self.tallies[("d", day, scope, metric)] += amount

    def person(self, event: Event, scope: str, key: str, person: str | None) -> None:
        if person:
            self.people.add((scope, self.week_of(event), key, person))

    def stage(self, event: Event, scopes, stage: str | None, metric: str, person) -> None:
        """Count ``metric`` in every scope; the person did ``metric`` (and is in ``stage``)."""
        self.count(event, scopes, metric)
        for scope in scopes:
            self.person(event, scope, metric, person)
            if stage:
                self.person(event, scope, stage, person)

    def join(self, community: str, person: str) -> None:
        self.member_changes[(community, person)] = True
        if person in self.members:
            self.members[person].add(community)

    def leave(self, community: str, person: str) -> None:
        self.member_changes[(community, person)] = False
        if person in self.members:
            self.members[person].discard(community)

    def communities_of(self, person: str) -> set[str]:
        return self.members.get(person, set())

    def first_purchase(self, scope: str, person: str, *, week: date, order: str):
        """The buyer's first (week, order) in ``scope``; this one if they had none."""
        known = self.firsts[person]
        if scope not in known:
            known[scope] = (week, order)
            self.new_firsts.append(
                FirstPurchase(scope=scope, person=person, week=week, order=order)
            )
        return known[scope]

    def scopes_first_bought_with(self, person: str, order: str) -> list[str]:
        return sorted(scope for scope, (_w, first) in self.firsts[person].items() if first == order)

    def add_product(self, payload: dict) -> None:
        entry = (payload.get("shop_public_id", ""), payload.get("category") or "other")
        self.products[payload["product_public_id"]] = entry
        self.new_products[payload["product_public_id"]] = entry

    def add_link(self, payload: dict) -> KnownLink:
        product = payload.get("target_public_id", "") if payload.get("kind") == "product" else ""
        link = KnownLink(
            code=payload["link_public_id"],
            sharer=payload.get("sharer_public_id", ""),
            community=payload.get("community_public_id") or "",
            shop=self.products.get(product, ("", ""))[0],
            product=product,
        )
        self.links[link.code] = link
        self.new_links[link.code] = link
        return link

    def link(self, code: str) -> KnownLink | None:
        return self.links.get(code)

    @staticmethod
    def link_scopes(link: KnownLink) -> list[str]:
        scopes = [PLATFORM]
        if link.shop:
            scopes.append(shop_scope(link.shop))
        if link.community:
            scopes.append(community_scope(link.community))
        return scopes

    def add_visit(self, *, visitor: str, link: KnownLink, at: datetime) -> None:
        self.visits[(visitor, link.product)].append((at, link.code))
        self.new_visits.append(
            LinkVisit(visitor=visitor, product=link.product, link=link.code, at=at)
        )

    def visited_link(self, visitor: str, product: str, at: datetime) -> KnownLink | None:
        """The last link to ``product`` the visitor opened within the window before ``at``."""
        earliest = at - attribution_window()
        for visited_at, code in reversed(self.visits.get((visitor, product), ())):
            if earliest <= visited_at <= at:
                return self.links.get(code)
        return None

    # ---- writing -------------------------------------------------------------------------------

    def flush(self) -> None:
        self._write_tallies()
        self._write_people()
        self._write_projections()

    def _write_tallies(self) -> None:
        ops = connection.ops
        rows = [
            (grain, ops.adapt_datetimefield_value(start), scope, metric, value)
            for (grain, start, scope, metric), value in self.tallies.items()
        ]
        _upsert_add(
            "insights_tally",
            ("grain", "start", "scope", "metric", "value"),
            ("grain", "scope", "start", "metric"),
            rows,
        )

    def _write_people(self) -> None:
        """Insert the person facts; each one new in its week adds one to the week's distinct
        count of its key (a fact already stored, from an earlier batch, adds nothing)."""
        ops = connection.ops
        rows = sorted(
            (scope, ops.adapt_datefield_value(week), key, person)
            for scope, week, key, person in self.people
        )
        if connection.vendor == "postgresql":
            _write_people_postgresql(rows)
            return
        added: dict[tuple, int] = defaultdict(int)
        with connection.cursor() as cursor:
            for chunk in _chunks(rows):
                values = ",".join(["(%s, %s, %s, %s)"] * len(chunk))
                cursor.execute(
                    'INSERT INTO insights_weeklyperson (scope, week, "key", person) '
                    f'VALUES {values} ON CONFLICT (scope, week, "key", person) DO NOTHING '
                    'RETURNING scope, week, "key"',
                    [value for row in chunk for value in row],
                )
                for scope, week, key in cursor.fetchall():
                    added[(scope, ops.adapt_datefield_value(_as_date(week)), key)] += 1
        _upsert_add(
            "insights_weeklydistinct",
            ("scope", "week", "key", "value"),
            ("scope", "week", "key"),
            [(*key, value) for key, value in added.items()],
        )

    def _write_projections(self) -> None:
        joined = [(c, p) for (c, p), member in self.member_changes.items() if member]
        left = [(c, p) for (c, p), member in self.member_changes.items() if not member]
        for community, person in left:
            Member.objects.filter(community=community, person=person).delete()
        Member.objects.bulk_create(
            [Member(community=c, person=p) for c, p in joined], ignore_conflicts=True
        )
        KnownProduct.objects.bulk_create(
            [
                KnownProduct(public_id=pk, shop=s, category=c)
                for pk, (s, c) in self.new_products.items()
            ],
            update_conflicts=True,
            unique_fields=["public_id"],
            update_fields=["shop", "category"],
        )
        KnownLink.objects.bulk_create(list(self.new_links.values()), ignore_conflicts=True)
        FirstPurchase.objects.bulk_create(self.new_firsts, ignore_conflicts=True)
        LinkVisit.objects.bulk_create(self.new_visits)


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _chunks(rows: list, size: int = ROWS_PER_STATEMENT) -> list[list]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _columns(rows: list[tuple], width: int) -> list[str]:
    """The rows as ``width`` texts, one per column, each value after a ``SEPARATOR``: what
    ``_unnest`` splits back into rows. One text per column because psycopg turns a Python list
    into an array parameter value by value in Python, as slowly as the placeholders it
    replaced; a joined text is encoded at once. Dates, times and numbers are written once per
    distinct value (a batch has few hours, days and weeks)."""
    columns = zip(*rows, strict=True) if rows else [()] * width
    texts = [SEPARATOR + SEPARATOR.join(_texts(column)) for column in columns]
    if any(text.count(SEPARATOR) != len(rows) for text in texts):
        raise ValueError("a value contains the column separator")
    return texts


def _texts(column: tuple) -> tuple | list:
    if not column or isinstance(column[0], str):
        return column
    written = {value: _text(value) for value in set(column)}
    return [written[value] for value in column]


def _text(value) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def _unnest(types: tuple[str, ...]) -> str:
    """``unnest(…::text[], …)``: a batch of rows as one text per column (see ``_columns``).
    Each value follows a separator and the empty first element is dropped (``[2:]``), so one
    empty value is one row, not none."""
    split = "(string_to_array(%s, chr(31)))[2:]"
    return "unnest(" + ", ".join(f"{split}::{kind}[]" for kind in types) + ")"


def _write_people_postgresql(rows: list[tuple]) -> None:
    """One statement per chunk inserts the facts and adds the new ones to the distinct counts,
    with the rows as column arrays: the query text stays the same whatever the batch size
    (psycopg parses a query with thousands of placeholders anew each time: it was most of the
    rollup's CPU) and the new facts never travel back to Python."""
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, ROWS_PER_ARRAY_STATEMENT):
            cursor.execute(
                "WITH added AS ("
                ' INSERT INTO insights_weeklyperson (scope, week, "key", person)'
                f" SELECT * FROM {_unnest(('text', 'date', 'text', 'text'))}"
                ' ON CONFLICT (scope, week, "key", person) DO NOTHING'
                ' RETURNING scope, week, "key")'
                ' INSERT INTO insights_weeklydistinct (scope, week, "key", value)'
                ' SELECT scope, week, "key", count(*) FROM added GROUP BY scope, week, "key"'
                ' ORDER BY scope, week, "key"'
                ' ON CONFLICT (scope, week, "key") DO UPDATE'
                " SET value = insights_weeklydistinct.value + excluded.value",
                _columns(chunk, 4),
            )


def _upsert_add(table: str, columns: tuple, key: tuple, rows: list[tuple]) -> None:
    """Add each row's last column to the stored value (insert when new). Sorted, so two
    writers take the rows' locks in the same order."""
    if not rows:
        return
    rows = sorted(rows)
    if connection.vendor == "postgresql":
        _upsert_add_arrays(table, columns, key, rows)
        return
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for chunk in _chunks(rows):
            cursor.execute(
                _upsert_sql(table, columns, key, f"VALUES {','.join([placeholders] * len(chunk))}"),
                [item for row in chunk for item in row],
            )


def _upsert_add_arrays(table: str, columns: tuple, key: tuple, rows: list[tuple]) -> None:
    """PostgreSQL: the rows as one array per column (see ``_write_people_postgresql``)."""
    sql = _upsert_sql(table, columns, key, f"SELECT * FROM {_unnest(COLUMN_TYPES[table])}")
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, ROWS_PER_ARRAY_STATEMENT):
            cursor.execute(sql, _columns(chunk, len(columns)))


def _upsert_sql(table: str, columns: tuple, key: tuple, source: str) -> str:
    quote = connection.ops.quote_name
    value = quote(columns[-1])
    return (
        f"INSERT INTO {table} ({', '.join(map(quote, columns))}) {source} "
        f"ON CONFLICT ({', '.join(map(quote, key))}) DO UPDATE "
        f"SET {value} = {table}.{value} + excluded.{value}"
    )
