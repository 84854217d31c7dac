"""Read queries for the served dashboard and its JSON API: paged token lists, summaries, scans, alerts, changes.

Every page and API response of `tokenward serve` reads through here (the handlers hold no SQL). Lists are
paged and sorted by the database along one index per sort (tables.py), so a page of a 10^5-token inventory
reads its 50 rows after a walk of that index; the COUNT of a listing is taken once per change stamp.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, inspect, literal, or_, select
from sqlalchemy.exc import SQLAlchemyError

from tokenward.errors import StoreError
from tokenward.store import tables as t
from tokenward.store.inventory import TOKEN_COLUMNS, Inventory
from tokenward.store.records import TokenDetail, TokenRow
from tokenward.store.verification import VERIFY

SORTS = ("severity", "last_seen", "first_seen", "provider", "status", "owner", "occurrences")
NO_OWNER = "-"  # the owner filter value that selects unmapped tokens
AGE_BUCKETS = ((7, "< 1 week"), (30, "< 1 month"), (90, "< 3 months"), (365, "< 1 year"))
MAX_PER_PAGE = 200
LIVE = '%"status":"live"%'  # verdict notes are compact JSON with sorted keys (store.verification)
SEVERITY_RANK = t.SEVERITY_RANKS
COUNT_TTL = 30.0  # seconds a count is reused at one change stamp (owners set by `review` leave no stamp)
STAMP_TTL = 0.25  # seconds a change stamp is reused: every page and poll asks; pages update within 2 s anyway
MEMO_SIZE = 256


@dataclass(frozen=True)
class TokenQuery:
    """Which tokens an inventory page shows, in which order, which page of them."""

    provider: str | None = None
    status: str | None = None
    owner: str | None = None  # NO_OWNER: tokens without an owner
    location: str | None = None  # a source kind: repo | file | log | export
    severity: str | None = None
    search: str | None = None  # substring of the preview, owner, token id or an occurrence path
    sort: str = "severity"
    descending: bool = False  # the exact reverse of the ascending order, tie-breaks included
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class TokenPage:
    """One page of tokens and how many match in all."""

    total: int
    page: int
    per_page: int
    items: tuple[TokenRow, ...]

    @property
    def pages(self) -> int:
        """How many pages the matching tokens fill (at least one)."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class Summary:
    """The overview's cards and charts."""

    tokens: int
    open: int
    leaked: int
    live: int | None  # None: no verification data at all
    unmapped: int
    overdue: int
    violations: int
    new_last_scan: int | None
    by_provider: tuple[tuple[str, int], ...]
    by_location: tuple[tuple[str, int], ...]
    by_owner: tuple[tuple[str, int], ...]
    by_severity: tuple[tuple[str, int], ...]
    by_age: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ScanRow:
    """One recorded scan as the scan history lists it."""

    scan_id: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    actor: str
    targets: tuple[str, ...]
    findings: int | None
    tokens: int | None
    new_tokens: int | None
    new_occurrences: int | None
    errors: int | None
    seconds: float | None


@dataclass(frozen=True)
class AlertRow:
    """One usage-monitoring alert (never its evidence lines: they quote logs)."""

    alert_id: str
    token_id: str
    detector: str
    severity: str
    at: str
    count: int
    preview: str
    owner: str | None
    expected: str
    observed: str


@dataclass(frozen=True)
class TokenView:
    """A token's detail page: the inventory's detail plus its verification verdict and alerts."""

    detail: TokenDetail
    verdict: dict[str, Any] | None
    verified_at: datetime | None
    alerts: tuple[AlertRow, ...] = field(default_factory=tuple)


