"""The inventory database: the only module that issues SQL (SQLite or PostgreSQL, one schema)."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from operator import attrgetter
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    String,
    Table,
    any_,
    bindparam,
    case,
    cast,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from tokenward.errors import StoreError
from tokenward.gctune import paused as gc_paused
from tokenward.store import fresh
from tokenward.store import tables as t
from tokenward.store.engine import T, chunks, make_engine, many, plain, raw, reason, run, utc
from tokenward.store.location import display, parse_url
from tokenward.store.migrate import MIGRATION_LOCK, SCHEMA_HEAD, alembic_config
from tokenward.store.records import (
    Batch,
    BatchStats,
    EventRow,
    OccurrenceRecord,
    OccurrenceRow,
    ScanStart,
    ScanTotals,
    SourceRecord,
    TokenDetail,
    TokenFilter,
    TokenRecord,
    TokenRow,
)

KEY_CHECK = "key_check"
RETRYABLE = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
RETRIES = 5
REOPEN_FROM = {"revoked": "revocation", "rotated": "rotation"}
SEVERITY_RANK = {s: i for i, s in enumerate(t.SEVERITIES)}
OCCURRENCE_REFRESH = ("last_seen", "last_scan_id", "in_head", "path", "line", "col", "end_line", "end_col",
                      "byte_offset")
OCCURRENCE_FIELDS = tuple(OccurrenceRecord.__dataclass_fields__)
OCCURRENCE_INSERT = (*OCCURRENCE_FIELDS, "first_seen", "last_seen", "first_scan_id", "last_scan_id")
_OCCURRENCE_FIELDS = attrgetter(*OCCURRENCE_FIELDS)
TOKEN_FIELDS = ("token_id", "provider", "kind", "preview", "public_id", "confidence", "environment", "privilege",
                "severity")
TOKEN_INSERT = (*TOKEN_FIELDS, "status", "first_seen", "last_seen", "first_scan_id", "last_scan_id")
_TOKEN_FIELDS = attrgetter(*TOKEN_FIELDS)
TOKEN_COLUMNS = [c for c in t.token.c if c.name not in ("first_scan_id", "last_scan_id", "severity_rank")]


def _token_row(v: Sequence[Any]) -> TokenRow:
    """A TokenRow from a raw row in TOKEN_COLUMNS order (no per-column SQLAlchemy processing: lists are long)."""
    return TokenRow(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], utc(v[9]), v[10], v[11], utc(v[12]),
                    utc(v[13]), utc(v[14]), v[15], v[16], tuple(k for k in v[17].split(",") if k), bool(v[18]))  # type: ignore[arg-type]


S = TypeVar("S", bound="InventoryStore")


class Inventory:
    """A connection to one inventory database; every read and write goes through here."""

    def __init__(self, url: URL, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self.dialect = engine.dialect.name

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True, create: bool = True) -> Inventory:
        """Open --db URL (default: $TOKENWARD_DB or the data-dir SQLite file), migrating when needed.

        create=False (read-only commands): StoreError when the database does not exist or is empty.
        """
        parsed = parse_url(url)
        inventory = cls(parsed, make_engine(parsed, create))
        try:
            if not create and inventory.revision() is None:
                raise StoreError(f"no inventory in {inventory}: it is empty (scan with --db to fill it)")
            if migrate and inventory.needs_upgrade():
                inventory.upgrade()
        except BaseException:
            inventory.close()
            raise
        return inventory

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Inventory:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __str__(self) -> str:
        return display(self.url)

    # -- plumbing ---------------------------------------------------------------------------------

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn a database error inside the block into one StoreError naming what was being done."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise StoreError(f"{doing} ({self}): {reason(exc)}") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(readonly=True)
            with conn.begin():
                yield conn

    def _retrying(self, work: Callable[[Connection], T]) -> T:
        for attempt in itertools.count():
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except DBAPIError as exc:
                if attempt >= RETRIES or getattr(exc.orig, "sqlstate", None) not in RETRYABLE:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _ts(self, value: datetime | None) -> Any:
        """A timestamp as the driver takes it: aware for PostgreSQL, UtcDateTime's text form for SQLite."""
        if value is None or self.dialect == "postgresql":
            return value
        utc = value.astimezone(UTC) if value.tzinfo else value
        return utc.replace(tzinfo=None).isoformat(" ", "microseconds")

    def _among(self, column: Any, values: Sequence[str]) -> ColumnElement[bool]:
        """column IN values, as one bound parameter (one cached statement, whatever the list's length)."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import ARRAY

            return column == any_(bindparam("among", list(values), type_=ARRAY(String)))  # type: ignore[no-any-return]
        each = func.json_each(bindparam("among", json.dumps(list(values)))).table_valued("value")
        return column.in_(select(each.c.value))  # type: ignore[no-any-return]

    def _insert(self, table: Table) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        return sqlite.insert(table)

    # -- schema -----------------------------------------------------------------------------------

    def revision(self) -> str | None:
        """The schema revision the database is at (None when empty)."""
        with self.errors("reading the schema version"), self._read() as conn:
            return self._revision(conn)

    def _revision(self, conn: Connection) -> str | None:
        if not self.engine.dialect.has_table(conn, "alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def needs_upgrade(self) -> bool:
        """True when migrations are pending (checked without loading Alembic)."""
        return self.revision() != SCHEMA_HEAD

    def upgrade(self, *, replay: bool = True) -> str | None:
        """Apply pending migrations, one writer at a time; returns the new revision. An empty SQLite file
        gets the recorded schema instead (store/fresh.py; replay=False runs the migrations all the same)."""
        with self.errors("migrating the inventory"), self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            if self._revision(conn) == SCHEMA_HEAD:
                pass  # another writer migrated it while this one waited for the lock
            elif not (replay and self.dialect == "sqlite" and fresh.create(conn, SCHEMA_HEAD)):
                self.migrate(conn)
        return self.revision()

    def migrate(self, conn: Connection) -> None:
        """Run the pending Alembic migrations on conn, inside its transaction."""
        from alembic import command
        from alembic.util import CommandError

        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, "head")
        except CommandError as exc:
            raise StoreError(f"cannot migrate {self}: {exc} (written by a newer tokenward?)") from None

    def check_key(self, check_value: str) -> None:
        """Record the key check value on first write; StoreError when this writer's key differs."""
        with self.errors("checking the fingerprint key"), self.engine.begin() as conn:
            ins = self._insert(t.meta).on_conflict_do_nothing(index_elements=["name"])
            conn.execute(ins, {"name": KEY_CHECK, "value": check_value})
            stored = conn.execute(select(t.meta.c.value).where(t.meta.c.name == KEY_CHECK)).scalar_one()
        if stored != check_value:
            raise StoreError(
                f"the inventory {self} was written with a different fingerprint key (key check {stored}; "
                f"this key's is {check_value}), so token ids would not match. Use the same key as its other "
                "writers ($TOKENWARD_KEY or the key file) or another --db.")

    def counts(self) -> dict[str, int]:
        """Row counts per table."""
        tables = (t.token, t.occurrence, t.source, t.scan, t.event, t.scanned_blob)
        with self.errors("counting"), self._read() as conn:
            return {tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one() for tb in tables}

    # -- scans ------------------------------------------------------------------------------------

    def start_scan(self, scan: ScanStart) -> None:
        """Write the scan record (status 'running') before any finding."""
        row = {"scan_id": scan.scan_id, "started_at": scan.started_at, "status": "running", "actor": scan.actor,
               "host": scan.host, "pid": scan.pid, "targets": json.dumps(list(scan.targets)),
               "ruleset": scan.ruleset, "rules": scan.rules, "tool_version": scan.tool_version}
        with self.errors("recording the scan"), self.engine.begin() as conn:
            conn.execute(insert(t.scan), row)

    def finish_scan(self, scan_id: str, at: datetime, totals: ScanTotals, status: str = "complete") -> None:
        """Close the scan record with its counts and skipped inputs."""
        values = {"finished_at": at, "status": status, "blobs": totals.blobs, "bytes": totals.bytes,
                  "findings": totals.findings, "tokens": totals.tokens, "new_tokens": totals.new_tokens,
                  "new_occurrences": totals.new_occurrences, "errors": totals.errors, "seconds": totals.seconds,
                  "suppressed": json.dumps(totals.suppressed, sort_keys=True),
                  "skipped": json.dumps([list(s) for s in totals.skipped])}
        with self.errors("recording the scan"), self.engine.begin() as conn:
            conn.execute(update(t.scan).where(t.scan.c.scan_id == scan_id).values(**values))

    def interrupt_stale(self, host: str, alive: Callable[[int], bool]) -> int:
        """Mark this host's 'running' scans whose process is gone as 'interrupted'; returns how many."""
        s = t.scan
        with self.errors("checking earlier scans"), self.engine.begin() as conn:
            rows = conn.execute(select(s.c.scan_id, s.c.pid).where(s.c.status == "running", s.c.host == host))
            dead = [scan_id for scan_id, pid in rows if not alive(pid)]
            if dead:
                conn.execute(update(s).where(s.c.scan_id.in_(dead)).values(status="interrupted"))
        return len(dead)

    # -- findings ---------------------------------------------------------------------------------

    def write_batch(self, scan: ScanStart, at: datetime, batch: Batch) -> BatchStats:
        """Upsert one batch of tokens and occurrences in one transaction (retried on deadlock)."""
        with self.errors("writing findings"):
            return self._retrying(lambda conn: self._write_batch(conn, scan, at, batch))

    def _write_batch(self, conn: Connection, scan: ScanStart, at: datetime, batch: Batch) -> BatchStats:
        tokens = sorted(batch.tokens, key=lambda r: r.token_id)  # one lock order for every writer
        ids = [r.token_id for r in tokens]
        known = self._existing(conn, t.token.c.token_id, ids)
        self._upsert_sources(conn, batch.sources, at)
        self._upsert_tokens(conn, tokens, scan.scan_id, at)
        known_occ = self._existing(conn, t.occurrence.c.occurrence_id, [o.occurrence_id for o in batch.occurrences])
        new_occ = [o for o in batch.occurrences if o.occurrence_id not in known_occ]
        reopened = self._reopen(conn, new_occ, scan, at)
        self._upsert_occurrences(conn, batch.occurrences, scan.scan_id, at)
        self._recount(conn, ids)
        return BatchStats(len(ids) - len(known), len(new_occ), reopened, tuple(sorted({o.token_id for o in new_occ})))

    def _existing(self, conn: Connection, column: Any, values: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(sorted(set(values))):
            found.update(conn.execute(select(column).where(self._among(column, chunk))).scalars())
        return found

    def _upsert_sources(self, conn: Connection, sources: Iterable[SourceRecord], at: datetime) -> None:
        ts = self._ts(at)
        rows = [(s.source_id, s.kind, s.locator, ts) for s in sorted(set(sources), key=lambda s: s.source_id)]
        self._put(conn, t.source, ("source_id", "kind", "locator", "first_seen"), rows, ["source_id"])

    def _upsert_tokens(self, conn: Connection, tokens: Sequence[TokenRecord], scan_id: str, at: datetime) -> None:
        if not tokens:
            return

        def refresh(new: Any) -> dict[str, Any]:
            newer = case((new.last_seen > t.token.c.last_seen, new.last_seen), else_=t.token.c.last_seen)
            return {"last_seen": newer, "last_scan_id": new.last_scan_id}

        ts = self._ts(at)
        rows = [(*_TOKEN_FIELDS(r), "open", ts, ts, scan_id, scan_id) for r in tokens]
        self._put(conn, t.token, TOKEN_INSERT, rows, ["token_id"], refresh)
        rules = [(r.token_id, rule) for r in tokens for rule in r.rule_ids]
        self._put(conn, t.token_rule, ("token_id", "rule_id"), rules, ["token_id", "rule_id"])
        public = [(r.token_id, n, v) for r in tokens for n, v in r.public_ids]
        self._put(conn, t.token_public_id, ("token_id", "name", "value"), public, ["token_id", "name"])

    def _upsert_occurrences(self, conn: Connection, occurrences: Sequence[OccurrenceRecord], scan_id: str,
                            at: datetime) -> None:
        if not occurrences:
            return
        ts, at_commit = self._ts(at), OCCURRENCE_FIELDS.index("committed_at")
        rows = []
        for o in sorted(occurrences, key=lambda o: o.occurrence_id):
            v = _OCCURRENCE_FIELDS(o)
            rows.append((*v[:at_commit], self._ts(v[at_commit]), *v[at_commit + 1:], ts, ts, scan_id, scan_id))
        self._put(conn, t.occurrence, OCCURRENCE_INSERT, rows, ["occurrence_id"],
                  lambda new: {c: new[c] for c in OCCURRENCE_REFRESH})

    def _reopen(self, conn: Connection, new: Sequence[OccurrenceRecord], scan: ScanStart,
                at: datetime) -> tuple[str, ...]:
        """Re-open revoked/rotated tokens seen in a new place: a new blob or file, or a known blob put back
        by a commit made after the status change (a revert). Older commits of a known blob (another branch,
        or locations first recorded by migration 0021) are history, not a new leak."""
        tk, o = t.token, t.occurrence.c
        ids = sorted({n.token_id for n in new})
        closed = conn.execute(select(tk.c.token_id, tk.c.status, tk.c.status_changed_at).where(
            self._among(tk.c.token_id, ids), tk.c.status.in_(list(REOPEN_FROM)))).all() if ids else []
        if not closed:
            return ()
        known = {(a, b, c) for a, b, c in conn.execute(select(o.token_id, o.source_id, o.blob_id).distinct().where(
            self._among(o.token_id, [c[0] for c in closed]), o.blob_id.is_not(None)))}
        changed = {token_id: utc(when) for token_id, _, when in closed}
        first: dict[str, OccurrenceRecord] = {}
        for n in new:
            if n.token_id in changed and n.token_id not in first and not (
                    (n.token_id, n.source_id, n.blob_id) in known and n.committed_at is not None
                    and (when := changed[n.token_id]) is not None and n.committed_at <= when):
                first[n.token_id] = n
        events = []
        for token_id, old, _ in closed:
            if token_id not in first:
                continue
            conn.execute(update(tk).where(tk.c.token_id == token_id).values(status="open", status_changed_at=at))
            where = first[token_id]
            note = f"seen after {REOPEN_FROM[old]}: {where.source_kind} {where.path}:{where.line}"
            events.append({"token_id": token_id, "at": at, "actor": scan.actor, "action": "reopened",
                           "old_status": old, "new_status": "open", "note": note, "scan_id": scan.scan_id})
        if events:
            conn.execute(insert(t.event), events)
        return tuple(sorted(e["token_id"] for e in events))

    def _recount(self, conn: Connection, token_ids: Sequence[str]) -> None:
        o = t.occurrence
        current = func.max(case((o.c.in_head.is_(False), 0), else_=1))
        totals: dict[str, list[Any]] = {tid: [0, 0, [], False] for tid in token_ids}
        for chunk in chunks(token_ids):
            query = select(o.c.token_id, o.c.source_kind, func.count(), func.count(o.c.source_id.distinct()),
                           current).where(self._among(o.c.token_id, chunk)).group_by(o.c.token_id, o.c.source_kind)
            for token_id, kind, n, sources, cur in conn.execute(query):
                agg = totals[token_id]
                agg[0], agg[1], agg[3] = agg[0] + n, agg[1] + sources, agg[3] or bool(cur)
                agg[2].append(kind)
        rows = [(tid, a[0], a[1], ",".join(sorted(a[2])), a[3]) for tid, a in totals.items()]
        self._set_tokens(conn, ("token_id", "occurrences", "sources", "source_kinds", "current"), rows)

    def _set_tokens(self, conn: Connection, cols: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """UPDATE token SET cols[1:] WHERE token_id = cols[0], for each row."""
        if not rows:
            return
        tk = t.token
        if self.dialect == "postgresql":
            src = self._unnest(t.token, cols)
            stmt = update(tk).where(tk.c.token_id == src.c.token_id).values({c: src.c[c] for c in cols[1:]})
            conn.execute(stmt, {f"u_{c}": list(v) for c, v in zip(cols, zip(*rows, strict=True), strict=True)})
            return
        stmt = update(tk).where(tk.c.token_id == bindparam("b_token_id")).values(
            {c: bindparam(f"b_{c}") for c in cols[1:]})
        many(conn, stmt, [f"b_{c}" for c in cols], rows)

    def _unnest(self, table: Table, cols: Sequence[str]) -> Any:
        """PostgreSQL: the rows of one array parameter per column (u_<column>), as a table."""
        from sqlalchemy.dialects.postgresql import ARRAY

        arrays = [cast(bindparam(f"u_{c}"), ARRAY(plain(table.c[c].type))) for c in cols]
        return func.unnest(*arrays).table_valued(*cols).render_derived()

    def _put(self, conn: Connection, table: Table, cols: Sequence[str], rows: list[tuple[Any, ...]],
             keys: Sequence[str], refresh: Callable[[Any], dict[str, Any]] | None = None) -> None:
        """INSERT rows; on a key conflict do nothing, or SET refresh(excluded). PostgreSQL gets the whole batch
        as one statement over array parameters, SQLite an executemany of one compiled statement."""
        if not rows:
            return
        ins: Any = self._insert(table)
        if self.dialect == "postgresql":
            src = self._unnest(table, cols)
            ins = ins.from_select(cols, select(*(src.c[c] for c in cols)))
        stmt = (ins.on_conflict_do_update(index_elements=keys, set_=refresh(ins.excluded)) if refresh
                else ins.on_conflict_do_nothing(index_elements=keys))
        if self.dialect == "postgresql":
            conn.execute(stmt, {f"u_{c}": list(v) for c, v in zip(cols, zip(*rows, strict=True), strict=True)})
        else:
            many(conn, stmt, cols, rows)

    # -- reads ------------------------------------------------------------------------------------

    def resolve(self, prefix: str) -> str:
        """The one token id starting with prefix; StoreError when none or several match."""
        p = prefix.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{4,64}", p):
            raise StoreError(f"{prefix!r} is not a token id prefix (at least 4 hexadecimal characters)")
        upper = p[:-1] + chr(ord(p[-1]) + 1)
        col = t.token.c.token_id
        with self.errors("looking up the token"), self._read() as conn:
            found = conn.execute(select(col).where(col >= p, col < upper).order_by(col).limit(6)).scalars().all()
        if not found:
            raise StoreError(f"no token id starts with {p}")
        if len(found) > 1:
            shown = ", ".join(f[:16] for f in found[:5])
            raise StoreError(f"{p} is ambiguous: it starts {shown}{', …' if len(found) > 5 else ''}")
        return str(found[0])

    def _conditions(self, f: TokenFilter) -> list[ColumnElement[bool]]:
        tk = t.token.c
        conds: list[ColumnElement[bool]] = []
        if f.provider:
            conds.append(tk.provider == f.provider.lower())
        if f.status:
            conds.append(tk.status == f.status)
        if f.source_kind:
            conds.append(tk.source_kinds.contains(f.source_kind))
        if f.history_only:
            conds.extend([tk.current.is_(False), tk.occurrences > 0])
        return conds

    def list_tokens(self, f: TokenFilter = TokenFilter()) -> list[TokenRow]:
        """Tokens matching f, most severe and most recently seen first."""
        query = select(*TOKEN_COLUMNS).where(*self._conditions(f)).order_by(*self._list_order())
        with self.errors("listing tokens"), self._read() as conn, gc_paused():
            return [_token_row(r) for r in raw(conn, query)]

    def token_table(self, header: Sequence[str], f: TokenFilter = TokenFilter()) -> list[str]:
        """list_tokens(f) as aligned text lines under header, laid out by the database itself: 10^5 tokens
        print in a fraction of a second (Python would spend a second making and padding the cells)."""
        cols = self._list_cells()
        widths_q = select(*(func.max(func.length(cast(c, String))) for c in cols[:-1])).where(*self._conditions(f))
        with self.errors("listing tokens"), self._read() as conn:
            longest = conn.execute(widths_q).one()
            widths = [max(len(h), n or 0) for h, n in zip(header, longest, strict=False)]
            pad = "%!-{}s" if self.dialect == "sqlite" else "%-{}s"  # SQLite's '!': width in characters
            fmt = "  ".join(pad.format(w) for w in widths) + "  %s"
            layout = func.printf if self.dialect == "sqlite" else func.format
            query = select(layout(fmt, *cols)).where(*self._conditions(f)).order_by(*self._list_order())
            with gc_paused():
                lines = [r[0] for r in raw(conn, query)]
        head = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)) + "  " + header[-1]
        return [head.rstrip(), *lines]

    def _list_cells(self) -> list[Any]:
        tk = t.token.c
        found_in = case((tk.current.is_(False) & (tk.occurrences > 0), tk.source_kinds + " (history)"),
                        else_=tk.source_kinds)
        return [func.substr(tk.token_id, 1, 12), tk.severity, tk.status, tk.provider, tk.kind, tk.occurrences,
                tk.sources, found_in, self._minute(tk.first_seen), self._minute(tk.last_seen),
                func.coalesce(tk.owner, "-"), tk.preview]

    def _minute(self, column: Any) -> Any:
        if self.dialect == "postgresql":
            return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI")
        return func.substr(column, 1, 16)  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff', UTC

    def _list_order(self) -> list[Any]:
        rank = case(SEVERITY_RANK, value=t.token.c.severity, else_=len(SEVERITY_RANK))
        return [rank, t.token.c.last_seen.desc(), t.token.c.token_id]

    def token_detail(self, token_id: str) -> TokenDetail:
        """Everything known about one token: identity, rules, public ids, occurrences, audit trail."""
        with self.errors("reading the token"), self._read() as conn:
            row = next(iter(raw(conn, select(*TOKEN_COLUMNS).where(t.token.c.token_id == token_id))), None)
            if row is None:
                raise StoreError(f"no token {token_id}")
            rules = conn.execute(select(t.token_rule.c.rule_id).where(t.token_rule.c.token_id == token_id)
                                 .order_by(t.token_rule.c.rule_id)).scalars().all()
            pub = t.token_public_id.c
            public = conn.execute(select(pub.name, pub.value).where(pub.token_id == token_id).order_by(pub.name))
            return TokenDetail(_token_row(row), tuple(rules), tuple((n, v) for n, v in public),
                               tuple(self._occurrences(conn, [token_id])), tuple(self._events(conn, token_id)))

    def _occurrences(self, conn: Connection, token_ids: Sequence[str]) -> Iterator[OccurrenceRow]:
        o, s = t.occurrence.c, t.source.c
        query = (select(o.occurrence_id, o.token_id, o.source_kind, s.locator.label("source"), o.origin_kind,
                        o.rule_id, o.path, o.line, o.col, o.blob_id, o.commit_id, o.author, o.author_email,
                        o.committed_at, o.in_head, o.first_seen, o.last_seen)
                 .join_from(t.occurrence, t.source, o.source_id == s.source_id)
                 .where(self._among(o.token_id, token_ids))
                 .order_by(o.token_id, o.source_kind, s.locator, o.path, o.line, o.col, o.occurrence_id))
        for row in conn.execute(query):
            yield OccurrenceRow(**row._mapping)

    def _events(self, conn: Connection, token_id: str) -> Iterator[EventRow]:
        query = select(t.event).where(t.event.c.token_id == token_id).order_by(t.event.c.event_id)
        for row in conn.execute(query):
            yield EventRow(**row._mapping)

    def export(self, f: TokenFilter = TokenFilter(), page: int = 500) -> Iterator[tuple[TokenRow, list[OccurrenceRow]]]:
        """Every matching token with its occurrences, by token id, a page at a time (bounded memory)."""
        after = ""
        while True:
            query = (select(*TOKEN_COLUMNS).where(t.token.c.token_id > after, *self._conditions(f))
                     .order_by(t.token.c.token_id).limit(page))
            with self.errors("exporting"), self._read() as conn:
                tokens = [_token_row(r) for r in raw(conn, query)]
                found: dict[str, list[OccurrenceRow]] = {tk.token_id: [] for tk in tokens}
                for occ in self._occurrences(conn, list(found)):
                    found[occ.token_id].append(occ)
            yield from ((tk, found[tk.token_id]) for tk in tokens)
            if len(tokens) < page:
                return
            after = tokens[-1].token_id

    def discovered(self, token_ids: Sequence[str] | None = None, page: int = 500
                   ) -> Iterator[tuple[TokenRow, tuple[tuple[str, str], ...], list[OccurrenceRow]]]:
        """(token, public ids, occurrences) of every token (or of token_ids), a page at a time."""
        ids = sorted(set(token_ids)) if token_ids is not None else None
        after, start = "", 0
        while True:
            query = select(*TOKEN_COLUMNS).order_by(t.token.c.token_id).limit(page)
            if ids is None:
                query = query.where(t.token.c.token_id > after)
            else:
                query = query.where(self._among(t.token.c.token_id, ids[start:start + page]))
            pub = t.token_public_id.c
            with self.errors("reading tokens"), self._read() as conn:
                tokens = [_token_row(r) for r in raw(conn, query)]
                found: dict[str, list[OccurrenceRow]] = {tk.token_id: [] for tk in tokens}
                public: dict[str, list[tuple[str, str]]] = {tk.token_id: [] for tk in tokens}
                for occ in self._occurrences(conn, list(found)):
                    found[occ.token_id].append(occ)
                rows = conn.execute(select(pub.token_id, pub.name, pub.value)
                                    .where(self._among(pub.token_id, list(found))).order_by(pub.token_id, pub.name))
                for token_id, name, value in rows:
                    public[token_id].append((name, value))
            yield from ((tk, tuple(public[tk.token_id]), found[tk.token_id]) for tk in tokens)
            start += page
            if (len(tokens) < page if ids is None else start >= len(ids)):
                return
            after = tokens[-1].token_id if tokens else after

    def credentials_by_key_id(self, key_ids: Sequence[str]) -> dict[str, str]:
        """AWS access key id → the token id of its secret access key (or other non-id AWS token) when known."""
        pub, tk = t.token_public_id.c, t.token.c
        out: dict[str, str] = {}
        with self.errors("looking up key ids"), self._read() as conn:
            for chunk in chunks(sorted(set(key_ids))):
                query = (select(pub.value, pub.token_id).join_from(t.token_public_id, t.token,
                                                                   pub.token_id == tk.token_id)
                         .where(pub.name == "id", self._among(pub.value, chunk), tk.provider == "aws",
                                tk.kind != "access-key-id").order_by(pub.value, tk.first_seen, tk.token_id))
                for value, token_id in conn.execute(query):
                    out.setdefault(value, token_id)
        return out

    def find(self, text: str) -> str:
        """The token TOKEN arguments name: a public id (an AWS access key id names its key pair's secret) or a
        unique token id prefix; StoreError when none or several match."""
        named = self.by_public_id(text) if len(text.strip()) >= 8 else []
        return named[0] if named else self.resolve(text)

    def by_public_id(self, value: str) -> list[str]:
        """Ids of the tokens a public identifier (an AWS access key id, a GitHub hashed token…) names, the
        credential first (an AWS secret key before the bare key id)."""
        pub, tk = t.token_public_id.c, t.token.c
        query = (select(tk.token_id).join_from(t.token_public_id, t.token, pub.token_id == tk.token_id)
                 .where(pub.value == value.strip())
                 .order_by(case((tk.kind == "access-key-id", 1), else_=0), tk.first_seen, tk.token_id))
        with self.errors("looking up the public id"), self._read() as conn:
            return list(dict.fromkeys(conn.execute(query).scalars()))

    def set_owners(self, owners: dict[str, str | None]) -> int:
        """Store each token's resolved owner (policy.load.refresh_owners); returns how many changed."""
        ids = sorted(owners)
        tk = t.token.c
        with self.errors("recording owners"):
            def work(conn: Connection) -> int:
                now: dict[str, str | None] = {}
                for chunk in chunks(ids):
                    now.update(conn.execute(select(tk.token_id, tk.owner).where(self._among(tk.token_id, chunk))).all())
                changed = [(i, owners[i]) for i in ids if i in now and now[i] != owners[i]]
                self._set_tokens(conn, ("token_id", "owner"), changed)
                return len(changed)
            return self._retrying(work)

    # -- incremental scanning (scanned_blob) -------------------------------------------------------

    def scanned_blobs(self, source_id: str, ruleset: str, blob_ids: Collection[str]) -> set[str]:
        """Those of blob_ids already scanned in this repository under ruleset."""
        sb = t.scanned_blob.c
        found: set[str] = set()
        with self.errors("reading scanned blobs"), self._read() as conn:
            for chunk in chunks(sorted(set(blob_ids))):
                query = select(sb.blob_id).where(sb.source_id == source_id, sb.ruleset == ruleset,
                                                 self._among(sb.blob_id, chunk))
                found.update(conn.execute(query).scalars())
        return found

    def blob_findings(self, source_id: str, ruleset: str) -> dict[str, str]:
        """The recorded findings (JSON lines) of this repository's scanned blobs that had any, by blob id."""
        sb = t.scanned_blob.c
        query = select(sb.blob_id, sb.findings).where(sb.source_id == source_id, sb.ruleset == ruleset,
                                                      sb.findings.is_not(None))
        with self.errors("reading scanned blobs"), self._read() as conn:
            return {blob_id: findings for blob_id, findings in conn.execute(query)}

    def record_blobs(self, source_id: str, ruleset: str, scan_id: str, at: datetime,
                     blobs: Sequence[tuple[str, str | None]], forget_before: datetime | None = None) -> None:
        """Remember (blob id, findings JSON lines) as scanned in this repository under ruleset; forget this
        repository's rows of other rule sets older than forget_before."""
        cols = ("source_id", "ruleset", "blob_id", "scan_id", "scanned_at", "findings")
        ts = self._ts(at)
        rows = [(source_id, ruleset, b, scan_id, ts, f) for b, f in sorted(blobs)]
        sb = t.scanned_blob.c

        def refresh(new: Any) -> dict[str, Any]:
            return {"scan_id": new.scan_id, "scanned_at": new.scanned_at, "findings": new.findings}

        with self.errors("recording scanned blobs"):
            for chunk in chunks(rows):
                self._retrying(partial(self._put, table=t.scanned_blob, cols=cols, rows=list(chunk),
                                       keys=["source_id", "ruleset", "blob_id"], refresh=refresh))
            if forget_before is not None:
                forget = t.scanned_blob.delete().where(sb.source_id == source_id, sb.ruleset != ruleset,
                                                       sb.scanned_at < forget_before)
                self._retrying(partial(run, forget))

    # -- triage -----------------------------------------------------------------------------------

    def triage(self, token_id: str, status: str, note: str | None, actor: str, at: datetime) -> EventRow | None:
        """Set a token's status and append the audit event, in one transaction; None (and no event) when the
        token already has that status."""
        if status not in t.STATUSES:
            raise StoreError(f"unknown status {status!r} (choose from {', '.join(t.STATUSES)})")
        tk = t.token
        with self.errors("triaging"), self.engine.begin() as conn:
            old = conn.execute(select(tk.c.status).where(tk.c.token_id == token_id).with_for_update()).scalar()
            if old is None:
                raise StoreError(f"no token {token_id}")
            if old == status:
                return None
            conn.execute(update(tk).where(tk.c.token_id == token_id).values(status=status, status_changed_at=at))
            values = {"token_id": token_id, "at": at, "actor": actor, "action": "triage", "old_status": old,
                      "new_status": status, "note": note, "scan_id": None}
            key = conn.execute(insert(t.event).values(**values)).inserted_primary_key
            assert key is not None
            return EventRow(event_id=int(key[0]), **values)


class InventoryStore:
    """A store of some tables of one inventory (cursors, org runs, …): opened by URL, closed with it."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    @classmethod
    def open(cls: type[S], db: str | None) -> S:
        """The store of the inventory at --db (created and migrated like any scan's)."""
        return cls(Inventory.open(db))

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        self.inventory.close()
