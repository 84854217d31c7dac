"""Incremental scanning: which blobs were scanned under which rule set, and what they produced.

Only ids and plaintext-free findings are kept (token ids, previews, public ids, locations, and the
non-secret metadata a finding carries: attributes, expiry, where it lives, origin details); a rescan
reads only blobs it has not seen and replays the recorded findings of the others, field for field.
RECORD_VERSION is part of the cache's key (codehash.incremental_key): records written in another format
are never read, their blobs are scanned again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Collection, Iterable
from contextlib import closing
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from tokenward.findings import Finding, Location
from tokenward.sources.interface import Origin, member_suffix

SCHEMA = """
CREATE TABLE IF NOT EXISTS scanned (ruleset TEXT NOT NULL, id_len INTEGER NOT NULL, ids BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS findings (ruleset TEXT NOT NULL, blob_id TEXT NOT NULL, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS findings_blob ON findings (ruleset, blob_id);
"""
RECORD_VERSION = 3  # 2: attributes, expiry, where, origin details and line offset kept; 3: an archive member's path
MAX_ROWS = 32  # scanned-id batches kept before they are merged into one row
FEW = 512  # up to this many ids are looked up one by one rather than by loading every id


class BlobCache(Protocol):
    """Remembers which blobs were scanned under which rule set and the findings they produced."""

    def scanned(self, ruleset: str, blob_ids: Collection[str]) -> set[str]:
        """Those of blob_ids already scanned under ruleset."""
        ...

    def findings(self, ruleset: str) -> dict[str, list[Finding]]:
        """Recorded findings by blob id: no plaintext, origin holding only the blob id and format details."""
        ...

    def record(self, ruleset: str, blob_ids: Iterable[str], findings: Iterable[Finding]) -> None:
        """Remember blob_ids as scanned under ruleset, with their findings (matched by origin.blob_id)."""
        ...


def cache_dir() -> Path:
    """tokenward's cache directory ($TOKENWARD_CACHE_DIR, else $XDG_CACHE_HOME/tokenward)."""
    override = os.environ.get("TOKENWARD_CACHE_DIR")
    if override:
        return Path(override)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tokenward"


def cache_file(repo_dir: Path, suffix: str = "blobs") -> Path:
    """The cache file of one repository (keyed by its resolved git directory)."""
    digest = hashlib.sha256(str(repo_dir.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return cache_dir() / "git" / f"{digest}.{suffix}.sqlite"


def _contains(packed: bytes, oid: bytes, step: int) -> bool:
    """True when oid is one of the fixed-width ids packed end to end (only aligned hits count)."""
    at = packed.find(oid)
    while at != -1 and at % step:
        at = packed.find(oid, at + 1)
    return at != -1


def finding_record(f: Finding) -> str:
    """A finding as a JSON line without plaintext or origin (the blob id is stored beside it), though with
    the origin's format details and line offset, which the blob's content alone gives."""
    rec: dict[str, Any] = {
        "rule_id": f.rule_id, "rule_name": f.rule_name, "provider": f.provider, "kind": f.kind,
        "confidence": f.confidence, "token_id": f.token_id, "preview": f.preview, "public_id": f.public_id,
        "public_ids": [list(p) for p in f.public_ids], "location": asdict(f.location),
        "environment": f.environment, "privilege": f.privilege, "expires_at": f.expires_at, "where": f.where,
        # Non-secret by construction (classify.py: JWT header and claims, a key's encrypted flag, a
        # look-alike's checksum), and already in every report.
        "attributes": [list(a) for a in f.attributes],
        "details": [list(d) for d in f.origin.details], "line_offset": f.origin.line_offset,
        "member": member_suffix(f.origin.path, f.origin.blob_id),  # "!/x.env" in an archive committed to history
    }
    return json.dumps(rec, separators=(",", ":"))


def _pairs(rec: dict[str, Any], name: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in rec[name])


def finding_from_record(text: str, blob_id: str) -> Finding:
    """The Finding a record describes, with an origin that holds only the blob id (and its format details)."""
    rec = json.loads(text)
    path = f"{blob_id}{rec['member']}" if rec.get("member") else ""  # placed later: member_suffix finds the tail
    origin = Origin("git", "", path, blob_id=blob_id, details=_pairs(rec, "details"), line_offset=rec["line_offset"])
    return Finding(
        rule_id=rec["rule_id"], rule_name=rec["rule_name"], provider=rec["provider"], kind=rec["kind"],
        confidence=rec["confidence"], token_id=rec["token_id"], preview=rec["preview"],
        public_id=rec["public_id"], public_ids=_pairs(rec, "public_ids"),
        origin=origin, location=Location(**rec["location"]),
        environment=rec["environment"], privilege=rec["privilege"], expires_at=rec["expires_at"],
        where=rec["where"], attributes=_pairs(rec, "attributes"),
    )


class SqliteBlobCache:
    """A BlobCache in one SQLite file; scanned ids are stored packed, one row per scan."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: dict[str, set[bytes]] = {}  # every id scanned under a rule set, once loaded (until record)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        db.executescript(SCHEMA)
        return db

    def scanned(self, ruleset: str, blob_ids: Collection[str]) -> set[str]:
        """Those of blob_ids already scanned under ruleset."""
        if not blob_ids:
            return set()
        known = self._known.get(ruleset)
        if known is None:
            with closing(self._connect()) as db:
                rows = db.execute("SELECT id_len, ids FROM scanned WHERE ruleset = ?", (ruleset,)).fetchall()
            if len(blob_ids) <= FEW:  # a rescan after a few commits: search the packed ids directly
                return {oid for oid in blob_ids if any(_contains(packed, bytes.fromhex(oid), id_len // 2)
                                                       for id_len, packed in rows if id_len == len(oid))}
            # A whole-history listing asks chunk after chunk: the ids are unpacked once.
            known = self._known[ruleset] = set()
            for id_len, packed in rows:
                step = id_len // 2
                known.update(packed[i:i + step] for i in range(0, len(packed), step))
        return {oid for oid in blob_ids if bytes.fromhex(oid) in known}

    def findings(self, ruleset: str) -> dict[str, list[Finding]]:
        """Recorded findings under ruleset, by blob id."""
        out: dict[str, list[Finding]] = {}
        with closing(self._connect()) as db:
            rows = db.execute("SELECT blob_id, record FROM findings WHERE ruleset = ?", (ruleset,))
            for blob_id, record in rows:
                out.setdefault(blob_id, []).append(finding_from_record(record, blob_id))
        return out

    def record(self, ruleset: str, blob_ids: Iterable[str], findings: Iterable[Finding]) -> None:
        """Remember blob_ids as scanned under ruleset (other rule sets are forgotten)."""
        self._known.clear()
        by_len: dict[int, list[str]] = {}
        for oid in blob_ids:
            by_len.setdefault(len(oid), []).append(oid)
        rows = [(f.origin.blob_id, finding_record(f)) for f in findings if f.origin.blob_id]
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM scanned WHERE ruleset != ?", (ruleset,))
            db.execute("DELETE FROM findings WHERE ruleset != ?", (ruleset,))
            for id_len, ids in by_len.items():
                db.execute("INSERT INTO scanned VALUES (?, ?, ?)", (ruleset, id_len, bytes.fromhex("".join(ids))))
            stale = [(ruleset, b) for b in {b for b, _ in rows}]  # a forced rescan replaces, not adds
            db.executemany("DELETE FROM findings WHERE ruleset = ? AND blob_id = ?", stale)
            db.executemany("INSERT INTO findings VALUES (?, ?, ?)", [(ruleset, b, r) for b, r in rows])
            if db.execute("SELECT count(*) FROM scanned").fetchone()[0] > MAX_ROWS:
                _compact(db, ruleset)


def _compact(db: sqlite3.Connection, ruleset: str) -> None:
    merged: dict[int, set[bytes]] = {}
    for id_len, packed in db.execute("SELECT id_len, ids FROM scanned WHERE ruleset = ?", (ruleset,)):
        step = id_len // 2
        merged.setdefault(id_len, set()).update(packed[i:i + step] for i in range(0, len(packed), step))
    db.execute("DELETE FROM scanned")
    db.executemany("INSERT INTO scanned VALUES (?, ?, ?)",
                   [(ruleset, n, b"".join(sorted(ids))) for n, ids in merged.items()])
