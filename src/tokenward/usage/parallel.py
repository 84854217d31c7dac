"""Parallel monitoring, two ways; both keep every token's events in one process, in log order.

- Files split between workers (CloudTrail, GitHub and OpenBao audit, OTLP: formats whose records can only
  be told apart after decoding): forked workers inflate and decode their share of the files, and send the
  events to the parent, which takes the files in order and learns, detects and checkpoints exactly as one
  process would.
- Tokens split between workers (JSON lines and access logs, or a single file): each worker reads every log
  but keeps only the tokens whose identifier hashes to it; the JSON lines parser drops other workers'
  lines before decoding them. The parent merges baselines, alerts and file offsets, writes one checkpoint.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from tokenward.errors import UsageError
from tokenward.usage import agents, logfiles
from tokenward.usage.alerts import Alert
from tokenward.usage.baseline import Profile
from tokenward.usage.events import UsageEvent
from tokenward.usage.monitor import FileReport, Monitor, RunSummary, _Open, lazy_gc, stopped

BY_FILE = frozenset({"cloudtrail", "github-audit", "openbao-audit", "otel"})  # split by file, not by token


def _work(monitor: Monitor, paths: Sequence[str], k: int, n: int, out: str) -> None:
    """(child) Read paths keeping shard k of n; pickle what changed to out. Never writes the database."""
    monitor.shard = (k, n)
    monitor.opt = replace(monitor.opt, parser=replace(monitor.opt.parser, shard=(k, n)),
                          checkpoint_events=1 << 62, checkpoint_seconds=float("inf"))
    monitor.alerts.sinks = []
    monitor.state = None  # file records were registered by the parent: lookups hit monitor._files
    before = {t: p.events for t, p in monitor.profiles.items()}
    with lazy_gc():
        for path in logfiles.iter_files(paths):
            monitor.read_file(path)
    result = {
        "profiles": {t: p.to_dict() for t, p in monitor.profiles.items() if before.get(t) != p.events},
        "alerts": [a.to_dict() for a in monitor.alerts.raised], "suppressed": monitor.alerts.suppressed,
        "pending": monitor.joiner.pending, "idents": monitor.joiner.new_idents, "files": monitor._files,
        "reports": monitor.reports, "events": monitor.events, "malformed": monitor.malformed,
        "unmapped": monitor.unmapped, "alert_counts": monitor.alert_counts,
        "violations": list(monitor.violations.values()), "held": monitor.held,
    }
    with open(out, "wb") as fh:
        pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _register(monitor: Monitor, opened: Sequence[_Open | FileReport]) -> None:
    """Give the workers every opened log's file record, so they share read offsets without writing."""
    for op in opened:
        if isinstance(op, _Open) and op.record.file_id is not None:
            monitor._files[op.record.file_id] = op.record


def _merge_reports(parts: list[list[FileReport]]) -> list[FileReport]:
    merged = []
    for reports in zip(*parts, strict=True):
        first = reports[0]
        merged.append(replace(first, events=sum(r.events for r in reports)))  # malformed lines: counted once
    return merged


def _merge(monitor: Monitor, results: list[dict[str, Any]]) -> None:
    for r in results:
        for token_id, data in r["profiles"].items():
            monitor.profiles[token_id] = Profile.from_dict(data, monitor.opt.tuning)
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
    monitor.malformed += results[0]["malformed"]
    monitor.reports += _merge_reports([r["reports"] for r in results])
    alerts = sorted((Alert.from_dict(a) for r in results for a in r["alerts"]), key=lambda a: a.at)
    for alert in alerts:
        monitor.alerts.raised.append(alert)
        for sink in monitor.alerts.sinks:
            sink.send(alert)
    for r in results:
        for aid, count in r["suppressed"].items():
            monitor.alerts.suppressed[aid] = monitor.alerts.suppressed.get(aid, 0) + count


