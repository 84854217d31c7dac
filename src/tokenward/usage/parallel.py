"""Parallel monitoring: every worker learns and detects for its own share of the tokens, in log order.

A token belongs to worker k of n when the last character of its identifier has a code equal to k mod n
(`monitor.in_shard`); its events reach only that worker, so each baseline is learned in one process, in the
order one process would read the logs, and memory holds each token once.

- Formats whose records can only be told apart after decoding (CloudTrail, GitHub and OpenBao audit, OTLP)
  are decoded once, each file by the worker that claims it first (a mark on a board the workers share): it
  keeps its tokens' events and sends every other worker its share with a short notice on a pipe (a share
  over a few KB waits in a spool file). Each worker takes the files in order: its own from memory, the
  others' once their notice came; while it waits, it claims and decodes the next unclaimed files (a couple
  ahead of need).
- Other logs (JSON lines, access logs) are read by every worker, each keeping its tokens; the JSON lines
  parser drops other workers' lines before decoding them.

The workers are forked before the parent reads the inventory (importing the store alone costs ~0.25 s).
While the parent imports it, opens and registers every log and reads the tokens, stored baselines and recent
alerts, the workers with a core to themselves read ahead: they claim and decode by-file logs, the last first,
holding at most AHEAD_EVENTS events and learning nothing. (The others wait: sharing the parent's core would
delay the handoff, for nothing when the logs turn out to have been read before.) The parent then sends every
worker a Handoff; a worker spools the other workers' shares of the logs it decoded early (decoded again from
where the inventory left off, for those read from before) and runs. After the workers the parent merges their
baselines, alerts (in log order) and file offsets and writes one checkpoint. Workers never write the
database, nor import the store.
"""

from __future__ import annotations

import contextlib
import fcntl
import marshal
import multiprocessing
import os
import pickle
import select
import sys
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from types import TracebackType
from typing import Any

from tokenward.errors import UsageError
from tokenward.usage import agents, logfiles
from tokenward.usage.alerts import RANK, Alert, AlertManager, Recent
from tokenward.usage.detectors import TokenInfo
from tokenward.usage.events import ParseContext, UsageEvent
from tokenward.usage.geo import Geo
from tokenward.usage.identity import Joiner, MemoryDirectory
from tokenward.usage.monitor import (
    FileReport,
    Learned,
    Monitor,
    MonitorOptions,
    Probe,
    RunSummary,
    _Open,
    lazy_gc,
    prepare,
    probe_all,
    stopped,
)
from tokenward.usage.records import FileRecord, KnownFiles, profile_json

BY_FILE = frozenset({"cloudtrail", "github-audit", "openbao-audit", "otel"})  # split by file, not by token
AHEAD_EVENTS = 100_000  # events a worker holds at most, read ahead of the handoff (~35 MB of CloudTrail)


def _registered(opened: Sequence[_Open | FileReport]) -> dict[int, FileRecord]:
    """Every opened log's file record by id (a copy's, of copies), for the workers: they share read offsets
    without writing."""
    return {op.record.file_id: op.record for op in opened if isinstance(op, _Open) and op.record.file_id is not None}


def _merge_reports(parts: list[list[FileReport]]) -> list[FileReport]:
    """One report per log from the workers' reports of it: events summed; malformed lines summed where the
    workers split the lines between them (each counted its own), else every worker counted all of them."""
    merged = []
    for reports in zip(*parts, strict=True):
        first = reports[0]
        if not first.split:
            merged.append(replace(first, events=sum(r.events for r in reports)))
            continue
        examples = sorted(e for r in reports for e in r.examples)[:20]  # the first 20, as one process keeps them
        merged.append(replace(first, events=sum(r.events for r in reports), malformed=sum(r.malformed for r in reports),
                              examples=tuple(examples), split=False))
    return merged


