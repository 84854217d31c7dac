"""ScanResult → inventory: plaintext-free records, content-derived ids, batched transactions."""

from __future__ import annotations

import getpass
import json
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from tokenward import __version__
from tokenward.classify import severity, severity_rank
from tokenward.findings import Finding
from tokenward.gctune import paused as gc_paused
from tokenward.identity import key_check_value
from tokenward.rules.spec import confidence_rank
from tokenward.sources.interface import CommitInfo, Origin
from tokenward.store.blobcache import InventoryBlobCache
from tokenward.store.inventory import Inventory
from tokenward.store.keys import digest, source_for
from tokenward.store.records import (
    Batch,
    BatchStats,
    OccurrenceRecord,
    ScanStart,
    ScanTotals,
    SourceRecord,
    TokenRecord,
)

if TYPE_CHECKING:
    from tokenward.results import ScanResult

ACTOR_ENV = "TOKENWARD_ACTOR"
BATCH_OCCURRENCES = 5000


def actor() -> str:
    """Who is acting: $TOKENWARD_ACTOR, else user@host."""
    if os.environ.get(ACTOR_ENV):
        return os.environ[ACTOR_ENV]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


@lru_cache(maxsize=65536)
def _display_path(root: str, path: str) -> str:
    # A single scanned file is reported as root=<its dir>, path=<the path as given>: store it relative
    # to its source like every file of a scanned directory, so both scans name the same occurrence.
    prefix = root.rstrip("/") + "/"
    if path.startswith(prefix) and (os.path.isabs(path) or not os.path.lexists(os.path.join(root, path))):
        return path[len(prefix):]
    return path


def _extra(origin: Origin) -> str | None:
    data: dict[str, object] = {}
    if origin.git is not None:
        data.update(paths=list(origin.git.paths), refs=list(origin.git.refs), ref_count=origin.git.ref_count,
                    commit_count=origin.git.commit_count)
    if origin.details:
        data["details"] = dict(origin.details)
    return json.dumps(data, separators=(",", ":")) if data else None


