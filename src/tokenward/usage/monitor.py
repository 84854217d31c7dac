"""Monitoring: read logs (once, or following them through rotation), join, learn, detect, alert, checkpoint."""

from __future__ import annotations

import gc
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import TYPE_CHECKING, Any, BinaryIO

from tokenward.errors import UsageError
from tokenward.usage import logfiles
from tokenward.usage.agents import Agents
from tokenward.usage.alerts import AlertManager, Evidence, evidence_of
from tokenward.usage.baseline import ALWAYS, ERRORS, NEW_AGENT, NEW_IP, RATE, Profile, Tuning, counts
from tokenward.usage.detectors import (
    DETECTORS,
    Anomaly,
    Detector,
    DetectSettings,
    Scene,
    TokenInfo,
    detect,
    woken,
)
from tokenward.usage.events import EventRow, ParseContext, StorageViolation, UsageEvent, iso
from tokenward.usage.geo import Geo, GeoPlace
from tokenward.usage.identity import NEVER_DECLARED, Joiner
from tokenward.usage.logfiles import FileIdentity, LineBatch
from tokenward.usage.parsers import PARSERS, LogParser, ParserOptions, Sniffer, choose
from tokenward.usage.records import Checkpoint, FileRecord, KnownFiles, profile_data

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported by whoever opens the inventory, not by monitoring
    from tokenward.store.usage import UsageState


@dataclass(frozen=True)
class MonitorOptions:
    """How to read logs and when to checkpoint."""

    fmt: str = "auto"
    parser: ParserOptions = field(default_factory=ParserOptions)
    since: float = float("-inf")
    tuning: Tuning = field(default_factory=Tuning)
    settings: DetectSettings = field(default_factory=DetectSettings)
    checkpoint_events: int = 2_000_000
    checkpoint_seconds: float = 5.0
    poll_seconds: float = 0.25


@dataclass(frozen=True)
class FileReport:
    """What one log file gave."""

    path: str
    fmt: str
    events: int
    malformed: int
    unattributed: int
    note: str = ""
    examples: tuple[tuple[int, str], ...] = ()
    unreadable: bool = False  # not (wholly) readable: the run exits 3 unless it raised alerts
    split: bool = False  # (a parallel worker's report) malformed lines and examples are only this worker's


@dataclass(frozen=True)
class RunSummary:
    """What a monitor run read and raised."""

    files: tuple[FileReport, ...]
    events: int
    malformed: int
    alerts: dict[str, int]
    unmapped: int
    violations: tuple[StorageViolation, ...]
    learning: tuple[Learning, ...] = ()


@dataclass(frozen=True)
class Learning:
    """A token whose baseline was still learning when something new happened: what was held back."""

    token_id: str
    name: str  # preview or public id
    events: int
    first_seen: str
    held: tuple[str, ...]  # detectors that stayed quiet


@dataclass(frozen=True)
class Probe:
    """A log's identity, what its first bytes showed and why reading them stopped short (logfiles.probe), as
    open_all has it. The bytes themselves are not kept: a day of CloudTrail is hundreds of files, a month of an
    organisation's trail a hundred thousand, and their 64 KiB heads would be gigabytes in every process."""

    path: str
    ident: FileIdentity
    problem: str | None
    empty: bool  # no line that is not blank
    document: bool  # one JSON document over many lines (logfiles.is_document)
    fmt: str | None  # its format (Sniffer.format_of); None: not recognised

    @property
    def key(self) -> tuple[str, int, int]:
        """What the inventory finds remembered files by: first line hash, device, inode."""
        return self.ident.first_hash, self.ident.device, self.ident.inode


@dataclass(frozen=True)
class Learned:
    """A baseline a parallel worker learned, as the parent keeps it: what the summary reads, and its stored text."""

    events: int
    first_at: float
    text: str


@dataclass
class _Open:
    """A log being read: its record, parser and parse context (follow mode keeps these between polls)."""

    path: str
    record: FileRecord
    parser: LogParser | None
    ctx: ParseContext
    stream: BinaryIO | None = None
    document: bool = False
    gzip: bool = False
    size: int = 0
    events: int = 0
    note: str = ""
    unreadable: bool = False


def probed(path: str, sniffer: Sniffer) -> Probe:
    """The Probe of one log: one inflate of its head for its identity and its format (OSError: unreadable)."""
    ident, head, problem = logfiles.probe(path, logfiles.HEAD * 64)
    first = logfiles.first_line(head)
    document = logfiles.is_document(head)
    fmt = sniffer.format_of(head if document else first) if first else None
    return Probe(path, ident, problem, not first, document, fmt)