def _merge(monitor: Monitor, results: list[dict[str, Any]], handed: dict[int, FileRecord]) -> None:
    """Fold the workers' results into the parent's monitor, as if it had read the logs itself (handed: the file
    records the workers were given; those they did not move are saved no more than one process saves them)."""
    for r in results:
        for token_id, (events, first_at, text) in r["profiles"].items():
            monitor.profiles.pop(token_id, None)  # the worker's is newer (the parent decodes none of its own)
            monitor.learned[token_id] = Learned(events, first_at, text)
        monitor.joiner.pending += [u for u in r["pending"] if u.info.token_id not in
                                   {p.info.token_id for p in monitor.joiner.pending}]
        monitor.joiner.new_idents.update(r["idents"])
        monitor.events += r["events"]
        monitor.unmapped += r["unmapped"]
        for sev, count in r["alert_counts"].items():
            monitor.alert_counts[sev] = monitor.alert_counts.get(sev, 0) + count
        monitor.violations.update({(v.token_id, v.kind): v for v in r["violations"]})
        for token_id, (name, held) in r["held"].items():
            monitor.held.setdefault(token_id, (name, set()))[1].update(held)
    monitor._files.update({fid: rec for fid, rec in results[0]["files"].items() if handed.get(fid) != rec})
    reports = _merge_reports([r["reports"] for r in results])
    monitor.malformed += sum(r.malformed for r in reports)  # a worker's count is the sum of its reports'
    monitor.reports += reports
    placed = sorted(((where, a) for r in results for where, a in r["alerts"]), key=lambda pair: pair[0])
    for alert in (Alert.from_dict(a) for _, a in placed):  # in log order, as one process raises them (but see _line)
        monitor.alerts.raised.append(alert)
        for sink in monitor.alerts.sinks if RANK[alert.severity] <= monitor.alerts.min_rank else ():
            sink.send(alert)  # as AlertManager.consider sends them: at or above --min-severity
    for r in results:
        for aid, count in r["suppressed"].items():
            monitor.alerts.suppressed[aid] = monitor.alerts.suppressed.get(aid, 0) + count


    monitor._violations += [v for r in results for v in r["violations"]]  # saved as one process saves them


def _result(monitor: Monitor, logs: Sequence[int]) -> dict[str, Any]:
    """(worker) What this worker changed, for the parent's merge (baselines as the text to store: the parent
    reads only their event count and first use; alerts with where they were raised, logs[j] being the position
    of the log whose event raised alert j)."""
    raised = monitor.alerts.raised
    return {
        "profiles": {t: (p.events, p.first_at, profile_json(p.to_dict())) for t, p in monitor.changed().items()},
        "alerts": [((i, _line(a), a.at), a.to_dict()) for i, a in zip(logs, raised, strict=True)],
        "suppressed": monitor.alerts.suppressed,
        "pending": monitor.joiner.pending, "idents": monitor.joiner.new_idents, "files": dict(monitor._files),
        "reports": monitor.reports, "events": monitor.events,
        "unmapped": monitor.unmapped, "alert_counts": monitor.alert_counts,
        "violations": list(monitor.violations.values()), "held": monitor.held,
    }


def _line(alert: Alert) -> int:
    """The line of the event that raised alert: its last evidence is that event's, at 'path:line'
    (Monitor._raise). The records of a document share its line: their alerts are merged by time."""
    return int(alert.evidence[-1].where.rpartition(":")[2])


# -- the files, opened by the parent; the handoff ----------------------------------------------------


def _once(opened: Sequence[_Open | FileReport]) -> frozenset[int]:
    """Positions of the logs decoded once (by whichever worker claims them first): by-file formats, less the
    copies of an earlier file (a copy is read by every worker after it, and finds it already read)."""
    out: set[int] = set()
    seen: set[int | None] = set()
    for i, op in enumerate(opened):
        if not isinstance(op, _Open) or op.parser is None or op.parser.name not in BY_FILE:
            continue
        fid = op.record.file_id
        if fid is None or fid not in seen:
            out.add(i)
        seen.add(fid)
    return frozenset(out)


