"""Parallel monitoring: every worker learns and detects for its own share of the tokens, in log order.

A token belongs to worker k of n when the last character of its identifier has a code equal to k mod n
(`monitor.in_shard`); its events reach only that worker, so each baseline is learned in one process, in the
order one process would read the logs, and memory holds each token once.

- Formats whose records can only be told apart after decoding (CloudTrail, GitHub and OpenBao audit, OTLP)
  are decoded once: the files are dealt to the workers round robin; a worker decodes its own files (a
  couple ahead of need), keeps its tokens' events and leaves every other worker's share in a spool file
  with a short notice on a pipe. Each worker then takes the files in order: its own from memory, the others
  from the spool once their notice came.
- Other logs (JSON lines, access logs) are read by every worker, each keeping its tokens; the JSON lines
  parser drops other workers' lines before decoding them.

The parent opens and registers every log first, and after the workers merges their baselines, alerts and
file offsets and writes one checkpoint. Workers never write the database.
"""

from __future__ import annotations

import bisect
import marshal
import multiprocessing
import os
import pickle
import sys
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

from tokenward.errors import UsageError
from tokenward.store.usage import profile_json
from tokenward.usage import agents, logfiles
from tokenward.usage.alerts import Alert
from tokenward.usage.events import UsageEvent
from tokenward.usage.monitor import FileReport, Learned, Monitor, RunSummary, _Open, lazy_gc, stopped

BY_FILE = frozenset({"cloudtrail", "github-audit", "openbao-audit", "otel"})  # split by file, not by token


def _register(monitor: Monitor, opened: Sequence[_Open | FileReport]) -> None:
    """Give the workers every opened log's file record, so they share read offsets without writing."""
    for op in opened:
        if isinstance(op, _Open) and op.record.file_id is not None:
            monitor._files[op.record.file_id] = op.record


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


def _merge(monitor: Monitor, results: list[dict[str, Any]]) -> None:
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
    monitor._files.update(results[0]["files"])
    reports = _merge_reports([r["reports"] for r in results])
    monitor.malformed += sum(r.malformed for r in reports)  # a worker's count is the sum of its reports'
    monitor.reports += reports
    alerts = sorted((Alert.from_dict(a) for r in results for a in r["alerts"]), key=lambda a: a.at)
    for alert in alerts:
        monitor.alerts.raised.append(alert)
        for sink in monitor.alerts.sinks:
            sink.send(alert)
    for r in results:
        for aid, count in r["suppressed"].items():
            monitor.alerts.suppressed[aid] = monitor.alerts.suppressed.get(aid, 0) + count


    monitor._violations += [v for r in results for v in r["violations"]]  # saved as one process saves them


def _result(monitor: Monitor) -> dict[str, Any]:
    """(worker) What this worker changed, for the parent's merge (baselines as the text to store: the parent
    reads only their event count and first use)."""
    return {
        "profiles": {t: (p.events, p.first_at, profile_json(p.to_dict())) for t, p in monitor.changed().items()},
        "alerts": [a.to_dict() for a in monitor.alerts.raised], "suppressed": monitor.alerts.suppressed,
        "pending": monitor.joiner.pending, "idents": monitor.joiner.new_idents, "files": monitor._files,
        "reports": monitor.reports, "events": monitor.events,
        "unmapped": monitor.unmapped, "alert_counts": monitor.alert_counts,
        "violations": list(monitor.violations.values()), "held": monitor.held,
    }


# -- the files, opened by the parent ---------------------------------------------------------------


def _owners(opened: Sequence[_Open | FileReport], n: int) -> dict[int, int]:
    """Position of each log decoded once → the worker that decodes it (round robin): by-file formats, and
    not a copy of an earlier file (a copy is read by every worker after it, and finds it already read)."""
    out: dict[int, int] = {}
    seen: set[int | None] = set()
    for i, op in enumerate(opened):
        if not isinstance(op, _Open) or op.parser is None or op.parser.name not in BY_FILE:
            continue
        fid = op.record.file_id
        if fid is None or fid not in seen:
            out[i] = len(out) % n
        seen.add(fid)
    return out


# -- a worker ---------------------------------------------------------------------------------------

