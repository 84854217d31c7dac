"""Read queries of the dashboard's newer pages: a token's usage trace (from the tables `monitor` writes),
open-token problems grouped by owner, and deep inventory pages read by seeking from a remembered page start
(DashboardQueries). The handlers hold no SQL; this module and store/queries.py do."""

from __future__ import annotations

import json
import threading
import time
from bisect import bisect_right, insort
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, bindparam, case, func, inspect, literal, or_, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import operators

from tokenward.errors import StoreError
from tokenward.store import tables as t
from tokenward.store.engine import utc
from tokenward.store.inventory import TOKEN_COLUMNS, Inventory
from tokenward.store.queries import COUNT_TTL, MAX_PER_PAGE, Queries, TokenPage, TokenQuery
from tokenward.store.records import TokenRow

MAX_OWNERS = 500
SEVERITY_ORDER = tuple(t.SEVERITIES)
MARK_FROM = 1_000  # rows: a page starting nearer the top than this is read with a plain OFFSET (a short walk)
MARK_MIN_TOTAL = 10_000  # only listings this long remember where their rows are (shorter ones walk little anyway)
MARK_EVERY = 100  # rows between remembered sort keys: a page is read after a walk of fewer than this many
MARK_LISTINGS = 32  # listings (stamp, filters, sort) whose marks are kept, least recently used dropped
MARK_PER_LISTING = 4_096  # (a 10^5-token listing needs 1,000; a few MB per server process in all)


@dataclass(frozen=True)
class AlertMark:
    """One alert as the usage timeline marks it."""

    alert_id: str
    detector: str
    severity: str
    at: datetime
    last_at: datetime
    count: int


@dataclass(frozen=True)
class UsageTrace:
    """What usage monitoring recorded about one token: its baseline's span and counters, the actions it was
    used for (name, events, last seen), events per hour of the week, alerts, and granted/observed scopes."""

    first_at: datetime | None = None
    last_at: datetime | None = None
    events: int = 0
    errors: int = 0
    denied: int = 0
    actions: tuple[tuple[str, int, datetime | None], ...] = ()
    hours: tuple[int, ...] = ()
    alerts: tuple[AlertMark, ...] = ()
    granted: str | None = None  # comma-separated, as the monitor or an import recorded it
    observed_scopes: str | None = None  # the scopes header the provider's logs showed
    profile: Mapping[str, Any] = field(default_factory=dict)  # the raw baseline (scope advice reads it)

    @property
    def monitored(self) -> bool:
        """True when monitoring saw the token at all (an event or an alert)."""
        return bool(self.events or self.alerts)


@dataclass(frozen=True)
class OwnerProblems:
    """One owner's open tokens and how many of them break the dashboard's rules (owner None: unmapped)."""

    owner: str | None
    open: int
    leaked: int
    overdue: int
    critical: int
    high: int

    @property
    def problems(self) -> int:
        """Open tokens leaked or overdue (an unmapped owner is a problem in itself)."""
        return self.open if self.owner is None else max(self.leaked, self.overdue)


@contextmanager
def _read(inventory: Inventory, doing: str) -> Iterator[Connection]:
    try:
        with inventory.engine.connect() as conn:
            yield conn
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise StoreError(f"{doing} ({inventory}): {reason[0] if reason else type(exc).__name__}") from None


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(float(value), UTC) if isinstance(value, int | float) and value > 0 else None


def _actions(profile: Mapping[str, Any]) -> tuple[tuple[str, int, datetime | None], ...]:
    found = []
    for pair in profile.get("actions") or ():
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], list) and pair[1]:
            found.append((str(pair[0] if pair[0] is not None else "(none)"), int(pair[1][0]),
                          _epoch(pair[1][1] if len(pair[1]) > 1 else None)))
    return tuple(sorted(found, key=lambda a: (-a[1], a[0]))[:50])


def _trace(profile: Mapping[str, Any], alerts: tuple[AlertMark, ...], granted: str | None) -> UsageTrace:
    hours = profile.get("how") or ()
    return UsageTrace(_epoch(profile.get("first_at")), _epoch(profile.get("last_at")), int(profile.get("events") or 0),
                      int(profile.get("errors") or 0), int(profile.get("denied") or 0), _actions(profile),
                      tuple(int(h) for h in hours) if len(hours) == 168 else (), alerts, granted,
                      profile.get("scopes") if isinstance(profile.get("scopes"), str) else None, profile)


