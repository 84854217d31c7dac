"""The scan pipeline: sources → matcher → findings → suppression → ScanResult."""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from tokenward import readahead
from tokenward.engine import Hits, Matcher, RawMatch, Windows
from tokenward.expand import ExpandOptions, expand, expand_as
from tokenward.expand.decode import expressions as decode_expressions
from tokenward.expand.decode import from_extra, inner_blobs
from tokenward.expand.detect import HEAD, sniff
from tokenward.findings import Finding, make_finding
from tokenward.identity import Fingerprinter
from tokenward.parallel import fork_map
from tokenward.provenance import AnnotatingSource
from tokenward.results import ScanResult, ScanSummary
from tokenward.rules.compile import CompiledRuleSet, compile_rules
from tokenward.rules.spec import RuleSpec
from tokenward.sources.interface import Blob, RevisitingSource, SkippedItem, Source, SplittableSource, WorkUnit
from tokenward.suppress import Baseline, Suppressor

Progress = Callable[[int], None]
PREFETCH = 64
MAX_JOBS = 8


@dataclass(frozen=True)
class UnitResult:
    """What one work unit (a batch of files or git blobs, or one streamed item) produced."""

    findings: tuple[Finding, ...]
    skipped: tuple[SkippedItem, ...]
    blobs: int
    nbytes: int
    suppressed: dict[str, int]
    # Ids of the blobs with any match (inline-suppressed ones too), or whose bytes were not matched as
    # they are (an archive, an export): either way they vouch for no delta copied from them.
    matched: frozenset[str] = frozenset()
    # The blobs matched only in their Blob.windows, each with its inline suppressions (kept apart from
    # `suppressed`: a blob matched again whole counts them anew).
    windowed: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class _Seen:
    """Which blobs had a match, and which were matched only around their changes, so far."""

    matched: set[str] = field(default_factory=set)
    windowed: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, unit: UnitResult) -> None:
        self.matched.update(unit.matched)
        self.windowed.update(unit.windowed)


@dataclass
class _Tally:
    blobs: int = 0
    bytes: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    history: Counter[str] = field(default_factory=Counter)  # the git sources' counters, summed


@dataclass
class _Unit:
    """What one work unit has produced so far (see UnitResult)."""

    findings: list[Finding] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    blobs: int = 0
    nbytes: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    matched: set[str] = field(default_factory=set)
    windowed: dict[str, Counter[str]] = field(default_factory=dict)

    def result(self) -> UnitResult:
        """The frozen result."""
        return UnitResult(tuple(self.findings), tuple(self.skipped), self.blobs, self.nbytes, dict(self.suppressed),
                          frozenset(self.matched), {oid: dict(c) for oid, c in self.windowed.items()})


def _prefetched(sources: Iterable[Source]) -> Iterator[Blob | SkippedItem]:
    # Reading files (I/O, inflation) overlaps matching on the other core; the bounded queue keeps
    # memory flat whatever the input size.
    return readahead.read_ahead(itertools.chain.from_iterable(sources), "tokenward-reader", bound=PREFETCH)


