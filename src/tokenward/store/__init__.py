"""The token inventory: one record per token across every scan and source (SQLite or PostgreSQL)."""

from tokenward.store.inventory import Inventory
from tokenward.store.writer import ScanRecorded, ScanRecorder

__all__ = ["Inventory", "ScanRecorded", "ScanRecorder"]