LOOKAHEAD = 2  # own files decoded ahead of need at most (memory: this many files' events)
Batch = tuple[list[UsageEvent], int, int]  # events, end offset, next line


@dataclass(frozen=True)
class Part:
    """One worker's share of one decoded file: its events batch by batch, and the file's outcome."""

    batches: tuple[Batch, ...]
    outcome: tuple[Any, ...]  # malformed, unattributed, examples, violations, note, unreadable


@dataclass
class _Worker:
    """Worker k of n: the monitor (forked), the logs, who decodes which, and the pipes between workers."""

    monitor: Monitor
    opened: list[_Open | FileReport]
    owners: dict[int, int]
    k: int
    n: int
    spool: str
    inbox: dict[int, Connection]  # from worker j
    outbox: dict[int, Connection]  # to worker j
    ready: dict[int, Part] = field(default_factory=dict)  # own files decoded ahead
    noticed: set[int] = field(default_factory=set)  # others' files whose spool is written
    mine: list[int] = field(default_factory=list)  # positions of own logs, in order (made on first use)

    def run(self) -> None:
        """Take every log in order: decoded ones from self or a spool, the others read with a shard filter."""
        for i, op in enumerate(self.opened):
            if isinstance(op, FileReport):
                self.monitor.reports.append(op)
            elif (owner := self.owners.get(i)) is None:
                self.monitor.read_file(op.path)
            else:
                self.take(op, self.own(i) if owner == self.k else self.receive(i, owner))

    def own(self, i: int) -> Part:
        """This worker's share of its own log i (decoded ahead, or now)."""
        return self.ready.pop(i) if i in self.ready else self.decode(i)

    def decode(self, i: int) -> Part:
        """Decode log i; spool the other workers' shares, notify them; this worker's share."""
        op = self.opened[i]
        assert isinstance(op, _Open) and op.parser is not None
        shares: list[list[Batch]] = [[] for _ in range(self.n)]
        try:
            with logfiles.open_log(op.path) as stream:
                for batch in self.monitor.batches(op, stream, final=True):
                    events = op.parser.parse(batch.lines, batch.first_line, op.ctx)
                    for j, part in enumerate(_split(events, self.n)):
                        shares[j].append((part, batch.end, batch.next_line))
        except (OSError, EOFError, zlib.error) as exc:
            stopped(op, exc)
        c = op.ctx
        outcome = (c.malformed, c.unattributed, c.examples, c.violations, op.note, op.unreadable)
        for j, conn in self.outbox.items():
            rows = marshal.dumps([(list(map(tuple, e)), end, nxt) for e, end, nxt in shares[j]])
            with open(os.path.join(self.spool, f"{i}.{j}"), "wb") as fh:
                pickle.dump((rows, outcome), fh, protocol=pickle.HIGHEST_PROTOCOL)
            conn.send(i)
        return Part(tuple(shares[self.k]), outcome)

    def receive(self, i: int, owner: int) -> Part:
        """Worker owner's share of log i for this worker; own files are decoded ahead while it is not there."""
        conn = self.inbox[owner]
        while i not in self.noticed:
            if not conn.poll() and (ahead := self._next_own(i)) is not None:
                self.ready[ahead] = self.decode(ahead)
                continue
            self.noticed.add(conn.recv())  # EOFError when that worker died: the run fails
        self.noticed.discard(i)
        path = os.path.join(self.spool, f"{i}.{self.k}")
        with open(path, "rb") as fh:
            rows, outcome = pickle.load(fh)
        os.unlink(path)
        new, event = tuple.__new__, UsageEvent
        return Part(tuple(([new(event, r) for r in e], end, nxt) for e, end, nxt in marshal.loads(rows)), outcome)

    def _next_own(self, i: int) -> int | None:
        """The next own log after i not decoded yet, when fewer than LOOKAHEAD are waiting."""
        if len(self.ready) >= LOOKAHEAD:
            return None
        if not self.mine:
            self.mine = [j for j, o in sorted(self.owners.items()) if o == self.k]
        at = bisect.bisect_right(self.mine, max(i, *self.ready) if self.ready else i)
        return self.mine[at] if at < len(self.mine) else None

    def take(self, op: _Open, part: Part) -> None:
        """Learn from this worker's share of a log, batch by batch, then report the log."""
        for events, end, next_line in part.batches:
            self.monitor.take(op, events, end, next_line)
        c = op.ctx
        c.malformed, c.unattributed, c.examples, c.violations, op.note, op.unreadable = part.outcome
        self.monitor._finish(op)


