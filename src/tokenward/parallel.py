"""Spread splittable sources over worker processes (the machine's cores) and merge the results."""

from __future__ import annotations

import itertools
import multiprocessing
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tokenward.expand import ExpandOptions, expand
from tokenward.findings import Finding
from tokenward.sources.interface import Blob, SkippedItem, SplittableSource, WorkUnit

if TYPE_CHECKING:
    from tokenward.scanner import Scanner

# Set in the parent just before the fork; each worker inherits its own copy of the compiled
# Hyperscan database and scratch space, so nothing is re-compiled or pickled per task.
_WORKER_SCANNER: Scanner | None = None


@dataclass(frozen=True)
class UnitResult:
    """What one work unit produced."""

    findings: tuple[Finding, ...]
    skipped: tuple[SkippedItem, ...]
    blobs: int
    nbytes: int
    suppressed: dict[str, int]


def scan_items(scanner: Scanner, items: Iterable[Blob | SkippedItem]) -> UnitResult:
    """Scan blobs and collect skips of one unit (runs in a worker or inline)."""
    findings: list[Finding] = []
    skipped: list[SkippedItem] = []
    blobs = nbytes = 0
    suppressed: Counter[str] = Counter()
    for item in _expanded(items, scanner.expand_options):
        if isinstance(item, SkippedItem):
            skipped.append(item)
            continue
        blobs += 1
        nbytes += len(item.data)
        findings.extend(scanner.scan_blob(item, suppressed))
    return UnitResult(tuple(findings), tuple(skipped), blobs, nbytes, dict(suppressed))


def _expanded(items: Iterable[Blob | SkippedItem], options: ExpandOptions) -> Iterator[Blob | SkippedItem]:
    for item in items:
        if isinstance(item, SkippedItem):
            yield item
        else:
            yield from expand(item, options)


def _run_unit(unit: WorkUnit) -> UnitResult:
    assert _WORKER_SCANNER is not None, "worker started without a scanner"
    return scan_items(_WORKER_SCANNER, unit)


def _units(sources: list[SplittableSource], skipped: list[SkippedItem]) -> Iterator[WorkUnit]:
    for source in sources:
        for unit in source.units():
            if isinstance(unit, SkippedItem):
                skipped.append(unit)
            else:
                yield unit


def run_parallel(scanner: Scanner, sources: list[SplittableSource], jobs: int) -> Iterator[UnitResult]:
    """Results of every unit of the sources, in order; inline when there is only one unit."""
    global _WORKER_SCANNER
    skipped: list[SkippedItem] = []
    units = _units(sources, skipped)
    head = list(itertools.islice(units, 2))
    if len(head) < 2 or jobs < 2:
        for unit in itertools.chain(head, units):
            yield scan_items(scanner, unit)
    else:
        _WORKER_SCANNER = scanner
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            yield from pool.imap(_run_unit, itertools.chain(head, units), chunksize=1)
    yield UnitResult((), tuple(skipped), 0, 0, {})
