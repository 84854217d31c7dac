"""Usage monitoring state in the inventory database: baselines, read offsets, alerts, identities
(tables in store/tables.py, created by the inventory's migrations; what they hold, as plain data, in
usage/records.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from tokenward.errors import StoreError
from tokenward.store.tables import usage_alert, usage_file, usage_ident, usage_profile, usage_token, usage_violation
from tokenward.usage.alerts import Alert, Recent
from tokenward.usage.events import StorageViolation
from tokenward.usage.records import Checkpoint, FileRecord, profile_data, profile_json

__all__ = ["Checkpoint", "FileRecord", "UsageState", "profile_data", "profile_json"]


class UsageState:
    """Reads and writes the usage tables; the only place usage monitoring issues SQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name  # the tables come with the inventory's migrations

    def _insert(self, table: Table) -> Any:
        if self.dialect == "postgresql":  # imported here: its drivers' modules cost a SQLite run ~40 ms
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)

    def _read(self, query: Any) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(query))
        except SQLAlchemyError as exc:
            raise StoreError(f"reading usage state: {exc}") from None

    # -- reads ----------------------------------------------------------------------------------

    def profiles(self, token_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """Stored baselines (all, or of token_ids)."""
        q = select(usage_profile.c.token_id, usage_profile.c.data)
        if token_ids is not None:
            q = q.where(usage_profile.c.token_id.in_(sorted(set(token_ids))))
        return {tid: profile_data(data) for tid, data in self._read(q)}

    def profile_texts(self) -> dict[str, str]:
        """Every stored baseline as its text (the monitor decodes one when its token is first seen)."""
        return dict(self._read(select(usage_profile.c.token_id, usage_profile.c.data)))

    def find_file(self, first_hash: str, device: int, inode: int) -> list[FileRecord]:
        """Remembered files with this device/inode or first line (candidates; callers verify the head)."""
        f = usage_file.c
        q = select(usage_file).where(((f.device == device) & (f.inode == inode)) | (f.first_hash == first_hash))
        return [_file_record(r) for r in self._read(q)]

    def find_files(self, keys: Sequence[tuple[str, int, int]]) -> dict[tuple[str, int, int], list[FileRecord]]:
        """find_file for many (first_hash, device, inode) with a query per 500: each one's records in the order
        SQLite's OR gives them (those with its device and inode, then those with its first line, by id)."""
        f = usage_file.c
        found: dict[int, FileRecord] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = select(usage_file).where(f.first_hash.in_(sorted({k[0] for k in chunk}))
                                         | f.inode.in_(sorted({k[2] for k in chunk})))
            found.update((rec.file_id or 0, rec) for rec in map(_file_record, self._read(q)))
        by_node: dict[tuple[int, int], list[FileRecord]] = {}
        by_first: dict[str, list[FileRecord]] = {}
        for rec in sorted(found.values(), key=lambda r: r.file_id or 0):
            by_node.setdefault((rec.device, rec.inode), []).append(rec)
            by_first.setdefault(rec.first_hash, []).append(rec)
        out = {}
        for first, device, inode in keys:
            node = by_node.get((device, inode), [])
            out[(first, device, inode)] = node + [r for r in by_first.get(first, []) if r not in node]
        return out

    def recent_alerts(self) -> dict[tuple[str, str, str], Recent]:
        """The last alert of every (token, detector, key), for dedup across runs."""
        a = usage_alert.c
        recent: dict[tuple[str, str, str], Recent] = {}
        for tid, det, key, aid, last in self._read(select(a.token_id, a.detector, a.key, a.alert_id, a.last_at)):
            old = recent.get((tid, det, key))
            seconds = last.timestamp()  # dedup compares with event times in epoch seconds
            if old is None or seconds > old.last_at:
                recent[(tid, det, key)] = Recent(aid, seconds)
        return recent

    def alerts(self, token_id: str | None = None, alert_id: str | None = None) -> list[Alert]:
        """Stored alerts, newest first (of one token, or the one alert_id prefix)."""
        a = usage_alert.c
        q = select(a.data, a.count).order_by(a.last_at.desc())
        if token_id:
            q = q.where(a.token_id == token_id)
        if alert_id:
            q = q.where(a.alert_id.startswith(alert_id.lower()))
        return [replace(Alert.from_dict(json.loads(data)), count=count) for data, count in self._read(q)]

    def idents(self) -> dict[tuple[str, str], str]:
        """Every learned identifier → token id mapping."""
        i = usage_ident.c
        return {(k, v): t for k, v, t in self._read(select(i.kind, i.value, i.token_id))}

    def token_flags(self) -> dict[str, tuple[bool, bool, str | None]]:
        """token_id → (declared, honeytoken, granted) for tokens the monitor knows."""
        t = usage_token.c
        return {tid: (d, h, g) for tid, d, h, g in self._read(select(t.token_id, t.declared, t.honeytoken, t.granted))}

    def violations(self) -> list[StorageViolation]:
        """Storage violations found in logs (tokens in URLs)."""
        v = usage_violation.c
        rows = self._read(select(v.token_id, v.preview, v.kind, v.where, v.detail).order_by(v.first_at))
        return [StorageViolation(*r) for r in rows]

    # -- writes ---------------------------------------------------------------------------------

    def checkpoint(self, cp: Checkpoint) -> list[FileRecord]:
        """Write a checkpoint atomically; returns the file records with their ids."""
        try:
            with self.engine.begin() as conn:
                files = self._save_files(conn, cp.files)
                self._update_files(conn, [f for f in cp.files if f.file_id is not None])
                self._save_profiles(conn, cp.profiles)
                self._save_alerts(conn, cp.alerts, cp.suppressed)
                self._save_small(conn, cp)
            return files
        except SQLAlchemyError as exc:
            raise StoreError(f"writing usage state: {exc}") from None

    def _save_files(self, conn: Connection, files: Sequence[FileRecord]) -> list[FileRecord]:
        """Insert the new file records (no id yet), in one statement; every record, the new ones with their ids.
        (A statement per record cost ~0.15 ms of SQLAlchemy each: 1.5 s for a day of small CloudTrail files.)"""
        new = [f for f in files if f.file_id is None]
        if not new:
            return list(files)
        stmt = usage_file.insert().returning(usage_file.c.file_id, sort_by_parameter_order=True)
        ids = iter([int(r[0]) for r in conn.execute(stmt, [_file_values(f) for f in new])])
        return [replace(f, file_id=next(ids)) if f.file_id is None else f for f in files]

    def _update_files(self, conn: Connection, files: Sequence[FileRecord]) -> None:
        """Move known file records (one statement for all: a checkpoint after many logs names them all)."""
        if not files:
            return
        names = (*FILE_FIELDS, "updated_at")  # bound as v_<column>: a column's own name is reserved
        stmt = update(usage_file).where(usage_file.c.file_id == bindparam("v_id")).values(
            {k: bindparam(f"v_{k}") for k in names})
        conn.execute(stmt, [{"v_id": f.file_id, **{f"v_{k}": v for k, v in _file_values(f).items()}}
                            for f in files])

    def _save_profiles(self, conn: Connection, profiles: dict[str, dict[str, Any] | str]) -> None:
        if not profiles:
            return
        now = datetime.now(UTC)
        ins = self._insert(usage_profile)
        stmt = ins.on_conflict_do_update(index_elements=["token_id"],
                                         set_={"data": ins.excluded.data, "updated_at": ins.excluded.updated_at})
        conn.execute(stmt, [{"token_id": t, "data": d if isinstance(d, str) else profile_json(d), "updated_at": now}
                            for t, d in sorted(profiles.items())])

    def _save_alerts(self, conn: Connection, alerts: Sequence[Alert], suppressed: dict[str, int]) -> None:
        if alerts:
            rows = [{"alert_id": a.alert_id, "token_id": a.token_id, "detector": a.detector, "severity": a.severity,
                     "key": a.key, "at": _when(a.at), "last_at": _when(a.at), "count": 1,
                     "data": json.dumps(a.to_dict(), default=str)} for a in alerts]
            conn.execute(self._insert(usage_alert).on_conflict_do_nothing(index_elements=["alert_id"]), rows)
        for aid, n in sorted(suppressed.items()):
            conn.execute(update(usage_alert).where(usage_alert.c.alert_id == aid)
                         .values(count=usage_alert.c.count + n))

    def _save_small(self, conn: Connection, cp: Checkpoint) -> None:
        rows: list[dict[str, Any]]
        if cp.idents:
            rows = [{"kind": k, "value": v, "token_id": t} for (k, v), t in sorted(cp.idents.items())]
            conn.execute(self._insert(usage_ident).on_conflict_do_nothing(index_elements=["kind", "value"]), rows)
        if cp.tokens:
            rows = [{"token_id": t, "declared": d, "honeytoken": False, "granted": None, "note": n}
                    for t, d, n in cp.tokens]
            conn.execute(self._insert(usage_token).on_conflict_do_nothing(index_elements=["token_id"]), rows)
        if cp.violations:
            now = datetime.now(UTC)
            rows = [{"token_id": v.token_id, "kind": v.kind, "preview": v.preview, "where": v.where,
                     "detail": v.detail, "first_at": now} for v in cp.violations]
            conn.execute(self._insert(usage_violation).on_conflict_do_nothing(index_elements=["token_id", "kind"]),
                         rows)

    def set_token(self, token_id: str, *, honeytoken: bool | None = None, granted: str | None = None) -> None:
        """Mark a token as a honeytoken (or not) and/or record the scopes it was granted."""
        values: dict[str, Any] = {}
        if honeytoken is not None:
            values["honeytoken"] = honeytoken
        if granted is not None:
            values["granted"] = granted
        ins = self._insert(usage_token)
        stmt = ins.on_conflict_do_update(index_elements=["token_id"], set_=values) if values else \
            ins.on_conflict_do_nothing(index_elements=["token_id"])
        row: dict[str, Any] = {"token_id": token_id, "declared": True, "honeytoken": bool(honeytoken),
                               "granted": granted, "note": None}
        try:
            with self.engine.begin() as conn:
                conn.execute(stmt, row)
        except SQLAlchemyError as exc:
            raise StoreError(f"writing usage state: {exc}") from None


FILE_FIELDS = ("head_hash", "head_len", "first_hash", "device", "inode", "path", "offset", "lines", "complete")


def _file_values(f: FileRecord) -> dict[str, Any]:
    """The columns of a file record, stamped now."""
    return {**{k: getattr(f, k) for k in FILE_FIELDS}, "updated_at": datetime.now(UTC)}


def _file_record(row: Any) -> FileRecord:
    """A usage_file row as its record."""
    return FileRecord(**{k: v for k, v in row._mapping.items() if k != "updated_at"})


def _when(iso_text: str) -> datetime:
    """An alert's ISO time as an aware UTC datetime."""
    from tokenward.usage.events import iso_seconds

    return datetime.fromtimestamp(iso_seconds(iso_text), UTC)
