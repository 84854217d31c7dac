"""What a Dask worker runs for one target: list its refs, skip it when they did not move, else mirror it into
the worker's cache, scan every unique blob not yet scanned (the blob cache lives in the inventory, so any
worker can continue where another stopped) and record the findings through the store writer.

Everything written is an idempotent upsert keyed by content-derived ids: a task that a killed worker left
half done, and that Dask then runs again elsewhere, records every token exactly once.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tokenward.codehash import incremental_key
from tokenward.org.state import RunOptions, refs_digest, refs_json
from tokenward.results import ScanResult
from tokenward.scanner import Scanner
from tokenward.sources.blobcache import cache_dir, cache_file
from tokenward.sources.git import GitOptions, GitScope, GitSource
from tokenward.sources.gitobjects import close_readers, git_env, open_repo
from tokenward.sources.gitprov import WalkIndex
from tokenward.store.orgruns import OrgRuns, TargetCounts
from tokenward.store.writer import ScanRecorded, ScanRecorder

FETCH_PROTOCOLS = "file:git:http:https:ssh"
_SCANNERS: dict[tuple[tuple[str, ...], str, int], Scanner] = {}  # one compiled rule set per worker process


class TargetError(Exception):
    """A target could not be listed, cloned, fetched or scanned (Dask retries it, then it is failed)."""


@dataclass(frozen=True)
class TaskSpec:
    """Everything one task needs (pickled to the worker; no secret in it: workers use their own key)."""

    run_id: str
    target_id: str
    target: str
    db: str | None
    options: RunOptions
    mirrors: str | None = None  # directory of the worker's mirrors; default: the tokenward cache dir


@dataclass(frozen=True)
class TargetResult:
    """What a task reports back to the client."""

    target: str
    state: str  # done | skipped | failed
    counts: TargetCounts
    reason: str | None = None
    worker: str = ""


def cache_key(scanner: Scanner) -> str:
    """The key a scan's incremental state is valid under (as select.py keys a local scan's)."""
    return incremental_key(scanner.matcher.ruleset.digest, scanner.detection_options, scanner.fp.key)


def scanner_for(options: RunOptions) -> Scanner:
    """This process's Scanner for the run's rules (built once, reused by every task it runs)."""
    from tokenward.cli.common import build_scanner
    from tokenward.settings import Settings

    ident = (options.rule_paths, options.min_confidence, options.max_file_size)
    if ident not in _SCANNERS:
        settings = Settings(max_file_size=options.max_file_size, rule_paths=tuple(map(Path, options.rule_paths)))
        scanner = build_scanner(settings, [], min_confidence=options.min_confidence)
        # Dask's worker processes are daemonic (no process pool of their own): scan inline, one target per
        # worker process; the run's parallelism is the number of Dask workers.
        scanner.jobs = 1
        _SCANNERS[ident] = scanner
    return _SCANNERS[ident]


def _git(args: list[str], timeout: float) -> str:
    # Mirroring needs a transport (scanning allows none), but never ext:: or fd:: (they run commands); no
    # terminal prompt, so a missing credential fails instead of waiting for input.
    env = {**git_env(), "GIT_ALLOW_PROTOCOL": FETCH_PROTOCOLS, "GIT_TERMINAL_PROMPT": "0"}
    command = args[2] if args[0] == "-C" else args[0]
    try:
        proc = subprocess.run(["git", *args], capture_output=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise TargetError(f"git {command} timed out after {timeout:g} s") from None
    if proc.returncode:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        # git's first fatal/error line says what went wrong; the lines after it are advice
        said = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[-1] if lines else "")
        raise TargetError(f"git {command}: {said or f'exit status {proc.returncode}'}")
    return proc.stdout.decode("utf-8", "surrogateescape")


def remote_refs(target: str, timeout: float) -> list[tuple[str, str]]:
    """(ref, object) of every ref the target advertises, without cloning it."""
    out = _git(["ls-remote", "--", target], timeout)
    return [(name, oid) for oid, _, name in (line.partition("\t") for line in out.splitlines()) if name]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Two tasks of the same target on one machine (a retry racing a slow first attempt) share one mirror.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def sync_mirror(target: str, dest: Path, timeout: float) -> Path:
    """A bare mirror of target at dest: fetched when present, else cloned (only complete clones land there)."""
    if (dest / "HEAD").exists():
        try:
            _git(["-C", str(dest), "fetch", "--prune", "--quiet", "origin"], timeout)
            return dest
        except TargetError:
            shutil.rmtree(dest, ignore_errors=True)  # a broken mirror (killed mid-fetch): clone afresh
    tmp = dest.with_name(f"{dest.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    _git(["clone", "--mirror", "--quiet", "--", target, str(tmp)], timeout)
    os.replace(tmp, dest)
    return dest


def worker_name() -> str:
    """The Dask worker's address (host:pid outside Dask)."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def scan_mirror(spec: TaskSpec, scanner: Scanner, mirror: Path) -> tuple[ScanResult, ScanRecorded, str]:
    """Scan the mirror's whole history as the target (its URL or path names the source) and record it."""
    repo = open_repo(mirror)
    if repo is None:
        raise TargetError(f"{mirror}: not a git repository after cloning")
    ruleset = scanner.matcher.ruleset
    recorder = ScanRecorder.open(spec.db, scanner.fp.key, [spec.target], ruleset.digest, len(ruleset.rules))
    try:
        from tokenward.policy.load import refresh_owners

        recorder.after_write = refresh_owners  # owners named as `tokenward scan` names them
        options = GitOptions(scope=GitScope(), max_size=spec.options.max_file_size, cache_key=spec.options.ruleset,
                             use_cache=not spec.options.full)
        source = GitSource(repo, spec.target, options, recorder.blob_cache(spec.target),
                           WalkIndex(cache_file(repo.git_dir, "walk")))
        result = scanner.run([source])
    except BaseException:
        # The worker process lives on for other tasks: its cat-file readers of this mirror stop here
        # (a finished scan stops them itself).
        close_readers()
        recorder.inventory.close()
        raise
    return result, recorder.record(result), recorder.scan.scan_id