def _split(events: Sequence[UsageEvent], n: int) -> list[list[UsageEvent]]:
    """events dealt to n workers by their token's identifier (see monitor.in_shard), order kept."""
    out: list[list[UsageEvent]] = [[] for _ in range(n)]
    for ev in events:
        ident = ev.ident
        out[ord(ident[-1]) % n if ident else 0].append(ev)
    return out


def _shard_worker(worker: _Worker, out: str) -> None:
    """(child) Run worker k of n keeping shard k; pickle what changed to out. Never writes the database."""
    m, k, n = worker.monitor, worker.k, worker.n
    m.shard = (k, n)
    m.opt = replace(m.opt, parser=replace(m.opt.parser, shard=(k, n)), checkpoint_events=1 << 62,
                    checkpoint_seconds=float("inf"))
    m.alerts.sinks = []
    m.state = None  # file records were registered by the parent: lookups hit monitor._files
    with lazy_gc():
        worker.run()
    with open(out, "wb") as fh:
        pickle.dump(_result(m), fh, protocol=pickle.HIGHEST_PROTOCOL)


def _pipes(n: int) -> dict[tuple[int, int], tuple[Connection, Connection]]:
    """One one-way pipe (receiving end, sending end) from every worker to every other."""
    ctx = multiprocessing.get_context("fork")
    return {(a, b): ctx.Pipe(duplex=False) for a in range(n) for b in range(n) if a != b}


def _start(monitor: Monitor, opened: list[_Open | FileReport], n: int, tmp: str) -> list[Any]:
    """Fork the n workers; each keeps only its own pipe ends (so a dead worker reads as EOF to the others)."""
    ctx = multiprocessing.get_context("fork")
    pipes, owners = _pipes(n), _owners(opened, n)
    procs = []
    for k in range(n):
        inbox = {a: r for (a, b), (r, _) in pipes.items() if b == k}
        outbox = {b: w for (a, b), (_, w) in pipes.items() if a == k}
        worker = _Worker(monitor, opened, owners, k, n, tmp, inbox, outbox)
        procs.append(ctx.Process(target=_child, args=(worker, pipes, os.path.join(tmp, f"{k}.result"))))
        procs[-1].start()
    for r, w in pipes.values():
        r.close()
        w.close()
    return procs


def _child(worker: _Worker, pipes: dict[tuple[int, int], tuple[Connection, Connection]], out: str) -> None:
    """(child) Close the pipe ends of the other workers, then work."""
    mine = {id(c) for c in (*worker.inbox.values(), *worker.outbox.values())}
    for r, w in pipes.values():
        for conn in (r, w):
            if id(conn) not in mine:
                conn.close()
    try:
        _shard_worker(worker, out)
    except OSError as exc:  # a full or vanished temp dir: one line, and the parent reports the failed run
        sys.stderr.write(f"error: monitoring worker {worker.k}: cannot write its spool or result: "
                         f"{exc.strerror or exc}\n")
        raise SystemExit(1) from None


def monitor_parallel(monitor: Monitor, paths: Sequence[str], workers: int) -> RunSummary:
    """Monitor.run over paths with `workers` forked processes (batch mode; not for stdin)."""
    if workers <= 1:
        return monitor.run(paths)
    if "-" in paths:
        raise UsageError("--workers reads every log once per worker: it cannot read stdin")
    for path in paths:
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file or directory")
    opened = monitor.open_all(paths)
    _register(monitor, opened)
    agents.warm()
    with tempfile.TemporaryDirectory(prefix="tokenward-usage-") as tmp:
        procs = _start(monitor, opened, workers, tmp)
        for p in procs:
            p.join()
        if any(p.exitcode != 0 for p in procs):
            raise UsageError(f"a monitoring worker failed (exit codes {[p.exitcode for p in procs]})")
        results = []
        for k in range(workers):
            with open(os.path.join(tmp, f"{k}.result"), "rb") as fh:
                results.append(pickle.load(fh))
    _merge(monitor, results)
    monitor.checkpoint()
    return monitor.summary()
