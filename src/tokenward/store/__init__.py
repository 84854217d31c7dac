"""The token inventory: one record per token across every scan and source (SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokenward.store.inventory import Inventory

if TYPE_CHECKING:
    from tokenward.store.writer import ScanRecorded, ScanRecorder

__all__ = ["Inventory", "ScanRecorded", "ScanRecorder"]


def __getattr__(name: str) -> Any:
    # The scan recorder (and the scanning modules it names) only for the commands that record scans: the
    # monitor and the inventory commands start without them (~45 ms).
    if name in ("ScanRecorded", "ScanRecorder"):
        from tokenward.store import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
