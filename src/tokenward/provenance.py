"""After-scan annotation: sources that attach provenance to findings once matching is done.

A stage above `findings` (it speaks of Finding objects), so the source interface below it does not
have to: git history is scanned as unique blobs, and which commits, paths and refs hold each blob
is attached here, once, for the blobs that produced findings.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from tokenward.findings import Finding
from tokenward.sources.interface import SkippedItem, Source


@runtime_checkable
class AnnotatingSource(Source, Protocol):
    """A source that adds provenance (or cached results) to findings after the whole scan."""

    def observe(self, findings: list[Finding]) -> None:
        """See findings as the scan produces them (e.g. to start provenance work only once one
        exists); called for every unit with findings, before annotate()."""
        ...

    def annotate(self, findings: list[Finding]) -> list[Finding]:
        """Return findings with provenance attached (may add findings replayed from a cache)."""
        ...

    def unannotated(self) -> list[SkippedItem]:
        """What the last annotate() could not do (its findings were kept without it), as skipped items."""
        ...

    def counts(self) -> dict[str, int]:
        """What the source did, for the scan summary's `history` counters (once annotate() has run)."""
        ...