def monitor_parallel(monitor: Monitor, paths: Sequence[str], workers: int) -> RunSummary:
    """Monitor.run over paths with `workers` forked processes (batch mode; not for stdin)."""
    if workers <= 1:
        return monitor.run(paths)
    if "-" in paths:
        raise UsageError("--workers reads every log once per worker: it cannot read stdin")
    for path in paths:
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file or directory")
    opened = _open_all(monitor, paths)
    by_file = _by_file(opened)
    if len(by_file) >= 2:
        return _run_by_file(monitor, opened, by_file, workers)
    _register(monitor, opened)
    agents.warm()
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="tokenward-usage-") as tmp:
        outs = [os.path.join(tmp, f"{k}.pickle") for k in range(workers)]
        procs = [ctx.Process(target=_work, args=(monitor, list(paths), k, workers, outs[k])) for k in range(workers)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        if any(p.exitcode != 0 for p in procs):
            raise UsageError(f"a monitoring worker failed (exit codes {[p.exitcode for p in procs]})")
        results = []
        for out in outs:
            with open(out, "rb") as fh:
                results.append(pickle.load(fh))
    _merge(monitor, results)
    monitor.checkpoint()
    return monitor.summary()



# -- files split between workers ---------------------------------------------------------------------


def _open_all(monitor: Monitor, paths: Sequence[str]) -> list[_Open | FileReport]:
    """Every log of paths opened (format chosen, file record registered), or the report of why not."""
    out: list[_Open | FileReport] = []
    for path in logfiles.iter_files(paths):
        try:
            out.append(monitor._open(path))
        except OSError as exc:
            out.append(FileReport(path, "?", 0, 0, 0, f"unreadable: {exc.strerror or exc}", unreadable=True))
    return out


def _by_file(opened: Sequence[_Open | FileReport]) -> list[int]:
    """The logs a worker may decode ahead: a by-file format, and not a copy of a file before it."""
    out, seen = [], set()
    for i, op in enumerate(opened):
        if not isinstance(op, _Open) or op.parser is None or op.parser.name not in BY_FILE:
            continue
        fid = op.record.file_id
        if fid is None or fid not in seen:
            out.append(i)
        seen.add(fid)
    return out


def _decode_files(monitor: Monitor, ops: list[_Open], conn: Connection) -> None:
    """(child) Decode ops in order: each batch's events (as plain tuples), then each file's outcome."""
    with lazy_gc():
        for op in ops:
            assert op.parser is not None
            try:
                with logfiles.open_log(op.path) as stream:
                    for batch in monitor.batches(op, stream, final=True):
                        events = op.parser.parse(batch.lines, batch.first_line, op.ctx)
                        conn.send((list(map(tuple, events)), batch.end, batch.next_line))
            except (OSError, EOFError, zlib.error) as exc:
                stopped(op, exc)
            c = op.ctx
            conn.send((c.malformed, c.unattributed, c.examples, c.violations, op.note, op.unreadable))
    conn.close()


def _take_file(monitor: Monitor, op: _Open, conn: Connection) -> None:
    """(parent) Ingest one file's events as its worker sends them, then report the file."""
    new, event = tuple.__new__, UsageEvent
    while len(msg := conn.recv()) == 3:
        rows, end, next_line = msg
        monitor.take(op, [new(event, r) for r in rows], end, next_line)
    c = op.ctx
    c.malformed, c.unattributed, c.examples, c.violations, op.note, op.unreadable = msg
    monitor._finish(op)


def _run_by_file(monitor: Monitor, opened: list[_Open | FileReport], by_file: list[int], workers: int) -> RunSummary:
    """Workers decode the by-file logs (round robin); the parent ingests every log in order, as run() does."""
    ctx = multiprocessing.get_context("fork")
    n = min(workers, len(by_file))
    procs, ends = [], []
    for k in range(n):  # each pipe made just before its child: no child holds another's sending end
        recv, send = ctx.Pipe(duplex=False)
        procs.append(ctx.Process(target=_decode_files, args=(monitor, [opened[i] for i in by_file[k::n]], send)))
        procs[-1].start()
        send.close()  # now only the child holds it: a dead child reads as EOF here
        ends.append(recv)
    slot = {i: ends[pos % n] for pos, i in enumerate(by_file)}
    try:
        with lazy_gc():
            for i, op in enumerate(opened):
                if i in slot:
                    _take_file(monitor, op, slot[i])  # type: ignore[arg-type]
                elif isinstance(op, FileReport):
                    monitor.reports.append(op)
                else:
                    monitor.read_file(op.path)  # read here, in order (a copy of an earlier file sees its offset)
    except BaseException as exc:
        for proc in procs:
            proc.terminate()  # blocked on a full pipe otherwise
            proc.join()
        if isinstance(exc, EOFError):
            raise UsageError(f"a monitoring worker failed (exit codes {[p.exitcode for p in procs]})") from None
        raise
    for proc in procs:
        proc.join()
    monitor.checkpoint()
    return monitor.summary()