def _when(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def occurrence_id(token_id: str, source_id: str, blob_or_path: str, ordinal: int, path: str | None = None,
                  commit: str | None = None) -> str:
    """The content-derived id of an occurrence: (token, source, blob or path, ordinal), plus the path and commit
    of a git location (one blob committed under several paths, or again by a revert, is several locations).
    Migration 0021 rewrites stored git occurrences to this form."""
    if path is None:
        return digest("occurrence", token_id, source_id, blob_or_path, str(ordinal))
    return digest("occurrence", token_id, source_id, blob_or_path, str(ordinal), path, commit or "")


def occurrences_of(f: Finding, src: SourceRecord, ordinal: int) -> list[OccurrenceRecord]:
    """The occurrence records of a finding: one per (path, commit) location of a git blob, else one."""
    git = f.origin.git
    if git is None or not git.locations or not f.origin.blob_id:
        return [occurrence_of(f, src, ordinal)]
    return [occurrence_of(f, src, ordinal, loc.path, loc.commit) for loc in git.locations]


def occurrence_of(f: Finding, src: SourceRecord, ordinal: int, at_path: str | None = None,
                  commit: CommitInfo | None = None) -> OccurrenceRecord:
    """The occurrence record of a finding (at one git location when at_path is given)."""
    o, loc, git = f.origin, f.location, f.origin.git
    path = _display_path(o.root, o.path) if at_path is None else at_path
    first = (git.first_commit if git else None) if at_path is None else commit
    ident = occurrence_id(f.token_id, src.source_id, o.blob_id or path, ordinal, at_path,
                          commit.commit if commit else None)
    return OccurrenceRecord(
        occurrence_id=ident,
        token_id=f.token_id, source_id=src.source_id, source_kind=src.kind, origin_kind=o.kind, rule_id=f.rule_id,
        path=path, line=loc.line, col=loc.column, end_line=loc.end_line, end_col=loc.end_column,
        byte_offset=loc.offset, blob_id=o.blob_id, commit_id=first.commit if first else None,
        author=first.author if first else None, author_email=first.author_email if first else None,
        committed_at=_when(first.date) if first else None, in_head=git.in_head if git else None,
        extra=_extra(o),
    )


KEY_ID_KIND = "access-key-id"


def key_id_of(f: Finding) -> str | None:
    """The AWS access key id an aws.access-key-id finding names (None for any other finding)."""
    return dict(f.public_ids).get("id") if f.provider == "aws" and f.kind == KEY_ID_KIND else None


def fold_key_ids(findings: Sequence[Finding], known: dict[str, str]) -> list[Finding]:
    """An AWS key pair is one credential: an access key id found next to its secret in this scan, or whose
    secret the inventory already holds (known: key id → that token id), becomes an occurrence of the secret's
    token instead of a token of its own."""
    paired: dict[str, str] = {}
    for f in findings:
        if f.provider == "aws" and f.kind != KEY_ID_KIND and (kid := dict(f.public_ids).get("id")):
            paired.setdefault(kid, f.token_id)
    out = []
    for f in findings:
        kid = key_id_of(f)
        target = (paired.get(kid) or known.get(kid)) if kid else None
        out.append(replace(f, token_id=target) if target else f)
    return out


def token_of(findings: Sequence[Finding]) -> TokenRecord:
    """One token record from every finding of that token (the most severe one names it; a folded key id never)."""
    best = findings[0] if len(findings) == 1 else min(
        findings, key=lambda f: (f.kind == KEY_ID_KIND, -severity_rank(_severity(f)),
                                 -confidence_rank(f.confidence)))
    public: dict[str, str] = {}
    for f in findings:
        for k, v in f.public_ids:
            public.setdefault(k, v)
    return TokenRecord(
        best.token_id, best.provider, best.kind, best.preview,
        next((f.public_id for f in findings if f.public_id), None), tuple(sorted(public.items())),
        tuple(sorted({f.rule_id for f in findings})), best.confidence, best.environment, best.privilege,
        _severity(best),
    )


def _severity(f: Finding) -> str:
    return severity(f.confidence, f.environment, f.privilege)


def records(findings: Iterable[Finding]) -> tuple[dict[str, TokenRecord], dict[str, list[OccurrenceRecord]],
                                                  dict[str, SourceRecord]]:
    """Tokens, occurrences per token and sources of a scan, deduplicated by their ids."""
    with gc_paused():  # a million small records: the cyclic collector would rescan the heap over and over
        return _records(findings)


def _records(findings: Iterable[Finding]) -> tuple[dict[str, TokenRecord], dict[str, list[OccurrenceRecord]],
                                                   dict[str, SourceRecord]]:
    by_token: dict[str, list[tuple[Finding, SourceRecord, tuple[str, str, str]]]] = defaultdict(list)
    places: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for f in findings:
        src = source_for(f.origin.kind, f.origin.root)
        place = (f.token_id, src.source_id, f.origin.blob_id or _display_path(f.origin.root, f.origin.path))
        by_token[f.token_id].append((f, src, place))
        places[place].add(f.location.offset)
    occurrences: dict[str, list[OccurrenceRecord]] = {}
    sources: dict[str, SourceRecord] = {}
    for tid, items in by_token.items():
        unique: dict[str, OccurrenceRecord] = {}
        for f, src, place in items:
            offsets = places[place]
            ordinal = 0 if len(offsets) == 1 else sorted(offsets).index(f.location.offset)
            for occ in occurrences_of(f, src, ordinal):
                unique.setdefault(occ.occurrence_id, occ)
            sources[src.source_id] = src
        occurrences[tid] = list(unique.values())
    return {tid: token_of([f for f, _, _ in items]) for tid, items in by_token.items()}, occurrences, sources


def batches(findings: Iterable[Finding], size: int = BATCH_OCCURRENCES) -> Iterator[Batch]:
    """Findings as batches of about `size` occurrences, by token id (so writers lock in one order)."""
    tokens, occurrences, sources = records(findings)
    batch_tokens: list[TokenRecord] = []
    batch_occ: list[OccurrenceRecord] = []
    for tid in sorted(occurrences):
        occ = occurrences[tid]
        for i in range(0, len(occ), size):
            batch_tokens.append(tokens[tid])
            batch_occ.extend(occ[i:i + size])
            if len(batch_occ) >= size:
                yield _batch(batch_tokens, batch_occ, sources)
                batch_tokens, batch_occ = [], []
    if batch_tokens:
        yield _batch(batch_tokens, batch_occ, sources)


def _batch(tokens: list[TokenRecord], occ: list[OccurrenceRecord], sources: dict[str, SourceRecord]) -> Batch:
    used = sorted({o.source_id for o in occ})
    return Batch(tuple({t.token_id: t for t in tokens}.values()), tuple(sources[s] for s in used), tuple(occ))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    # A killed process whose parent died first waits as a zombie until init reaps it (a container's
    # first process may never do): it answers kill(0) but will never finish its scan.
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] == b"Z"