class Queries:
    """The dashboard's reads over one open inventory."""

    def __init__(self, inventory: Inventory, overdue_days: int = 90) -> None:
        self.inventory = inventory
        self.overdue_days = overdue_days
        self._counts = _Memo(COUNT_TTL)
        self._stamps = _Memo(STAMP_TTL)
        self._has_alerts = False

    @contextmanager
    def _read(self, doing: str) -> Iterator[Connection]:
        try:
            with self.inventory.engine.connect() as conn:
                conn.execution_options(readonly=True)  # SQLite: a plain BEGIN, no write lock
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise StoreError(f"{doing} ({self.inventory}): {reason[0] if reason else type(exc).__name__}") from None

    # -- tokens -----------------------------------------------------------------------------------

    def tokens(self, q: TokenQuery) -> TokenPage:
        """One page of the tokens matching q, sorted by the database."""
        per_page = max(1, min(q.per_page, MAX_PER_PAGE))
        page = max(1, q.page)
        conds = self._conditions(q)
        order = self._order(q)
        with self._read("listing tokens") as conn:
            total = self._count(conn, q, conds)
            # the page's ids first, from the sort index alone; then only those rows are read
            ids = (select(t.token.c.token_id).where(*conds).order_by(*order)
                   .limit(per_page).offset((page - 1) * per_page).subquery())
            query = select(*TOKEN_COLUMNS).join(ids, ids.c.token_id == t.token.c.token_id).order_by(*order)
            items = tuple(_token_row(r._mapping) for r in conn.execute(query))
        return TokenPage(total, page, per_page, items)

    def _count(self, conn: Connection, q: TokenQuery, conds: list[ColumnElement[bool]]) -> int:
        """How many tokens match conds (built from q): counted once per change stamp (and at most every
        COUNT_TTL seconds), not on every page, sort or order of the same listing."""
        key = (self._current_stamp(conn), _filters(q))
        found = self._counts.get(key)
        if found is None:
            found = int(conn.execute(select(func.count()).select_from(t.token).where(*conds)).scalar_one())
            self._counts.put(key, found)
        return int(found)

    def _conditions(self, q: TokenQuery) -> list[ColumnElement[bool]]:
        q = _printable(q)
        tk = t.token.c
        conds: list[ColumnElement[bool]] = []
        for column, value in ((tk.provider, q.provider), (tk.status, q.status), (tk.severity, q.severity)):
            if value:
                conds.append(column == value)
        if q.severity:  # the same tokens; the rank leads the severity sort index
            conds.append(tk.severity_rank == t.severity_rank(q.severity))
        if q.owner:  # the owner sort key leads the owner index ('' is no owner there)
            owner = t.owner_key()
            conds.extend([owner == "", tk.owner.is_(None)] if q.owner == NO_OWNER else [owner == q.owner])
        if q.location:
            conds.append(tk.source_kinds.contains(q.location, autoescape=True))
        if q.search and q.search.strip():
            conds.append(self._search(q.search.strip()))
        return conds

    def _search(self, text: str) -> ColumnElement[bool]:
        tk, o = t.token.c, t.occurrence.c
        # one pass over the occurrences, not a probe of each token's occurrences (5x faster at 10^6 of them)
        in_path = tk.token_id.in_(select(o.token_id).where(o.path.icontains(text, autoescape=True)))
        return or_(tk.preview.icontains(text, autoescape=True), tk.owner.icontains(text, autoescape=True),
                   tk.token_id.startswith(text.lower(), autoescape=True), in_path)

    def _order(self, q: TokenQuery) -> list[Any]:
        """The sort column, then newest first, then token id (the order of its index in tables.py); descending
        is the exact reverse, so one index serves both directions."""
        tk = t.token.c
        column: Any = {"severity": tk.severity_rank, "owner": t.owner_key()}.get(q.sort)
        if column is None:
            column = tk[q.sort] if q.sort in SORTS else tk.severity_rank
        keys = [(column, False), (tk.token_id, False)]
        if q.sort != "last_seen":
            keys.insert(1, (tk.last_seen, True))
        return [c.desc() if newest != q.descending else c.asc() for c, newest in keys]

    def choices(self) -> dict[str, list[str]]:
        """The values the inventory filters offer: providers and owners present (owners: the 200 commonest)."""
        tk = t.token.c
        with self._read("listing filter values") as conn:
            providers = conn.execute(select(tk.provider).distinct().order_by(tk.provider)).scalars().all()
            owners = conn.execute(select(tk.owner).where(tk.owner.is_not(None)).group_by(tk.owner)
                                  .order_by(func.count().desc(), tk.owner).limit(200)).scalars().all()
        return {"provider": list(providers), "owner": sorted(owners), "status": list(t.STATUSES),
                "severity": list(t.SEVERITIES), "location": list(t.SOURCE_KINDS)}

    def token(self, token_id: str) -> TokenView:
        """Everything about one token (StoreError when there is no such token)."""
        from tokenward.store.verification import latest_verdicts

        detail = self.inventory.token_detail(token_id)
        verdicts = latest_verdicts(self.inventory, [token_id])
        at, verdict = verdicts.get(token_id, (None, None))
        return TokenView(detail, verdict, at, tuple(self.alerts(token_id=token_id)))

    # -- overview ---------------------------------------------------------------------------------

    def summary(self, now: datetime) -> Summary:
        """The overview: card counts and the breakdowns its charts draw."""
        with self._read("summarising the inventory") as conn:
            cards = self._cards(conn, now)
            last = conn.execute(select(t.scan.c.new_tokens).where(t.scan.c.status == "complete")
                                .order_by(t.scan.c.started_at.desc()).limit(1)).scalar()
            return Summary(**cards, new_last_scan=last, by_provider=self._group(conn, t.token.c.provider),
                           by_location=self._locations(conn), by_owner=self._owners(conn),
                           by_severity=self._severities(conn), by_age=self._ages(conn, now))

    def _cards(self, conn: Connection, now: datetime) -> dict[str, Any]:
        tk = t.token.c
        is_open = tk.status == "open"
        leaked = and_(is_open, tk.occurrences > 0)
        unmapped = and_(is_open, tk.owner.is_(None))
        overdue = and_(is_open, or_(tk.expires_at < now, tk.first_seen < now - timedelta(days=self.overdue_days)))
        live = and_(leaked, tk.token_id.in_(self._live_ids()))
        counts = [func.count(), *(func.coalesce(func.sum(case((c, 1), else_=0)), 0)
                                  for c in (is_open, leaked, live, unmapped, overdue, or_(leaked, unmapped, overdue)))]
        n, n_open, n_leaked, n_live, n_unmapped, n_overdue, n_violations = conn.execute(select(*counts)).one()
        verified = conn.execute(select(literal(1)).where(t.event.c.action == VERIFY).limit(1)).first()
        return {"tokens": n, "open": n_open, "leaked": n_leaked, "live": n_live if verified else None,
                "unmapped": n_unmapped, "overdue": n_overdue, "violations": n_violations}

    def _live_ids(self) -> Any:
        ev = t.event.c
        newest = select(func.max(ev.event_id)).where(ev.action == VERIFY).group_by(ev.token_id)
        return select(ev.token_id).where(ev.event_id.in_(newest), ev.note.like(LIVE))

    def _group(self, conn: Connection, column: Any, limit: int = 10, none: str = "(none)"
               ) -> tuple[tuple[str, int], ...]:
        query = (select(column, func.count()).select_from(t.token).group_by(column)
                 .order_by(func.count().desc(), column).limit(limit))
        return tuple((none if k is None else str(k), int(n)) for k, n in conn.execute(query))

    def _owners(self, conn: Connection) -> tuple[tuple[str, int], ...]:
        # grouped by the indexed owner key, where no owner is '' (an empty owner is none either way)
        return tuple(("(unmapped)" if k == "" else k, n) for k, n in self._group(conn, t.owner_key()))

    def _locations(self, conn: Connection) -> tuple[tuple[str, int], ...]:
        # source_kinds is 'file,repo': a token found in two kinds of place counts in both bars
        found: dict[str, int] = {}
        for kinds, n in self._group(conn, t.token.c.source_kinds, limit=64):
            for kind in kinds.split(",") if kinds else ["(declared only)"]:
                found[kind] = found.get(kind, 0) + n
        return tuple(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))

    def _severities(self, conn: Connection) -> tuple[tuple[str, int], ...]:
        found = dict(self._group(conn, t.token.c.severity_rank, limit=16))  # the rank is indexed
        return tuple((s, found.get(str(i), 0)) for s, i in SEVERITY_RANK.items())

    def _ages(self, conn: Connection, now: datetime) -> tuple[tuple[str, int], ...]:
        tk = t.token.c
        whens = [(tk.first_seen >= now - timedelta(days=days), label) for days, label in AGE_BUCKETS]
        bucket = case(*whens, else_="older")
        found = {k: n for k, n in conn.execute(select(bucket, func.count()).group_by(bucket))}
        return tuple((label, found.get(label, 0)) for label in [*(b[1] for b in AGE_BUCKETS), "older"])

    # -- scans, alerts, changes ---------------------------------------------------------------------

    def scans(self, limit: int = 50, offset: int = 0) -> list[ScanRow]:
        """Recorded scans, newest first."""
        s = t.scan.c
        query = (select(s.scan_id, s.started_at, s.finished_at, s.status, s.actor, s.targets, s.findings, s.tokens,
                        s.new_tokens, s.new_occurrences, s.errors, s.seconds)
                 .order_by(s.started_at.desc(), s.scan_id).limit(max(1, min(limit, MAX_PER_PAGE)))
                 .offset(max(0, offset)))
        with self._read("listing scans") as conn:
            return [ScanRow(**{**r._mapping, "targets": _targets(r.targets)}) for r in conn.execute(query)]

    def alerts(self, limit: int = 100, token_id: str | None = None) -> list[AlertRow]:
        """Usage-monitoring alerts, newest first (none when `monitor` never ran on this inventory)."""
        from tokenward.store.tables import usage_alert

        a = usage_alert.c
        query = select(a.data, a.count).order_by(a.last_at.desc()).limit(max(1, min(limit, MAX_PER_PAGE)))
        if token_id:
            query = query.where(a.token_id == token_id)
        with self._read("listing alerts") as conn:
            if not self._alerts_kept(conn):
                return []
            return [_alert_row(data, count) for data, count in conn.execute(query)]

    def changes(self) -> str:
        """A stamp that changes whenever a scan, import, triage, verification or alert lands (cheap to poll;
        under load one read serves every request of the same quarter second)."""
        if (found := self._stamps.get("stamp")) is not None:
            return str(found)
        with self._read("checking for changes") as conn:
            return self._current_stamp(conn)

    def _current_stamp(self, conn: Connection) -> str:
        """changes(), inside an open read (the same quarter-second reuse)."""
        found = self._stamps.get("stamp")
        if found is None:
            found = self._stamp(conn)
            self._stamps.put("stamp", found)
        return str(found)

    def changed(self) -> None:
        """Forget the reused change stamp (after a write through this process: it shows at once)."""
        self._stamps.clear()

    def _alerts_kept(self, conn: Connection) -> bool:
        """True when the inventory has the usage_alert table (read from the catalogue until it is there:
        a table once there stays, so the polls do not ask again)."""
        if not self._has_alerts:
            self._has_alerts = inspect(conn).has_table("usage_alert")
        return self._has_alerts

    def _stamp(self, conn: Connection) -> str:
        """changes() inside an open read: a few index lookups and counts over the small tables."""
        s = t.scan.c
        parts: list[Any] = [select(func.max(t.event.c.event_id)).scalar_subquery(),
                            select(func.count()).select_from(t.scan).scalar_subquery(),
                            select(func.count(s.finished_at)).scalar_subquery(),
                            select(func.max(t.token.c.last_seen)).scalar_subquery()]
        if self._alerts_kept(conn):
            parts.append(select(func.coalesce(func.sum(t.usage_alert.c.count), 0)).scalar_subquery())
        row = conn.execute(select(*parts)).one()
        return ".".join(_stamp(v) for v in row)


