"""What usage monitoring stores, as plain data: file records, checkpoints and a baseline's stored text.

Apart from store/usage.py (which writes them with SQLAlchemy) so that monitoring, and the parallel workers
forked before the inventory is opened, never import SQLAlchemy (~0.25 s of a run's start-up).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import orjson

from tokenward.usage.alerts import Alert
from tokenward.usage.events import StorageViolation


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
