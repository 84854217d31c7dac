"""What usage monitoring stores, as plain data: file records, checkpoints and a baseline's stored text.

Apart from store/usage.py (which writes them with SQLAlchemy) so that monitoring, and the parallel workers
forked before the inventory is opened, never import SQLAlchemy (~0.25 s of a run's start-up).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from tokenward.usage.alerts import Alert
from tokenward.usage.events import StorageViolation

K = TypeVar("K")


@dataclass(frozen=True)
class FileRecord:
    """How far one log file (known by content head and inode) has been read."""

    file_id: int | None
    head_hash: str
    head_len: int
    first_hash: str
    device: int
    inode: int
    path: str
    offset: int
    lines: int
    complete: bool


class KnownFiles(MutableMapping[int, FileRecord]):
    """The file records a run knows, by file id (negative: registered at the end of open_all), in the order they
    were added, with each file's candidates: the records the inventory's query would name (UsageState.find_file:
    same device and inode, or same first line), in the order they were added. A run over a tree of ten thousand
    small CloudTrail files compared each new file with every record before it (52 s of 62). The records that changed
    since they were last written are what a checkpoint writes (it wrote every record, every 5 s)."""

    def __init__(self, records: Mapping[int, FileRecord] | None = None) -> None:
        self._records: dict[int, FileRecord] = {}
        self._order: dict[int, int] = {}  # file id -> when it was added
        self._by_node: dict[tuple[int, int], dict[int, None]] = {}
        self._by_first: dict[str, dict[int, None]] = {}
        self._added = 0
        self._changed: dict[int, None] = {}  # ids whose record changed since it was last written
        self.update(records or {})

    def __getitem__(self, file_id: int) -> FileRecord:
        return self._records[file_id]

    def __setitem__(self, file_id: int, rec: FileRecord) -> None:
        old = self._records.get(file_id)
        if old != rec:
            self._changed[file_id] = None
        if old is not None:
            self._unindex(file_id, old)
        else:
            self._order[file_id] = self._added
            self._added += 1
        self._records[file_id] = rec
        self._by_node.setdefault((rec.device, rec.inode), {})[file_id] = None
        self._by_first.setdefault(rec.first_hash, {})[file_id] = None

    def __delitem__(self, file_id: int) -> None:
        self._unindex(file_id, self._records.pop(file_id))
        del self._order[file_id]
        self._changed.pop(file_id, None)

    def _unindex(self, file_id: int, rec: FileRecord) -> None:
        _drop(self._by_node, (rec.device, rec.inode), file_id)
        _drop(self._by_first, rec.first_hash, file_id)

    def __iter__(self) -> Iterator[int]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def changed(self) -> list[FileRecord]:
        """The records that changed since they were last written (saved), in the order they changed."""
        return [self._records[i] for i in self._changed]

    def saved(self, records: Iterable[FileRecord]) -> None:
        """Records just written, as the store returned them (new ones with their ids): kept, and not written
        again until they change."""
        for rec in records:
            file_id = rec.file_id or 0
            self[file_id] = rec
            self._changed.pop(file_id, None)

    def candidates(self, first_hash: str, device: int, inode: int) -> list[FileRecord]:
        """The records of this device and inode or this first line, in the order they were added."""
        ids = {**self._by_node.get((device, inode), {}), **self._by_first.get(first_hash, {})}
        return [self._records[i] for i in sorted(ids, key=self._order.__getitem__)]


def _drop(index: dict[K, dict[int, None]], key: K, file_id: int) -> None:
    ids = index[key]
    del ids[file_id]
    if not ids:
        del index[key]


@dataclass(frozen=True)
class Checkpoint:
    """Everything one checkpoint writes, in one transaction (so a crash never double counts)."""

    profiles: dict[str, dict[str, Any] | str]  # token id -> Profile.to_dict(), or that already as profile_json
    files: tuple[FileRecord, ...]
    alerts: tuple[Alert, ...]
    suppressed: dict[str, int]
    idents: dict[tuple[str, str], str]
    tokens: tuple[tuple[str, bool, str | None], ...]  # (token_id, declared, note) of newly seen tokens
    violations: tuple[StorageViolation, ...]


def profile_json(data: dict[str, Any]) -> str:
    """A baseline's stored text (parallel workers write their own, so the parent need not): compact JSON, the
    keys in data's order. Written by orjson (~9x faster than json.dumps on baselines: every changed baseline is
    written at the end of a run), or by json.dumps where orjson refuses (a lone surrogate, an integer beyond 64
    bits, a key that is not a string) or would write a non-finite number as null (json.dumps writes NaN or
    Infinity, which profile_data reads back). Only the top level is checked for those: nested numbers are
    counts and event times, which the parsers keep finite."""
    if not any(type(v) is float and not math.isfinite(v) for v in data.values()):
        try:
            return orjson.dumps(data).decode()
        except orjson.JSONEncodeError:
            pass
    return json.dumps(data, separators=(",", ":"))


def profile_data(text: str) -> Any:
    """A baseline's stored JSON decoded: by orjson (1.7x faster on stored baselines), or by json where orjson refuses
    what json.dumps may write (NaN, Infinity, a lone surrogate). orjson reads an integer beyond 64 bits as a float:
    no baseline holds one (its integers are counts, line numbers, 10-minute bucket numbers and the 1 << 62 mark)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