class Scanner:
    """Runs sources through the matcher and turns matches into suppressed/filtered Findings."""

    def __init__(self, matcher: Matcher, fingerprinter: Fingerprinter, *, allow_paths: tuple[str, ...] = (),
                 baseline: Baseline | None = None, show_secrets: bool = False, jobs: int = 0,
                 expand_options: ExpandOptions | None = None, min_confidence: str = "low") -> None:
        # Checksum look-alikes are reported (as low confidence) only when low is asked for.
        self.matcher = Matcher(matcher.ruleset, lookalikes=True) if min_confidence == "low" else matcher
        options = expand_options or ExpandOptions()
        # A rule set compiled with the decoding pass's finders (see build_scanner) finds encoded runs in
        # its own pass: the expanders then leave decoding to scan_items.
        folded = matcher.ruleset.extra and options.decode and not options.keywords
        self.decode_depth = options.limits.decode_depth if folded else 0
        self.expand_options = replace(options, decode=False) if self.decode_depth else options  # forked too
        # Plain text needs no expander then: expand() would pass it on alone (see _sniffed).
        self._sniff_only = not self.expand_options.source_type and not self.expand_options.decode
        self.jobs = jobs or min(os.cpu_count() or 1, MAX_JOBS)
        self.fp = fingerprinter
        self.suppressor = Suppressor(min_confidence, allow_paths, baseline)
        self.show_secrets = show_secrets

    @property
    def detection_options(self) -> str:
        """The options that change what a blob's findings are (part of the incremental cache's key): look-alikes
        are matched only at --min-confidence low, and the expansion and decoding depths and a forced source
        type decide which blobs a blob becomes. (Filters applied after the cache, such as a higher minimum
        confidence, a baseline or allowed paths, are not in it.)"""
        ex = self.expand_options
        decode = ex.limits.decode_depth if ex.decode or self.decode_depth else 0
        return (f"lookalikes={int(self.matcher.lookalikes)},decode={decode},depth={ex.limits.max_depth},"
                f"type={ex.source_type or ''}")

    def scan_blob(self, blob: Blob, suppressed: Counter[str] | None = None) -> list[Finding]:
        """Findings of one blob, minus those an inline allow comment suppresses (counted)."""
        return self._findings(blob, self.matcher.scan(blob.data), suppressed)

    def _matched(self, blob: Blob, depth: int, windows: Windows = None, hits: Hits | None = None
                 ) -> Iterator[tuple[Blob, list[RawMatch]] | SkippedItem]:
        """The blob's matches, then (depth > 0) those of the text its encoded runs decode to, found by
        the same Hyperscan pass, in the order the expanders' decoding would have produced them.
        `hits`: the blob's Hyperscan hits, when the caller already has them."""
        if not depth:
            yield blob, self.matcher.scan(blob.data, windows, hits)
            return
        matches, extra = self.matcher.scan_extra(blob.data, windows, hits)
        yield blob, matches
        if extra:
            for inner in inner_blobs(blob, from_extra(blob.data, extra)):
                if isinstance(inner, SkippedItem):
                    yield inner
                else:
                    yield from self._matched(inner, depth - 1)

    def _findings(self, blob: Blob, matches: list[RawMatch], suppressed: Counter[str] | None) -> list[Finding]:
        out: list[Finding] = []
        for m in matches:
            reason = self.suppressor.inline(blob.data, m.start, m.end)
            if reason:
                if suppressed is not None:
                    suppressed[reason] += 1
            else:
                out.append(make_finding(blob, m, self.fp, self.show_secrets))
        return out

    def scan_items(self, items: Iterable[Blob | SkippedItem]) -> UnitResult:
        """Expand, match and fingerprint the blobs of one work unit (in a worker, or inline)."""
        unit = _Unit()
        for item in items:
            if isinstance(item, SkippedItem):
                unit.skipped.append(item)
                continue
            sniffed, fmt = self._sniffed(item)
            if sniffed and fmt is None:
                # Plain text matched whole: expand() would pass it on alone. Most inputs are, and most
                # of those have no hit at all: they cost one Hyperscan call and a count.
                hits = self.matcher.hits(item.data)
                if hits:
                    self._match(item, item, unit, hits)
                else:
                    unit.blobs += 1
                    unit.nbytes += len(item.data)
                continue
            produced = expand_as(item, fmt, self.expand_options) if sniffed else expand(item, self.expand_options)
            for expanded in produced:
                if isinstance(expanded, SkippedItem):
                    unit.skipped.append(expanded)
                else:
                    self._match(item, expanded, unit)
        return unit.result()

    def _sniffed(self, blob: Blob) -> tuple[bool, str | None]:
        """(True, its format) when the sniff alone decides what expand() does with the blob (no forced type,
        no decoding left to the expanders) and it is matched whole; (False, None) when expand() must decide.
        A format of None is plain text, which expand() would pass on alone."""
        if not self._sniff_only or blob.windows is not None:
            return False, None
        return True, sniff(blob.data[:HEAD], blob.origin.path)

    def _match(self, parent: Blob, expanded: Blob, unit: _Unit, hits: Hits | None = None) -> None:
        """Match one blob expand() produced from parent (and the text its encoded runs decode to)."""
        if expanded is not parent and parent.origin.blob_id:
            unit.matched.add(parent.origin.blob_id)
        windows = expanded.windows  # only a blob passed on as read keeps them (not archive members)
        counts = unit.suppressed
        if windows is not None and expanded.origin.blob_id:
            counts = unit.windowed.setdefault(expanded.origin.blob_id, Counter())
        for item in self._matched(expanded, self.decode_depth, windows, hits):
            if isinstance(item, SkippedItem):
                unit.skipped.append(item)
                continue
            blob, matches = item
            unit.blobs += 1
            unit.nbytes += len(blob.data)
            if matches and blob.origin.blob_id:
                unit.matched.add(blob.origin.blob_id)
            unit.findings.extend(self._findings(blob, matches, counts))

    def _filter(self, findings: list[Finding], tally: _Tally) -> list[Finding]:
        kept = []
        for finding in findings:
            reason = self.suppressor.reason(finding)
            if reason:
                tally.suppressed[reason] += 1
            else:
                kept.append(finding)
        return kept

    def run(self, sources: Iterable[Source], progress: Progress | None = None,
            on_started: Callable[[], None] | None = None) -> ScanResult:
        """Scan every source; never raises for a single bad input (it becomes a SkippedItem).
        on_started() runs once the workers are busy (when the first unit is in), so set-up the main
        process needs only later (opening the inventory) overlaps the scan instead of delaying it."""
        started = time.monotonic()
        sources = list(sources)
        tally = _Tally()
        findings: list[Finding] = []
        skipped: list[SkippedItem] = []
        splittable = [s for s in sources if isinstance(s, SplittableSource)]
        others = [s for s in sources if not isinstance(s, SplittableSource)]
        enumerated: list[SkippedItem] = []  # items skipped while cutting sources into units
        results = fork_map(self.scan_items, _units(splittable, enumerated), self.jobs)
        inline = (self.scan_items([item]) for item in _prefetched(others))
        listed = _skips_of(enumerated)
        annotating = [s for s in sources if isinstance(s, AnnotatingSource)]
        seen = _Seen()
        for unit in _started(itertools.chain(results, listed, inline), on_started):
            tally.blobs += unit.blobs
            tally.bytes += unit.nbytes
            tally.suppressed.update(unit.suppressed)
            findings.extend(unit.findings)
            seen.add(unit)
            for source in annotating if unit.findings else ():
                source.observe(list(unit.findings))
            skipped.extend(unit.skipped)
            if progress:
                progress(unit.nbytes)
        for revisiting in (s for s in splittable if isinstance(s, RevisitingSource)):
            findings = self._revisit(revisiting, findings, seen, tally, annotating)
        for counts in seen.windowed.values():  # the windowed blobs that stand: their suppressions count
            tally.suppressed.update(counts)
        for source in annotating:
            findings = source.annotate(findings)
            skipped.extend(source.unannotated())  # findings kept without their provenance: say why
            tally.history.update(source.counts())
        findings = self._filter(findings, tally)
        return ScanResult(tuple(findings), tuple(skipped), self._summary(tally, findings, skipped, started))

    def _revisit(self, source: RevisitingSource, findings: list[Finding], seen: _Seen, tally: _Tally,
                 annotating: list[AnnotatingSource]) -> list[Finding]:
        """Match again, whole, the blobs of source whose windowed matching rested on a base that
        turned out to hold a match; their findings replace the windowed ones."""
        while True:
            redo, units = source.revisit(seen.matched, seen.windowed.keys())
            if not units:
                return findings
            findings = [f for f in findings if not (f.origin.kind == "git" and f.origin.root == source.root
                                                    and f.origin.blob_id in redo)]
            for oid in redo:
                del seen.windowed[oid]  # its windowed findings and suppressions give way to the whole pass
            for unit in fork_map(self.scan_items, units, self.jobs):
                tally.suppressed.update(unit.suppressed)
                findings.extend(unit.findings)
                seen.add(unit)
                for other in annotating if unit.findings else ():
                    other.observe(list(unit.findings))

    def _summary(self, tally: _Tally, findings: list[Finding], skipped: list[SkippedItem],
                 started: float) -> ScanSummary:
        reasons = Counter(_reason_class(s.reason) for s in skipped)
        return ScanSummary(
            blobs_scanned=tally.blobs, bytes_scanned=tally.bytes, findings=len(findings),
            tokens=len({f.token_id for f in findings}), suppressed=dict(tally.suppressed),
            skipped=dict(reasons), errors=sum(1 for s in skipped if s.severity == "error"),
            seconds=round(time.monotonic() - started, 3), ruleset=self.matcher.ruleset.digest,
            rules=len(self.matcher.ruleset.rules), history=dict(tally.history),
        )