def usage_trace(inventory: Inventory, token_id: str, limit: int = 200) -> UsageTrace:
    """The token's usage trace (empty when monitoring never saw it or never ran on this inventory)."""
    a = t.usage_alert.c
    with _read(inventory, "reading the usage trace") as conn:
        if not inspect(conn).has_table("usage_profile"):
            return UsageTrace()
        data = conn.execute(select(t.usage_profile.c.data).where(t.usage_profile.c.token_id == token_id)).scalar()
        rows = conn.execute(select(a.alert_id, a.detector, a.severity, a.at, a.last_at, a.count)
                            .where(a.token_id == token_id).order_by(a.at).limit(limit))
        alerts = tuple(AlertMark(*r) for r in rows)
        granted = conn.execute(select(t.usage_token.c.granted).where(t.usage_token.c.token_id == token_id)).scalar()
    try:
        profile = json.loads(data) if data else {}
    except ValueError:
        profile = {}
    return _trace(profile if isinstance(profile, dict) else {}, alerts, granted)


def problems_by_owner(inventory: Inventory, now: datetime, overdue_days: int = 90) -> list[OwnerProblems]:
    """Open tokens per owner (unmapped first, then the owners with most problems), by the overview's rules:
    leaked = found in plaintext, overdue = expired or first seen longer ago than overdue_days."""
    tk = t.token.c

    def count(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    overdue = or_(tk.expires_at < now, tk.first_seen < now - timedelta(days=overdue_days))
    query = (select(tk.owner, func.count(), count(tk.occurrences > 0), count(overdue), count(tk.severity == "critical"),
                    count(tk.severity == "high"))
             .where(tk.status == "open").group_by(tk.owner).order_by(func.count().desc(), tk.owner).limit(MAX_OWNERS))
    with _read(inventory, "grouping tokens by owner") as conn:
        rows = [OwnerProblems(r[0], *(int(n) for n in r[1:])) for r in conn.execute(query)]
    return sorted(rows, key=lambda r: (r.owner is not None, -r.problems, -r.critical, r.owner or ""))


def owner_token_ids(inventory: Inventory, owner: str | None, limit: int = 500) -> list[str]:
    """The open tokens of owner (None: the unmapped ones), most severe first, at most limit."""
    tk = t.token.c
    rank = case({s: i for i, s in enumerate(SEVERITY_ORDER)}, value=tk.severity, else_=len(SEVERITY_ORDER))
    who = tk.owner.is_(None) if owner is None else tk.owner == owner
    query = (select(tk.token_id).where(and_(tk.status == "open", who))
             .order_by(rank, tk.last_seen.desc(), tk.token_id).limit(limit))
    with _read(inventory, "listing the owner's tokens") as conn:
        return [str(r) for r in conn.execute(query).scalars()]


class PageMarks:
    """Remembered rows per listing: row offset -> that row's sort key, for COUNT_TTL seconds at most (like
    the counts: owners set by `review` leave no change stamp). A seek from a key stays correct when rows
    change under it; only where the page breaks fall can shift until the listing is forgotten."""

    def __init__(self, listings: int = MARK_LISTINGS, ttl: float = COUNT_TTL) -> None:
        self.listings, self.ttl = listings, ttl
        self._found: OrderedDict[Any, tuple[float, list[int], dict[int, tuple[Any, ...]]]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many listings have rows remembered (expired ones included until dropped)."""
        return len(self._found)

    def nearest(self, listing: Any, offset: int) -> tuple[int, tuple[Any, ...] | None]:
        """The remembered row at or above offset (its offset, its key), or (0, None): the listing's top."""
        with self._lock:
            found = self._found.get(listing)
            if found is None or found[0] < time.monotonic():
                return 0, None
            self._found.move_to_end(listing)
            i = bisect_right(found[1], offset)
            return (0, None) if i == 0 else (found[1][i - 1], found[2][found[1][i - 1]])

    def add(self, listing: Any, offset: int, key: tuple[Any, ...]) -> None:
        """Remember the sort key of the row at offset."""
        with self._lock:
            found = self._found.get(listing)
            if found is None or found[0] < time.monotonic():
                found = self._found[listing] = (time.monotonic() + self.ttl, [], {})
                while len(self._found) > self.listings:
                    self._found.popitem(last=False)
            if offset not in found[2] and len(found[1]) < MARK_PER_LISTING:
                insort(found[1], offset)
                found[2][offset] = key


class DashboardQueries(Queries):
    """The dashboard's reads, with deep inventory pages of long listings read by seeking the sort index from
    the nearest remembered row (one every MARK_EVERY rows, kept as pages are read): an OFFSET walks every row
    before the page (10^5 rows: 5-10 ms on SQLite), a seek reads about the page alone once its neighbourhood
    has been visited. The rows come as the driver's tuples (Queries.tokens's per-column processing cost more
    than its query)."""

    def __init__(self, inventory: Inventory, overdue_days: int = 90, mark_from: int = MARK_FROM,
                 mark_min_total: int = MARK_MIN_TOTAL, mark_every: int = MARK_EVERY) -> None:
        super().__init__(inventory, overdue_days)
        self.mark_from, self.mark_min_total, self.mark_every = mark_from, mark_min_total, mark_every
        self.marks = PageMarks()

    def tokens(self, q: TokenQuery) -> TokenPage:
        """One page of the tokens matching q (the same rows and order as Queries.tokens)."""
        per_page, page = max(1, min(q.per_page, MAX_PER_PAGE)), max(1, q.page)
        offset = (page - 1) * per_page
        conds, order = self._conditions(q), self._order(q)
        with self._read("listing tokens") as conn:
            total = self._count(conn, q, conds)
            if offset < self.mark_from or total < self.mark_min_total:
                keys = _seek(conn, conds, order, None, offset, per_page)
            else:
                listing = (self._current_stamp(conn), replace(q, page=1, per_page=1))
                keys = self._marked(conn, listing, conds, order, offset, per_page)
            items = _rows(conn, [k[-1] for k in keys])
        return TokenPage(total, page, per_page, items)

    def _marked(self, conn: Connection, listing: Any, conds: list[ColumnElement[bool]], order: list[Any],
                offset: int, n: int) -> list[Row[Any]]:
        """The page's sort keys, sought from the nearest remembered row; the page's rows at a multiple of
        mark_every remembered."""
        start, key = self.marks.nearest(listing, offset)
        keys = _seek(conn, conds, order, key, offset - start, n)
        every = self.mark_every
        for at in range(-(-offset // every) * every, offset + len(keys), every):
            self.marks.add(listing, at, tuple(keys[at - offset]))
        return keys


def _seek(conn: Connection, conds: list[ColumnElement[bool]], order: list[Any], key: tuple[Any, ...] | None,
          skip: int, n: int) -> list[Row[Any]]:
    """Sort keys (token id last) of n rows, skip rows past key (None: the top) in the listing's order."""
    cols = [o.element for o in order]
    keys = select(*(c.label(f"k{i}") for i, c in enumerate(cols))).select_from(t.token)
    if key is None:
        return list(conn.execute(keys.where(*conds).order_by(*order).limit(n).offset(skip)))
    found: list[Row[Any]] = []
    for part in _at_or_after(cols, [o.modifier is operators.desc_op for o in order], key):
        got = list(conn.execute(keys.where(*conds, *part).order_by(*order).limit(n - len(found)).offset(skip)))
        if got:
            found, skip = found + got, 0
        elif skip:  # the skip outruns this part: what it holds counts against the skip
            skip -= conn.execute(select(func.count()).select_from(
                select(literal(1)).select_from(t.token).where(*conds, *part).limit(skip).subquery())).scalar_one()
        if len(found) == n:
            break
    return found


def _at_or_after(cols: Sequence[Any], desc: Sequence[bool], key: tuple[Any, ...]) -> Iterator[list[Any]]:
    """The rows at or after key in the listing's order as disjoint ranges, each one index seek, in that
    order: equal to key on the first j columns and past it on column j (j = the last, token id: at or past)."""
    last = len(cols) - 1
    for j in range(last, -1, -1):
        column, value = cols[j], key[j]
        if j == last:
            past = column <= value if desc[j] else column >= value
        else:
            past = column < value if desc[j] else column > value
        yield [*(cols[i] == key[i] for i in range(j)), past]


def _rows(conn: Connection, ids: list[str]) -> tuple[TokenRow, ...]:
    """The tokens of ids, in that order (the driver's own tuples: SQLAlchemy's per-column result processing
    cost more than the query)."""
    if not ids:
        return ()
    sql, names = _rows_sql(conn.dialect, len(ids))
    args: Any = tuple(ids) if names is None else {name: i for name, i in zip(names, ids, strict=True)}
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, args)
        found = {r[0]: _token_row(r) for r in cursor.fetchall()}
    finally:
        cursor.close()
    return tuple(found[i] for i in ids if i in found)


_ROWS_SQL: dict[tuple[str, int], tuple[str, tuple[str, ...] | None]] = {}


def _rows_sql(dialect: Dialect, n: int) -> tuple[str, tuple[str, ...] | None]:
    """The SQL of n tokens by id, compiled once per dialect and n (None: positional parameters in id order,
    else the parameter names in id order)."""
    key = (dialect.name, n)
    if key not in _ROWS_SQL:
        names = tuple(f"id{k}" for k in range(n))
        compiled = select(*TOKEN_COLUMNS).where(t.token.c.token_id.in_([bindparam(x) for x in names])) \
            .compile(dialect=dialect)
        positional = compiled.positional and tuple(compiled.positiontup or ()) == names
        _ROWS_SQL[key] = (compiled.string, None if positional else names)
    return _ROWS_SQL[key]


def _token_row(v: Sequence[Any]) -> TokenRow:
    """A TokenRow from a driver's row in TOKEN_COLUMNS order."""
    return TokenRow(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], utc(v[9]), v[10], v[11], utc(v[12]),
                    utc(v[13]), utc(v[14]), v[15], v[16], tuple(k for k in (v[17] or "").split(",") if k),  # type: ignore[arg-type]
                    bool(v[18]))