@dataclass(frozen=True)
class ScanRecorded:
    """What one scan added to the inventory."""

    totals: ScanTotals
    reopened: tuple[str, ...]
    database: str

    def describe(self) -> str:
        """A one-line summary for the terminal."""
        t = self.totals
        line = (f"inventory: {t.tokens} tokens ({t.new_tokens} new), {t.findings} findings "
                f"({t.new_occurrences} new occurrences) in {self.database}")
        return line + (f"; {len(self.reopened)} revoked/rotated tokens re-opened" if self.reopened else "")


class ScanRecorder:
    """Records one scan: opened before it (key check, scan record), fed its result after."""

    def __init__(self, inventory: Inventory, scan: ScanStart) -> None:
        self.inventory = inventory
        self.scan = scan
        # called with the tokens that gained occurrences, before the inventory closes (the CLI resolves owners)
        self.after_write: Callable[[Inventory, Sequence[str]], object] | None = None

    @classmethod
    def open(cls, url: str | None, key: bytes, targets: Sequence[str], ruleset: str, rules: int) -> ScanRecorder:
        """Open (and migrate) the inventory, refuse a different key, and write the 'running' scan record."""
        inventory = Inventory.open(url)
        try:
            inventory.check_key(key_check_value(key))
            host = socket.gethostname()
            inventory.interrupt_stale(host, _alive)
            scan = ScanStart(
                scan_id=uuid.uuid4().hex, started_at=datetime.now(UTC), actor=actor(), host=host, pid=os.getpid(),
                targets=tuple(t if t == "-" or "://" in t else os.path.abspath(t) for t in targets), ruleset=ruleset,
                rules=rules, tool_version=__version__)
            inventory.start_scan(scan)
        except BaseException:
            inventory.close()
            raise
        return cls(inventory, scan)

    def blob_cache(self, repo_root: str) -> InventoryBlobCache:
        """The incremental-scan cache of one repository, kept in this inventory (sources.blobcache.BlobCache)."""
        return InventoryBlobCache(self.inventory, self.scan.scan_id, repo_root)

    def write(self, findings: Iterable[Finding], batch_size: int = BATCH_OCCURRENCES) -> BatchStats:
        """Write findings in batches of about batch_size occurrences, one transaction each."""
        new_tokens = new_occurrences = 0
        reopened: list[str] = []
        touched: list[str] = []
        found = list(findings)
        key_ids = sorted({k for f in found if (k := key_id_of(f))})
        if key_ids:
            found = fold_key_ids(found, self.inventory.credentials_by_key_id(key_ids))
        for batch in batches(found, batch_size):
            stats = self.inventory.write_batch(self.scan, self.scan.started_at, batch)
            new_tokens, new_occurrences = new_tokens + stats.new_tokens, new_occurrences + stats.new_occurrences
            reopened.extend(stats.reopened)
            touched.extend(stats.touched)
        return BatchStats(new_tokens, new_occurrences, tuple(reopened), tuple(sorted(set(touched))))

    def record(self, result: ScanResult, batch_size: int = BATCH_OCCURRENCES) -> ScanRecorded:
        """Write every finding, complete the scan record, and close the inventory."""
        try:
            stats = self.write(result.findings, batch_size)
            if self.after_write is not None and stats.touched:
                self.after_write(self.inventory, stats.touched)
            totals = _totals(result, stats.new_tokens, stats.new_occurrences)
            self.inventory.finish_scan(self.scan.scan_id, datetime.now(UTC), totals)
        finally:
            self.inventory.close()
        return ScanRecorded(totals, stats.reopened, str(self.inventory))


def _totals(result: ScanResult, new_tokens: int, new_occurrences: int) -> ScanTotals:
    s = result.summary
    return ScanTotals(
        blobs=s.blobs_scanned, bytes=s.bytes_scanned, findings=s.findings, tokens=s.tokens, new_tokens=new_tokens,
        new_occurrences=new_occurrences, errors=s.errors, seconds=s.seconds, suppressed=dict(s.suppressed),
        skipped=tuple((k.location, k.reason, k.severity) for k in result.skipped))