def _readers(n: int) -> int:
    """How many workers read ahead: those with a core to themselves beside the parent's. More would slow the
    parent, and so its handoff, down; for nothing when what they read turns out to have been read before."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(0, min(n, cores - 1))


@dataclass(frozen=True)
class Handoff:
    """What the parent sends every worker once it has read the inventory: each log's file record (or the report
    of why it could not be opened), which logs are decoded once, and what the monitor knows of tokens, baselines
    and alerts."""

    opened: tuple[FileRecord | FileReport, ...]
    once: frozenset[int]
    files: dict[int, FileRecord]  # the monitor's file records by id
    tokens: dict[str, TokenInfo]  # the joiner's tables
    idents: dict[tuple[str, str], str]
    flags: dict[str, tuple[bool, bool, str | None]]
    stored: dict[str, str]  # token id -> stored baseline text
    recent: dict[tuple[str, str, str], Recent]  # the alert manager's memory, and its threshold
    min_rank: int


def _handoff(monitor: Monitor, opened: Sequence[_Open | FileReport], handed: dict[int, FileRecord]) -> bytes:
    """(parent) The Handoff of monitor and its opened logs, pickled once for all the workers."""
    j, a = monitor.joiner, monitor.alerts
    h = Handoff(tuple(op.record if isinstance(op, _Open) else op for op in opened), _once(opened),
                {**monitor._files, **handed}, j.by_id, j.by_ident, j.flags, monitor._stored, a.recent, a.min_rank)
    return pickle.dumps(h, protocol=pickle.HIGHEST_PROTOCOL)


def _adopt(monitor: Monitor, h: Handoff) -> None:
    """(worker) Take the parent's tokens, baselines, alerts and file records; new tokens are declared by the
    parent (from the worker's result): this joiner's directory is memory."""
    monitor.joiner = Joiner(MemoryDirectory())
    monitor.joiner.by_id, monitor.joiner.by_ident, monitor.joiner.flags = h.tokens, h.idents, h.flags
    monitor.alerts = AlertManager([], h.recent)
    monitor.alerts.min_rank = h.min_rank
    monitor._stored, monitor._files = h.stored, KnownFiles(h.files)


# -- a worker ---------------------------------------------------------------------------------------

LOOKAHEAD = 2  # logs claimed and decoded ahead of need at most, once running (memory: this many logs' events)
DONE = -1  # the notice of a worker that finished
CLAIMS_LOCK = "claims.lock"  # in the spool: held while a worker marks the board
INLINE_MOST = select.PIPE_BUF - 64  # a share this small (pickled, with its notice) goes with the notice
Batch = tuple[list[UsageEvent], int, int]  # events, end offset, next line
# every worker's batches of a decoded log (another worker's events as plain tuples, to be spooled), and its outcome
Shares = tuple[list[list[tuple[list[Any], int, int]]], tuple[Any, ...]]


@dataclass(frozen=True)
class Part:
    """One worker's share of one decoded file: its events batch by batch, and the file's outcome."""

    batches: tuple[Batch, ...]
    outcome: tuple[Any, ...]  # malformed, unattributed, examples, violations, note, unreadable


@dataclass
class _Worker:
    """Worker k of n: the monitor (forked), the logs, which are decoded once, and the pipes between workers."""

    monitor: Monitor
    opened: list[_Open | FileReport]  # as prepared from the probes; records and reports come with the handoff
    once: frozenset[int]  # before the handoff, copies included (none is known yet)
    k: int
    n: int
    spool: str
    inbox: dict[int, Connection]  # from worker j
    outbox: dict[int, Connection]  # to worker j
    board: Any  # shared by the workers: 1 at a log's position once a worker claimed it (under the claims lock)
    ready: dict[int, Part] = field(default_factory=dict)  # logs claimed and decoded ahead of need
    kept: dict[int, Part] = field(default_factory=dict)  # logs decoded before the handoff (not counted as ready)
    # others' logs whose share came: the share itself when small enough to come with its notice, else None (spooled)
    noticed: dict[int, bytes | None] = field(default_factory=dict)
    claims: dict[int, bool] = field(default_factory=dict)  # logs this worker asked for -> whether it got them
    order: list[int] = field(default_factory=list)  # the logs decoded once, in order
    cursor: int = 0  # in order: where claiming ahead goes on
    early: dict[int, Shares] = field(default_factory=dict)  # logs decoded before the handoff
    logs: list[int] = field(default_factory=list)  # the position of the log that raised each alert
    lock: int = -1  # this process's descriptor of the claims lock file (opened on first claim)

    def read_ahead(self, parent: Connection) -> None:
        """(before the handoff) Claim and decode by-file logs, the last first, until the handoff is there or
        AHEAD_EVENTS events are held; nothing is learned or spooled yet. The last first: in a tree that grows,
        the newest logs are the ones not read yet (others are decoded in vain, then again from their offset)."""
        held = 0
        for i in sorted(self.once, reverse=True):
            if held >= AHEAD_EVENTS or parent.poll():
                return
            op = self.opened[i]
            if isinstance(op, _Open) and self.claim(i):  # decoded from a copy of op: a redo starts from op as it was
                shares = self.early[i] = self._shares(replace(op, ctx=ParseContext(op.ctx.source)))
                held += sum(len(events) for share in shares[0] for events, _, _ in share)

    def adopt(self, h: Handoff) -> None:
        """Take the parent's handoff; spool the other workers' shares of the logs decoded early (again, from
        where the inventory left them, when it had read from them before)."""
        _adopt(self.monitor, h)
        self.once, self.order = h.once, sorted(h.once)
        for i, entry in enumerate(h.opened):
            op = self.opened[i]
            if isinstance(entry, FileReport):
                self.opened[i] = entry  # the parent could not open it
            elif isinstance(op, _Open):
                op.record = entry
        for i, shares in sorted(self.early.items()):
            op = self.opened[i]
            if i in self.once and isinstance(op, _Open):
                unread = op.record.offset == 0 and op.record.lines == 0
                self.kept[i] = self._deliver(i, shares if unread else self._shares(op))
        self.early.clear()

    def run(self) -> None:
        """Take every log in order: decoded ones from self or a spool, the others read with a shard filter."""
        raised = self.monitor.alerts.raised
        for i, op in enumerate(self.opened):
            before = len(raised)
            if isinstance(op, FileReport):
                self.monitor.reports.append(op)
            elif i in self.once:
                self.take(op, self.share(i))
            else:
                self.monitor.read_file(op.path)
            self.logs += [i] * (len(raised) - before)

    def share(self, i: int) -> Part:
        """This worker's share of log i: decoded here (ahead, or now when no other worker claimed it first), or
        spooled by the worker that did."""
        if i in self.ready or i in self.kept:
            return self.ready.pop(i) if i in self.ready else self.kept.pop(i)
        return self.decode(i) if self.claim(i) else self.receive(i)

    def claim(self, i: int) -> bool:
        """Whether this worker decodes log i: the first worker to ask gets it (a mark on the shared board, under a
        record lock of ~2 µs; an exclusive file in the spool per log cost ~0.1 ms to create here). A lock the
        kernel holds for a process, not a semaphore: a worker killed while holding it cannot hang the others."""
        got = self.claims.get(i)
        if got is None:
            if self.lock < 0:
                self.lock = os.open(os.path.join(self.spool, CLAIMS_LOCK), os.O_RDWR)
            fcntl.lockf(self.lock, fcntl.LOCK_EX)  # a record lock: the kernel drops it if this worker dies
            try:
                got = not self.board[i]
                self.board[i] = 1
            finally:
                fcntl.lockf(self.lock, fcntl.LOCK_UN)
            self.claims[i] = got
        return got

    def decode(self, i: int) -> Part:
        """Decode log i; spool the other workers' shares, notify them; this worker's share."""
        op = self.opened[i]
        assert isinstance(op, _Open)
        return self._deliver(i, self._shares(op))

    def _shares(self, op: _Open) -> Shares:
        """Every worker's share of the events of op, batch by batch, and the log's outcome."""
        assert op.parser is not None
        shares: list[list[tuple[list[Any], int, int]]] = [[] for _ in range(self.n)]
        deal = getattr(op.parser, "parse_shares", None)  # a parser that deals while it decodes (CloudTrail)
        try:
            with logfiles.open_log(op.path) as stream:
                for batch in self.monitor.batches(op, stream, final=True):
                    parts = (deal(batch.lines, batch.first_line, op.ctx, self.n) if deal else
                             _split(op.parser.parse(batch.lines, batch.first_line, op.ctx), self.k, self.n))
                    for j, part in enumerate(parts):
                        shares[j].append((part, batch.end, batch.next_line))
        except (OSError, EOFError, zlib.error) as exc:
            stopped(op, exc)
        c = op.ctx
        return shares, (c.malformed, c.unattributed, c.examples, c.violations, op.note, op.unreadable)

    def _deliver(self, i: int, decoded: Shares) -> Part:
        """Hand the other workers their shares of log i, each with its notice when small (a few records, or none:
        a log read before), else spooled; this worker's share."""
        shares, outcome = decoded
        for j, conn in self.outbox.items():
            rows = marshal.dumps(shares[j])  # plain tuples and strings: marshal writes each shared string once
            part = pickle.dumps((rows, outcome), protocol=pickle.HIGHEST_PROTOCOL)
            inline = len(part) + 32 <= INLINE_MOST  # (i, part) pickles to at most ~28 bytes more than part
            if not inline:
                with open(os.path.join(self.spool, f"{i}.{j}"), "wb") as fh:
                    fh.write(part)
            self._send(conn, pickle.dumps((i, part if inline else None), protocol=pickle.HIGHEST_PROTOCOL))
        return Part(tuple(shares[self.k]), outcome)

    def _send(self, conn: Connection, notice: bytes) -> None:
        """Send a pickled notice, reading the notices waiting here while the pipe is full. Two workers that decoded
        thousands of small logs each (one ahead of the handoff, the other from the start) would otherwise each
        wait for room in a pipe only the other, waiting too, reads. (A notice is at most INLINE_MOST bytes, one
        write of at most PIPE_BUF: once poll says there is room, it does not block.)"""
        out = conn.fileno()
        while True:
            senders = {c.fileno(): c for c in self.inbox.values()}
            poller = select.poll()
            poller.register(out, select.POLLOUT)
            for fd in senders:
                poller.register(fd, select.POLLIN)
            ready = dict(poller.poll())
            if ready.get(out):  # room, or the other end gone (the send then fails)
                break
            self._notices([senders[fd] for fd in ready if fd in senders])
        conn.send_bytes(notice)

    def receive(self, i: int) -> Part:
        """The share of log i another worker claimed, once its notice came (with the share, or once spooled); logs
        are claimed and decoded ahead meanwhile."""
        while i not in self.noticed:
            if not self.inbox:
                raise RuntimeError(f"log {i} was claimed, and every other worker finished without spooling it")
            senders = list(self.inbox.values())
            noticed = wait(senders, timeout=0)
            if not noticed and (ahead := self._claim_ahead(i)) is not None:
                self.ready[ahead] = self.decode(ahead)
                continue
            self._notices(noticed or wait(senders))
        part = self.noticed.pop(i)
        if part is None:
            path = os.path.join(self.spool, f"{i}.{self.k}")
            with open(path, "rb") as fh:
                part = fh.read()
            os.unlink(path)
        rows, outcome = pickle.loads(part)
        return Part(tuple((e, end, nxt) for e, end, nxt in marshal.loads(rows)), outcome)  # rows: Monitor.ingest

    def _notices(self, senders: list[Any]) -> None:
        """Read the notices waiting from these workers; one that finished (DONE: it spooled every log it
        claimed) is not waited for any more."""
        for j, conn in list(self.inbox.items()):
            if conn in senders:
                notice = conn.recv()  # EOFError when that worker died: the run fails
                if notice == DONE:
                    del self.inbox[j]
                else:
                    log, part = notice
                    self.noticed[log] = part

    def done(self) -> None:
        """Tell the other workers this one finished (a worker that finished before has closed its end)."""
        for conn in self.outbox.values():
            with contextlib.suppress(OSError):
                self._send(conn, pickle.dumps(DONE, protocol=pickle.HIGHEST_PROTOCOL))

    def _claim_ahead(self, i: int) -> int | None:
        """The next log after i this worker claims, when fewer than LOOKAHEAD are waiting decoded."""
        if len(self.ready) >= LOOKAHEAD:
            return None
        while self.cursor < len(self.order):
            j = self.order[self.cursor]
            self.cursor += 1
            if j > i and j not in self.claims and self.claim(j):
                return j
        return None

    def take(self, op: _Open, part: Part) -> None:
        """Learn from this worker's share of a log, batch by batch, then report the log."""
        for events, end, next_line in part.batches:
            self.monitor.take(op, events, end, next_line)
        c = op.ctx
        c.malformed, c.unattributed, c.examples, c.violations, op.note, op.unreadable = part.outcome
        self.monitor._finish(op)


def _split(events: Sequence[UsageEvent], k: int, n: int) -> list[list[Any]]:
    """events dealt to n workers by their token's identifier (see monitor.in_shard), order kept: worker k's as
    they are, the others' as plain tuples (what the spool writes)."""
    out: list[list[Any]] = [[] for _ in range(n)]
    for ev in events:
        ident = ev.ident
        j = ord(ident[-1]) % n if ident else 0
        out[j].append(ev if j == k else tuple(ev))
    return out


def _shard_worker(worker: _Worker, parent: Connection, out: str) -> None:
    """(child) Read ahead, take the handoff, run worker k of n keeping shard k; pickle what changed to out.
    Never writes the database."""
    m, k, n = worker.monitor, worker.k, worker.n
    m.shard = (k, n)
    m.opt = replace(m.opt, parser=replace(m.opt.parser, shard=(k, n)), checkpoint_events=1 << 62,
                    checkpoint_seconds=float("inf"))
    m.state = None  # file records come with the handoff: lookups hit monitor._files
    agents.warm()  # here, not before the fork: a worker that does not read ahead has the time
    with lazy_gc():
        if k < _readers(n):
            worker.read_ahead(parent)
        try:
            handoff = pickle.loads(parent.recv_bytes())
        except EOFError:
            return  # the parent gave up before handing over (and says why)
        worker.adopt(handoff)
        worker.run()
    worker.done()
    with open(out, "wb") as fh:
        pickle.dump(_result(m, worker.logs), fh, protocol=pickle.HIGHEST_PROTOCOL)


def _pipes(n: int) -> dict[tuple[int, int], tuple[Connection, Connection]]:
    """One one-way pipe (receiving end, sending end) from every worker to every other."""
    ctx = multiprocessing.get_context("fork")
    return {(a, b): ctx.Pipe(duplex=False) for a in range(n) for b in range(n) if a != b}


def _child(worker: _Worker, parent: Connection, ends: list[Connection], out: str) -> None:
    """(child) Close the pipe ends of the parent and the other workers, then work."""
    mine = {id(c) for c in (*worker.inbox.values(), *worker.outbox.values(), parent)}
    for conn in ends:
        if id(conn) not in mine:
            conn.close()
    try:
        _shard_worker(worker, parent, out)
    except OSError as exc:  # a full or vanished temp dir: one line, and the parent reports the failed run
        sys.stderr.write(f"error: monitoring worker {worker.k}: cannot write its spool or result: "
                         f"{exc.strerror or exc}\n")
        raise SystemExit(1) from None


class Crew:
    """n workers forked over the logs of paths, before the inventory is read: each reads ahead until run()
    hands it the monitor. Their monitor is a fork of the one given here: its options, geography and detectors
    are theirs; its tokens, baselines, alerts and files are replaced by the handoff's."""

    def __init__(self, monitor: Monitor, paths: Sequence[str], n: int) -> None:
        if "-" in paths:
            raise UsageError("--workers reads every log once per worker: it cannot read stdin")
        for path in paths:
            if not os.path.exists(path):
                raise UsageError(f"{path}: no such file or directory")
        self.paths, self.n = list(paths), n
        self.probes = probe_all(paths, monitor.opt)
        self._tmp = tempfile.TemporaryDirectory(prefix="tokenward-usage-")
        self._procs, self._handoffs = self._start(monitor)

    def _start(self, monitor: Monitor) -> tuple[list[Any], list[Connection]]:
        """Fork the workers; each keeps only its own pipe ends (so a dead worker reads as EOF to the others, and
        a parent that gave up as EOF to all). The parent keeps the sending ends of the handoff pipes."""
        ctx = multiprocessing.get_context("fork")
        pipes, handoffs = _pipes(self.n), [ctx.Pipe(duplex=False) for _ in range(self.n)]
        opened = [prepare(p, monitor.opt) if isinstance(p, Probe) else p for p in self.probes]
        board = ctx.RawArray("b", max(1, len(opened)))
        open(os.path.join(self._tmp.name, CLAIMS_LOCK), "wb").close()
        once, ends = _once(opened), [c for pair in (*pipes.values(), *handoffs) for c in pair]
        sys.stdout.flush()  # a worker flushes what it inherited: nothing, then
        sys.stderr.flush()
        procs = []
        for k in range(self.n):
            inbox = {a: r for (a, b), (r, _) in pipes.items() if b == k}
            outbox = {b: w for (a, b), (_, w) in pipes.items() if a == k}
            worker = _Worker(monitor, list(opened), once, k, self.n, self._tmp.name, inbox, outbox, board)
            out = os.path.join(self._tmp.name, f"{k}.result")
            procs.append(ctx.Process(target=_child, args=(worker, handoffs[k][0], ends, out)))
            procs[-1].start()
        for r, w in pipes.values():
            r.close()
            w.close()
        for r, _ in handoffs:
            r.close()
        return procs, [w for _, w in handoffs]

    def run(self, monitor: Monitor) -> RunSummary:
        """Open and register the logs, hand the workers the monitor, merge what they did and checkpoint."""
        opened = monitor.open_all(self.paths, self.probes)
        handed = _registered(opened)
        payload = _handoff(monitor, opened, handed)
        for conn in self._handoffs:
            with contextlib.suppress(OSError):  # a worker that died: its exit code fails the run
                conn.send_bytes(payload)
            conn.close()
        for p in self._procs:
            p.join()
        if any(p.exitcode != 0 for p in self._procs):
            raise UsageError(f"a monitoring worker failed (exit codes {[p.exitcode for p in self._procs]})")
        results = []
        for k in range(self.n):
            with open(os.path.join(self._tmp.name, f"{k}.result"), "rb") as fh:
                results.append(pickle.load(fh))
        _merge(monitor, results, handed)
        monitor.checkpoint()
        return monitor.summary()

    def close(self) -> None:
        """Let the workers go (without a handoff they stop reading ahead and exit) and remove the spool."""
        for conn in self._handoffs:
            conn.close()
        for p in self._procs:
            p.join()
        self._tmp.cleanup()

    def __enter__(self) -> Crew:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def early_crew(paths: Sequence[str], workers: int, options: MonitorOptions, geo: Geo) -> Crew:
    """Workers forked before the inventory is opened (the CLI's parallel batch run): their monitor has only the
    options and geography; everything else comes with the handoff."""
    return Crew(Monitor(Joiner(MemoryDirectory()), AlertManager([]), None, options, geo), paths, workers)


def monitor_parallel(monitor: Monitor, paths: Sequence[str], workers: int) -> RunSummary:
    """Monitor.run over paths with `workers` forked processes (batch mode; not for stdin)."""
    if workers <= 1:
        return monitor.run(paths)
    with Crew(monitor, paths, workers) as crew:
        return crew.run(monitor)