def scan_ruleset(specs: list[RuleSpec], cache: bool = True,
                 on_compile: Callable[[int], None] | None = None) -> CompiledRuleSet:
    """The rule set as every scan compiles it: the rules plus the decoding pass's candidate finders in
    one Hyperscan database, so each byte is scanned once (one cached database per machine)."""
    finders = [(pattern, flags) for pattern, flags, _kind in decode_expressions()]
    return compile_rules(specs, cache=cache, on_compile=on_compile, extra=finders)


def _started(units: Iterator[UnitResult], on_started: Callable[[], None] | None) -> Iterator[UnitResult]:
    started = on_started is None
    for unit in units:
        if not started and on_started is not None:
            started = True
            on_started()
        yield unit
    if not started and on_started is not None:
        on_started()  # nothing to scan: it still runs once


def _skips_of(skipped: list[SkippedItem]) -> Iterator[UnitResult]:
    # Chained after the units: by the time it runs, cutting sources into units has finished.
    yield UnitResult((), tuple(skipped), 0, 0, {})


def _units(sources: list[SplittableSource], skipped: list[SkippedItem]) -> Iterator[WorkUnit]:
    for source in sources:
        for unit in source.units():
            if isinstance(unit, SkippedItem):
                skipped.append(unit)
            else:
                yield unit


def _reason_class(reason: str) -> str:
    # "too large (123 bytes > 456)" and "too large (789 …)" count as one reason in the summary.
    return reason.split(" (", 1)[0].split(":", 1)[0]
