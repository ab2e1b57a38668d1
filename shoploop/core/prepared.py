"""Querysets compiled once, for the few hot paths where the ORM's work per call costs more than
the statement itself.

Building and compiling even a one-table ``filter().values_list()`` costs about 0.4 ms of CPU;
the round trip to PostgreSQL for the same indexed read costs about 0.2 ms. A ``PreparedQuery``
builds its queryset once per database alias with a placeholder for the one value that changes,
keeps the SQL and parameters Django compiled, and from then on only executes them. The SQL is
still written by Django from the models, so it follows the schema; what is given up is what
happens after a row is read, so a prepared query returns plain tuples and suits only columns
the database driver already returns as Python values (integers, text), not ones Django converts
(booleans and decimals on SQLite, JSON, dates there).
"""

from collections.abc import Callable
from threading import Lock

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

# A parameter no real value can equal: it marks where the value of each call goes.
PLACEHOLDER = "\x00prepared-parameter\x00"


class PreparedQuery:
    def __init__(self, build: Callable[[str], QuerySet]):
        """``build(value)`` returns the queryset for one value; it is called once per database
        alias, with ``PLACEHOLDER``, and must use the value exactly once as a parameter."""
        self._build = build
        self._compiled: dict[str, tuple[str, tuple]] = {}
        self._lock = Lock()

    def _sql(self, alias: str) -> tuple[str, tuple]:
        compiled = self._compiled.get(alias)
        if compiled is None:
            with self._lock:
                query = self._build(PLACEHOLDER).query
                sql, params = query.get_compiler(using=alias).as_sql()
                if sum(1 for param in params if param == PLACEHOLDER) != 1:
                    raise ValueError("a prepared query takes its value exactly once")
                compiled = self._compiled[alias] = (sql, tuple(params))
        return compiled

    def rows(self, value: str, *, using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
        sql, params = self._sql(using)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, [value if param == PLACEHOLDER else param for param in params])
            return cursor.fetchall()

    def first(self, value: str, *, using: str = DEFAULT_DB_ALIAS) -> tuple | None:
        """The first row (build the queryset with ``[:1]`` so the database stops there)."""
        found = self.rows(value, using=using)
        return found[0] if found else None
