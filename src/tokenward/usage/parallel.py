"""Parallel monitoring: forked workers each read every log but keep only their share of tokens.

Tokens are split by a hash of the identifier a log names them by, so every token's baseline lives in
exactly one worker; the JSON lines parser drops other workers' lines before decoding them. The parent
merges baselines, alerts and file offsets and writes one checkpoint.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tokenward.errors import UsageError
from tokenward.usage import logfiles
from tokenward.usage.alerts import Alert
from tokenward.usage.baseline import Profile
from tokenward.usage.monitor import FileReport, Monitor, RunSummary, lazy_gc


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


def _register(monitor: Monitor, paths: Sequence[str]) -> None:
    """Give every log a file record before forking, so workers share read offsets without writing."""
    for path in logfiles.iter_files(paths):
        try:
            rec = monitor._open(path).record
        except (OSError, EOFError):
            continue  # the workers report it
        if rec.file_id is not None:
            monitor._files[rec.file_id] = rec


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


def run_parallel(monitor: Monitor, paths: Sequence[str], workers: int) -> RunSummary:
    """Monitor.run over paths with `workers` forked processes (batch mode; not for stdin)."""
    if workers <= 1:
        return monitor.run(paths)
    if "-" in paths:
        raise UsageError("--workers reads every log once per worker: it cannot read stdin")
    for path in paths:
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file or directory")
    _register(monitor, paths)
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