class _Memo:
    """A small thread-safe map whose entries expire after ttl seconds (oldest dropped past MEMO_SIZE)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._found: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """The value stored under key, or None when missing or expired."""
        with self._lock:
            hit = self._found.get(key)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._found.clear()

    def put(self, key: Any, value: Any) -> None:
        """Store value under key for ttl seconds."""
        with self._lock:
            if len(self._found) >= MEMO_SIZE:
                now = time.monotonic()
                live = {k: v for k, v in self._found.items() if v[0] > now}
                self._found = dict(list(live.items())[-(MEMO_SIZE // 2):])
            self._found[key] = (time.monotonic() + self.ttl, value)


def _token_row(m: Any) -> TokenRow:
    kinds = tuple(k for k in (m["source_kinds"] or "").split(",") if k)
    return TokenRow(**{c.name: m[c.name] for c in TOKEN_COLUMNS if c.name not in ("source_kinds", "current")},
                    source_kinds=kinds, current=bool(m["current"]))


def _filters(q: TokenQuery) -> tuple[Any, ...]:
    """What selects q's tokens, whatever their order and page (the count cache's key)."""
    search = (q.search or "").strip() or None
    return q.provider, q.status, q.owner, q.location, q.severity, search


def _printable(q: TokenQuery) -> TokenQuery:
    """q without NUL characters (PostgreSQL text cannot hold them; no stored value has one)."""
    fields: dict[str, Any] = {k: v.replace("\x00", "") for k, v in vars(q).items() if isinstance(v, str)}
    return replace(q, **fields)


def _targets(text: str) -> tuple[str, ...]:
    try:
        value = json.loads(text)
    except ValueError:
        return (text,)
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def _alert_row(data: str, count: int) -> AlertRow:
    d = json.loads(data)
    return AlertRow(str(d.get("alert_id", "")), str(d.get("token_id", "")), str(d.get("detector", "")),
                    str(d.get("severity", "")), str(d.get("at", "")), int(count), str(d.get("preview", "")),
                    d.get("owner"), str(d.get("expected", "")), str(d.get("observed", "")))


def _stamp(value: Any) -> str:
    if isinstance(value, datetime):
        return str(int(value.timestamp() * 1000))
    return "0" if value is None else str(value).replace(".", "")


def sort_keys() -> Sequence[str]:
    """The columns the inventory table sorts by."""
    return SORTS