def _mirror_path(spec: TaskSpec) -> Path:
    return Path(spec.mirrors or cache_dir() / "org-mirrors") / f"{spec.target_id}.git"


def run_target(spec: TaskSpec) -> TargetResult:
    """Scan one target and record it (run by a Dask worker); raises TargetError for Dask to retry."""
    worker, started = worker_name(), time.monotonic()
    with OrgRuns.open(spec.db) as store:
        store.started(spec.run_id, spec.target_id, worker)
        refs = remote_refs(spec.target, spec.options.timeout)
        digest = refs_digest(refs)
        if not spec.options.full and store.last_refs(spec.target_id, spec.options.ruleset) == digest:
            counts = TargetCounts(seconds=round(time.monotonic() - started, 3))
            # Only the digest: the refs are those of the run that scanned them (the table grows slower).
            store.finished(spec.run_id, spec.target_id, "skipped", counts, refs=None, refs_digest=digest,
                           reason="refs unchanged")
            return TargetResult(spec.target, "skipped", counts, "refs unchanged", worker)
        scanner = scanner_for(spec.options)
        if cache_key(scanner) != spec.options.ruleset:
            raise TargetError("this worker's rule set or fingerprint key differs from the client's "
                              "(same tokenward version, --rules and TOKENWARD_KEY on every worker)")
        mirror = _mirror_path(spec)
        with _locked(mirror.with_name(mirror.name + ".lock")):
            result, recorded, scan_id = scan_mirror(spec, scanner, sync_mirror(spec.target, mirror,
                                                                               spec.options.timeout))
        s = result.summary
        counts = TargetCounts(s.blobs_scanned, s.bytes_scanned, s.findings, s.tokens, recorded.totals.new_tokens,
                              round(time.monotonic() - started, 3))
        reason = f"{s.errors} unreadable objects" if s.errors else None
        store.finished(spec.run_id, spec.target_id, "done", counts, refs=refs_json(refs), refs_digest=digest,
                       reason=reason, scan_id=scan_id)
        return TargetResult(spec.target, "done", counts, reason, worker)