def probe_all(paths: Sequence[str], opt: MonitorOptions) -> list[Probe | FileReport]:
    """Every log of paths probed (identity, format), or the report of why it could not be."""
    sniffer = Sniffer(opt.fmt, opt.parser)
    probes: list[Probe | FileReport] = []
    for path in logfiles.iter_files(paths):
        try:
            probes.append(probed(path, sniffer))
        except OSError as exc:
            probes.append(unreadable(path, exc))
    return probes


def prepare(probe: Probe, opt: MonitorOptions) -> _Open:
    """A probed log with its parser (made with opt's parser options) and a fresh file record (offset 0, no id):
    what needs no inventory."""
    ident, problem = probe.ident, probe.problem
    fresh = FileRecord(None, ident.head_hash, ident.head_len, ident.first_hash, ident.device, ident.inode,
                       logfiles.display(probe.path), 0, 0, False)
    parser = PARSERS[probe.fmt](opt.parser) if probe.fmt else None
    note = "" if parser else "empty" if probe.empty else "format not recognised (use --format)"
    if problem and not parser:
        note = f"unreadable: {problem}"
    return _Open(probe.path, fresh, parser, ParseContext(fresh.path), document=probe.document, gzip=ident.gzip,
                 size=ident.size, note=note, unreadable=bool(problem and not parser))


def unreadable(path: str, exc: OSError) -> FileReport:
    """The report of a log that could not be opened."""
    return FileReport(path, "?", 0, 0, 0, f"unreadable: {exc.strerror or exc}", unreadable=True)


def stopped(op: _Open, exc: BaseException) -> None:
    """Note on op that reading it failed part way (what was read before is kept)."""
    op.note = f"read stopped early ({'truncated gzip' if isinstance(exc, EOFError) else exc}): kept what was read"
    op.unreadable = True


@contextmanager
def lazy_gc() -> Iterator[None]:
    """Fewer cyclic collections while reading (events die young; baselines make no cycles): ~10% faster.
    The collector runs inside even where the caller paused it (a batch run's start-up does)."""
    before, enabled = gc.get_threshold(), gc.isenabled()
    gc.freeze()
    gc.set_threshold(100_000, 50, 50)
    gc.enable()
    try:
        yield
    finally:
        if not enabled:
            gc.disable()
        gc.set_threshold(*before)
        gc.unfreeze()


def in_shard(ident: str, shard: tuple[int, int]) -> bool:
    """True when ident belongs to worker shard[0] of shard[1]: its last character's code, mod shard[1]."""
    return ord(ident[-1]) % shard[1] == shard[0] if ident else shard[0] == 0


def snapshot(p: Profile) -> dict[str, Any]:
    """The part of a baseline an alert explanation shows."""
    def top(table: dict[Any, Any], n: int = 8) -> list[list[Any]]:
        return [[k, v] for k, v in sorted(counts(table).items(), key=lambda kv: -kv[1])[:n]]
    rate = {"mean": round(p.mean, 2), "deviation": round(p.dev, 2), "peak": round(p.peak, 1)}
    return {"events": p.events, "first_seen": iso(p.first_at) if p.first_at else None, "countries": top(p.countries),
            "networks": top(p.prefixes), "agents": top(p.agents), "actions": len(p.actions),
            "top_actions": top(p.actions), "rate_per_10min": rate,
            "active_hours_of_week": sum(1 for c in p.how if c)}


