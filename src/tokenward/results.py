"""What a scan gives its callers: the findings, the skipped items and the run's counts.

A module of its own, apart from the pipeline in scanner.py: the inventory writer's process receives a
ScanResult pickled, and unpickling imports the class's module; from here that costs no matcher, Hyperscan
or expander import (about 45 ms of CPU at the end of every recorded scan).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokenward import __version__
from tokenward.findings import Finding
from tokenward.sources.interface import SkippedItem


@dataclass(frozen=True)
class ScanSummary:
    """Counts of one scan run."""

    blobs_scanned: int
    bytes_scanned: int
    findings: int
    tokens: int
    suppressed: dict[str, int]
    skipped: dict[str, int]
    errors: int
    seconds: float
    ruleset: str
    rules: int
    tool_version: str = __version__
    # Git history scans: blobs enumerated, cached (not read again), read, read through git, matched only
    # around their delta's changes (windowed), matched whole after all (revisited), unreadable, too large, …
    history: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanResult:
    """Findings (no plaintext unless --show-secrets), skipped items and the summary."""

    findings: tuple[Finding, ...]
    skipped: tuple[SkippedItem, ...]
    summary: ScanSummary
