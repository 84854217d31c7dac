"""Confirmation gates: a hot rule's own pattern in a Hyperscan database, asked before its Python regex.

A gated rule's keyword hit, or the hit of a whole-pattern rule's stand-in (prefilter_pattern), is only a
hint: the rule's Python regex then tries every start position of a window around it, and most windows hold
no match (on redis' history, "eleven" hit 21,428 times and ElevenLabs' regex found nothing, for half a
CPU-second). Once a rule has spent HOT_SECONDS confirming in a process (at once when an earlier run on this
machine left its gate in the cache), it gets a gate: its whole pattern compiled alone in Hyperscan (exactly,
else in prefilter mode, a superset of the regex's matches), which scans a window in C and says whether it
can hold a match at all; the regex runs only when it can. A gate
never hides a match the regex would find: it reads the window with the byte before it (what `\\b` and
lookbehinds see) and ends where the regex's window ends. Compiled gates are kept in the rule cache
(diskcache), so a rule is compiled once per machine; a pattern Hyperscan cannot compile has no gate.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import hyperscan

from tokenward.rules import diskcache

HOT_SECONDS = 0.05  # confirmation time a rule spends in one process before its gate is built (≈ its compile)
KEEP_GATES = 512  # gate entries kept per cache place (one per hot rule pattern)
_FLAGS = (hyperscan.HS_FLAG_SINGLEMATCH, hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_PREFILTER)


class Gate:
    """One rule's gate in this process: the confirmation time spent so far, then the database (or None
    when it cannot be built)."""

    __slots__ = ("_db", "_pattern", "built", "spent")

    def __init__(self, pattern: str) -> None:
        """(on the rule's first window in this process) Take the gate from the cache when the rule was hot
        before on this machine: a file read spares the time it takes to become hot again."""
        self._pattern = pattern
        self._db: Any = cached(pattern)
        self.built = self._db is not None
        self.spent = 0.0

    def timed(self, started: float) -> None:
        """Count the confirmation time since started (time.perf_counter()); build the gate once hot."""
        self.spent += time.perf_counter() - started
        if self.spent >= HOT_SECONDS and not self.built:
            self.built = True
            self._db = build(self._pattern)

    @property
    def ready(self) -> bool:
        """Whether the gate can answer (it was built, and Hyperscan compiled the pattern)."""
        return self._db is not None

    def may_match(self, data: bytes, lo: int, hi: int) -> bool:
        """False when the regex has no match starting in data[lo:hi] (with hi as the end of data)."""
        found: list[int] = []

        def on_match(_id: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
            found.append(1)

        self._db.scan(data[max(0, lo - 1):hi], match_event_handler=on_match)
        return bool(found)


def _name(pattern: str) -> str:
    key = repr((pattern, _FLAGS, getattr(hyperscan, "__version__", "?"))).encode()
    return f"gate-{hashlib.sha256(key).hexdigest()[:24]}.db"


def cached(pattern: str) -> Any:
    """The pattern's gate database from the cache, or None."""
    blob = diskcache.read(_name(pattern))
    if blob is None:
        return None
    try:
        db = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)
        return db
    except (hyperscan.error, ValueError, TypeError):
        return None  # stale or corrupt: compiled again when the rule is hot


def build(pattern: str) -> Any:
    """The pattern's gate database (from the cache, else compiled and cached), or None."""
    db = cached(pattern)  # again: the other worker may have built it since this one looked
    if db is not None:
        return db
    name = _name(pattern)
    for flags in _FLAGS:
        db = hyperscan.Database()
        try:
            db.compile(expressions=[pattern.encode()], ids=[0], elements=1, flags=[flags])
        except hyperscan.error:
            continue
        diskcache.write(name, hyperscan.dumpb(db), keep=KEEP_GATES)
        return db
    return None