class Monitor:
    """Usage monitoring over one inventory (or none): the pipeline from log lines to alerts."""

    def __init__(self, joiner: Joiner, alerts: AlertManager, state: UsageState | None = None,
                 options: MonitorOptions = MonitorOptions(), geo: Geo | None = None,
                 detectors: dict[str, Detector] = DETECTORS) -> None:
        self.joiner, self.alerts, self.state, self.opt = joiner, alerts, state, options
        self.geo, self.agents, self.detectors = geo or Geo(), Agents(), detectors
        self.profiles: dict[str, Profile] = {}  # decoded baselines (a stored one on its token's first event)
        self._stored: dict[str, str] = state.profile_texts() if state is not None else {}
        # identifier -> (token, baseline, identifier kind, ALWAYS or 0, the baseline's observe)
        self._cache: dict[str, tuple[TokenInfo, Profile, str, int, Callable[[EventRow], int]]] = {}
        self._saved: dict[str, int] = {}  # token id -> events when its baseline was last written
        self.learned: dict[str, Learned] = {}  # token id -> its baseline as a parallel worker left it
        self._files = KnownFiles()
        self._violations: list[StorageViolation] = []
        self.violations: dict[tuple[str, str], StorageViolation] = {}
        self._declared: list[tuple[str, bool, str | None]] = []
        self.reports: list[FileReport] = []
        self.events = self.malformed = self.unmapped = 0
        self.alert_counts: dict[str, int] = {}
        self.held: dict[str, tuple[str, set[str]]] = {}  # token id -> (name, detectors held back while learning)
        # trigger bits -> the detectors they wake, whether all of them wait for a grown baseline, and their names
        self._woken: dict[int, tuple[tuple[Detector, ...], bool, frozenset[str]]] = {}
        self._since_checkpoint = 0
        self._last_checkpoint = time.monotonic()
        self.shard: tuple[int, int] | None = None  # (k, n): only tokens whose identifier hashes to k mod n

    # -- the hot path ---------------------------------------------------------------------------

    def ingest(self, events: Sequence[EventRow], where: str) -> None:
        """Learn from and detect on events read from where (a display path): UsageEvents, or their fields as
        plain tuples (what parallel workers deal), made UsageEvents only where a token is joined or a detector
        wakes."""
        if self.opt.since > float("-inf"):
            events = [e for e in events if e[0] >= self.opt.since]
        cache, slow, new, event = self._cache, self._slow, tuple.__new__, UsageEvent
        for ev in events:
            hit = cache.get(ev[2])  # ev.ident, ev.ident_kind: indexing is cheaper on this path
            if hit is None or hit[2] != ev[1]:
                hit = self._join(new(event, ev))
            trig = hit[4](ev) | hit[3]  # Profile.observe unpacks its event: a row does as well
            if trig:
                slow(hit[0], hit[1], new(event, ev), trig, where)
        self.events += len(events)
        self._since_checkpoint += len(events)

    def _join(self, ev: UsageEvent) -> tuple[TokenInfo, Profile, str, int, Callable[[EventRow], int]]:
        before = len(self.joiner.pending)
        info = self.joiner.resolve(ev)
        self.unmapped += len(self.joiner.pending) - before
        prof = self.profiles.get(info.token_id) or self.baseline(info.token_id)
        always = ALWAYS if info.honeytoken or info.status != "open" else 0
        hit = self._cache[ev.ident] = (info, prof, ev.ident_kind, always, prof.observe)
        return hit

    def baseline(self, token_id: str) -> Profile:
        """The token's baseline, decoded from its stored text on first use (a worker decodes only its own
        tokens', and a run only the tokens it sees), or a new one."""
        text = self._stored.pop(token_id, None)
        if text is None:
            prof = Profile(token_id, self.opt.tuning)
        else:
            prof = Profile.from_dict(profile_data(text), self.opt.tuning)
            self._saved[token_id] = prof.events
        self.profiles[token_id] = prof
        return prof

    def _slow(self, info: TokenInfo, prof: Profile, ev: UsageEvent, trig: int, where: str) -> None:
        agent = self.agents.classify(ev.agent) if trig & NEW_AGENT else None
        woke = self._woken.get(trig)
        if woke is None:
            wake = woken(self.detectors, trig)
            woke = self._woken[trig] = (wake, all(d.gated for d in wake), frozenset(d.name for d in wake))
        wake, gated, names = woke
        if gated and prof.learning(ev.at):  # what detect() would do, without a Scene
            if names:
                self._hold(info, names)
            place = (self.geo.place(ev.ip) if ev.ip else GeoPlace()) if trig & NEW_IP else None
            prof.learn(ev, trig, place, agent)
            return
        scene = Scene(ev, info, trig, self.geo, agent, self.opt.settings)
        held: set[str] = set()
        for f in detect(prof, scene, wake, held):
            self._raise(info, prof, ev, f, trig, where)
        if held:
            self._hold(info, held)
        prof.learn(ev, trig, scene.place if trig & NEW_IP else None, agent)

    def _hold(self, info: TokenInfo, names: Iterable[str]) -> None:
        """Note detectors a young baseline held back for this token."""
        entry = self.held.get(info.token_id)
        if entry is None:
            entry = self.held[info.token_id] = (info.public_id or info.preview, set())
        entry[1].update(names)

    def _raise(self, info: TokenInfo, prof: Profile, ev: UsageEvent, f: Anomaly, trig: int, where: str) -> None:
        """Hand one detector's finding to the alert manager, with its evidence and the baseline it was judged by."""
        evidence: list[Evidence] = [evidence_of(ev, f"{where}:{ev.line}")]
        if trig & (RATE | ERRORS) and f.detector in ("rate-spike", "error-burst"):
            evidence.insert(0, replace(evidence[0], where=f"{where}:{prof.bucket_line}-{ev.line}",
                                       ref="the 10-minute bucket so far"))
        alert = self.alerts.consider(info, ev, f, evidence, snapshot(prof))
        if alert is not None:
            self.alert_counts[alert.severity] = self.alert_counts.get(alert.severity, 0) + 1

    # -- checkpoints ----------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Persist baselines, offsets, alerts and new identities together (no-op without state)."""
        unmapped = self.joiner.flush()
        self._declared += [(u.info.token_id, False, NEVER_DECLARED) for u in unmapped]
        raised, suppressed = self.alerts.drain()
        self._since_checkpoint, self._last_checkpoint = 0, time.monotonic()
        if self.state is None:
            return
        changed = self.changed()
        profiles: dict[str, dict[str, Any] | str] = {t: p.to_dict() for t, p in changed.items()}
        profiles.update({t: b.text for t, b in self.learned.items() if self._saved.get(t) != b.events})
        cp = Checkpoint(profiles, tuple(self._files.changed()), tuple(raised), suppressed,
                        dict(self.joiner.new_idents), tuple(self._declared), tuple(self._violations))
        self._files.saved(self.state.checkpoint(cp))
        self._files.pop(0, None)
        self._saved.update({t: p.events for t, p in changed.items()})
        self._saved.update({t: b.events for t, b in self.learned.items()})
        self.joiner.new_idents.clear()
        self._declared, self._violations = [], []

    def changed(self) -> dict[str, Profile]:
        """The decoded baselines that changed since they were last stored."""
        return {t: p for t, p in self.profiles.items() if self._saved.get(t) != p.events}

    def _maybe_checkpoint(self) -> None:
        if self._since_checkpoint >= self.opt.checkpoint_events or (
                self._since_checkpoint and time.monotonic() - self._last_checkpoint >= self.opt.checkpoint_seconds):
            self.checkpoint()

    # -- files ----------------------------------------------------------------------------------

    def _match(self, ident: FileIdentity, stored: Sequence[FileRecord] | None = None) -> FileRecord | None:
        """The record of a file known by ident (stored: the inventory's candidates, when already asked)."""
        known = self._files.candidates(ident.first_hash, ident.device, ident.inode)
        if stored is None and self.state is not None:
            stored = self.state.find_file(ident.first_hash, ident.device, ident.inode)
        known += [r for r in stored or () if r.file_id not in self._files]
        for rec in known:
            if rec.head_len == ident.head_len and rec.head_hash == ident.head_hash:
                return rec
            if rec.head_len < ident.head_len and logfiles.head_hash(ident.path, rec.head_len) == rec.head_hash:
                return rec
        return None

    def open_all(self, paths: Sequence[str], probes: Sequence[Probe | FileReport] | None = None
                 ) -> list[_Open | FileReport]:
        """Every log of paths opened as _open opens one, or the report of why not; the inventory is asked once
        for the files it remembers and the new ones are registered in one transaction (a day of CloudTrail is
        hundreds of files: a query and a commit each cost ~1 ms of the serial start of a parallel run).
        probes: probe_all(paths, self.opt), when already made."""
        if probes is None:
            probes = probe_all(paths, self.opt)
        stored = self.state.find_files([p.key for p in probes if isinstance(p, Probe)]) if self.state else {}
        new: list[FileRecord] | None = [] if self.state is not None else None  # registered at the end
        out: list[_Open | FileReport] = []
        for p in probes:
            try:
                out.append(p if isinstance(p, FileReport) else self._open(p.path, p, stored.get(p.key, []), new))
            except OSError as exc:  # a remembered file's head re-read
                out.append(unreadable(p.path, exc))
        return self._register_new(out, new or [])

    def _register_new(self, out: list[_Open | FileReport], new: list[FileRecord]) -> list[_Open | FileReport]:
        """Give the records open_all made (under ids -1, -2, …) their ids, in the order one registration per
        file would have given them."""
        if not new or self.state is None:
            return out
        saved = self.state.checkpoint(Checkpoint({}, tuple(replace(r, file_id=None) for r in new), (), {}, {}, (), ()))
        ids: dict[int | None, int | None] = {}
        for temp, rec in zip((r.file_id for r in new), saved, strict=True):
            del self._files[temp or 0]
            ids[temp] = rec.file_id
        self._files.saved(saved)
        for op in out:
            if isinstance(op, _Open) and op.record.file_id in ids:
                op.record = replace(op.record, file_id=ids[op.record.file_id])
        return out

    def _open(self, path: str, probe: Probe | None = None, stored: Sequence[FileRecord] | None = None,
              new: list[FileRecord] | None = None) -> _Open:
        """Open one log: its format chosen and its file record found or registered (open_all passes the probe, the
        inventory's candidates and the list new records wait in)."""
        probe = probe or probed(path, Sniffer(self.opt.fmt, self.opt.parser))
        op, ident = prepare(probe, self.opt), probe.ident
        rec, fresh = self._match(ident, stored), op.record
        if rec is None and op.parser and new is not None:
            rec = self._files[-1 - len(new)] = replace(fresh, file_id=-1 - len(new))
            new.append(rec)
        elif rec is None:
            rec = self.checkpoint_file(fresh) if op.parser else fresh
        else:
            rec = replace(rec, head_hash=ident.head_hash, head_len=ident.head_len, device=ident.device,
                          inode=ident.inode, path=fresh.path)
        op.record = rec
        return op

    def _consume(self, op: _Open, batch: LineBatch) -> None:
        assert op.parser is not None
        events = op.parser.parse(batch.lines, batch.first_line, op.ctx)
        if self.shard and not getattr(op.parser, "sharded", False):
            events = [e for e in events if in_shard(e.ident, self.shard)]
        self.take(op, events, batch.end, batch.next_line)

    def take(self, op: _Open, events: Sequence[EventRow], end: int, next_line: int) -> None:
        """Ingest the events of one batch of op, then move its read offset to end (-1: not a checkpoint)."""
        self.ingest(events, op.ctx.source)
        op.events += len(events)
        if end >= 0:
            op.record = replace(op.record, offset=end, lines=next_line - 1)
            if op.record.file_id is not None:
                self._files[op.record.file_id] = op.record
            self._maybe_checkpoint()

    def checkpoint_file(self, rec: FileRecord) -> FileRecord:
        """Give a new file record an id at offset 0 (later checkpoints move it with the baselines)."""
        if self.state is None:
            return rec
        saved = self.state.checkpoint(Checkpoint({}, (rec,), (), {}, {}, (), ()))[0]
        self._files.saved([saved])
        return saved

    def _read(self, op: _Open, final: bool) -> None:
        if op.parser is None:
            return
        stream = op.stream or logfiles.open_log(op.path)
        try:
            for batch in self.batches(op, stream, final):
                self._consume(op, batch)
        finally:
            if op.stream is None:
                stream.close()

    def batches(self, op: _Open, stream: BinaryIO, final: bool) -> Iterator[LineBatch]:
        """The batches of op still to read from stream (a document is one batch, read once)."""
        if op.document:
            if op.record.offset == 0:
                yield logfiles.document(stream)
            return
        logfiles.skip(stream, op.record.offset)
        limit = op.size if self.shard and not op.gzip else None
        newlines = getattr(op.parser, "newlines", False)  # parsers of JSON lines take lines with their newline
        yield from logfiles.batches(stream, op.record.offset, op.record.lines + 1, final, limit, newlines)

    def _finish(self, op: _Open) -> None:
        self.malformed += op.ctx.malformed
        self._violations += op.ctx.violations
        self.violations.update({(v.token_id, v.kind): v for v in op.ctx.violations})
        name = op.parser.name if op.parser else "?"
        self.reports.append(FileReport(op.ctx.source, name, op.events, op.ctx.malformed, op.ctx.unattributed,
                                       op.note, tuple(op.ctx.examples), op.unreadable, op.ctx.split))
        op.ctx.malformed = op.ctx.unattributed = 0
        op.ctx.violations, op.ctx.examples, op.events = [], [], 0

    def read_file(self, path: str) -> None:
        """Read one log from where it was left (skipping content already read)."""
        if path == "-":
            self._read_stdin()
            return
        try:
            op = self._open(path)
        except OSError as exc:
            self.reports.append(unreadable(path, exc))
            return
        self._read_opened(op)

    def _read_opened(self, op: _Open | FileReport) -> None:
        """Read an opened log from where it was left, and report it (a log that could not be opened: reported)."""
        if isinstance(op, FileReport):
            self.reports.append(op)
            return
        known = self._files.get(op.record.file_id) if op.record.file_id is not None else None
        if known is not None:  # a copy of a log read since both were opened: on from where that one ended
            op.record = replace(op.record, offset=known.offset, lines=known.lines, complete=known.complete)
        try:
            self._read(op, final=True)
        except (OSError, EOFError, zlib.error) as exc:
            stopped(op, exc)
        self._finish(op)

    def _read_stdin(self) -> None:
        stream = logfiles.open_log("-")
        gen = logfiles.batches(stream, 0, 1)
        first = next(gen, None)
        if first is None:
            return
        parser = choose(self.opt.fmt, first.lines[0], self.opt.parser)
        op = _Open("-", FileRecord(None, "", 0, "", 0, 0, "stdin", 0, 0, False), parser, ParseContext("stdin"),
                   note="" if parser else "format not recognised (use --format)")
        if parser is not None:
            for batch in (first, *gen):
                op.events += len(evs := parser.parse(batch.lines, batch.first_line, op.ctx))
                self.ingest(evs, "stdin")
        self._finish(op)

    def run(self, paths: Sequence[str]) -> RunSummary:
        """Read every log of paths once, then checkpoint. The logs are opened together (open_all: one inventory
        query per 500 and one registration), then read in order; stdin where it is named."""
        files = list(logfiles.iter_files(paths))
        for path in files:
            if path != "-" and not os.path.exists(path):
                raise UsageError(f"{path}: no such file or directory")
        with lazy_gc():
            for stdin, group in groupby(files, key=lambda p: p == "-"):
                names = list(group)
                if stdin:
                    for _ in names:
                        self._read_stdin()
                    continue
                for op in self.open_all(names):
                    self._read_opened(op)
        self.checkpoint()
        return self.summary()

    def summary(self) -> RunSummary:
        """What was read and raised so far."""
        return RunSummary(tuple(self.reports), self.events, self.malformed, dict(self.alert_counts), self.unmapped,
                          tuple(self.violations.values()), self.learning())

    def learning(self) -> tuple[Learning, ...]:
        """The tokens whose young baselines held detectors back in this run (their alerts come once learned)."""
        out = []
        for token_id, (name, held) in sorted(self.held.items()):
            p = self.profiles.get(token_id) or self.learned.get(token_id)
            if p is not None:
                out.append(Learning(token_id, name, p.events, iso(p.first_at) if p.first_at else "-",
                                    tuple(sorted(held))))
        return tuple(out)

    # -- follow ---------------------------------------------------------------------------------

    def follow(self, paths: Sequence[str], stop: threading.Event) -> RunSummary:
        """Read paths, then keep reading what is appended, through rename and copytruncate rotation."""
        tails: dict[str, _Open] = {}
        while not stop.is_set():
            for path in logfiles.iter_files(paths):
                if path != "-":
                    self._poll(path, tails)
            self._maybe_checkpoint()
            stop.wait(self.opt.poll_seconds)
        for op in tails.values():
            self._finish(op)
            if op.stream is not None:
                op.stream.close()
        self.checkpoint()
        return self.summary()

    def _poll(self, path: str, tails: dict[str, _Open]) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return  # rotated away; the new file will appear
        op = tails.get(path)
        if op is not None and op.parser is None and st.st_size != op.size:
            op = None  # was empty or unrecognised: look again now that there is content
        elif op is not None and st.st_ino != op.record.inode:
            self._drain(op)  # renamed away: read what was written before the rename, then the new file
            op = None
        elif op is not None and (st.st_size < op.record.offset or self._head_changed(op, st.st_size)):
            self._finish(op)  # truncated (copytruncate): start the file again
            op.stream and op.stream.close()
            op = None
        if op is None:
            try:
                op = tails[path] = self._open(path)
            except OSError:
                return
            if not logfiles.is_gzip(path):
                op.stream = logfiles.open_log(path)
        if st.st_size != op.size or op.record.offset == 0:
            op.size = st.st_size
            self._read(op, final=False)

    def _head_changed(self, op: _Open, size: int) -> bool:
        if size == op.size or op.record.head_len == 0:
            return False
        try:
            return logfiles.head_hash(op.path, op.record.head_len) != op.record.head_hash
        except OSError:
            return False

    def _drain(self, op: _Open) -> None:
        if op.stream is not None:
            self._read(op, final=True)
            op.stream.close()
        self._finish(op)
