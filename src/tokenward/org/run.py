"""The client side of `tokenward scan-org`: start (or join) a Dask cluster, submit one task per target with
bounded retries, follow them as they finish (live view on a terminal), and summarise the run from its rows.

Without --cluster an embedded LocalCluster runs the tasks in worker processes of this machine; with
--cluster the same tasks go to a running `dask scheduler` and its `dask worker`s.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tokenward.org.state import Planned
from tokenward.org.tasks import TargetResult, TaskSpec, run_target
from tokenward.store.orgruns import OrgRuns, OrgTargetRow, TargetCounts

POLL = 0.25  # seconds between looks at finished tasks while the live view refreshes
Report = Callable[[str, str, str | None], None]  # (target, state, reason) as tasks start and finish
Client = Any  # distributed's Client and Future: the package ships without complete type hints
Future = Any


def _distributed() -> Any:
    return importlib.import_module("distributed")


@dataclass(frozen=True)
class ClusterConfig:
    """Where the tasks run and where they write."""

    db: str | None
    address: str | None = None  # tcp://HOST:8786; None: an embedded LocalCluster
    workers: int = 0  # LocalCluster worker processes (0: one per core)
    mirrors: str | None = None  # the workers' mirror directory (default: each worker's tokenward cache)


@dataclass(frozen=True)
class RunSummary:
    """A finished (or abandoned) run, as its stored rows describe it."""

    run_id: str
    rows: tuple[OrgTargetRow, ...]
    submitted: int  # targets this invocation submitted (a resume submits only the unfinished ones)
    seconds: float
    dashboard: str | None = None
    states: dict[str, int] = field(default_factory=dict)
    lost: str | None = None  # why the cluster was lost mid-run (its unfinished targets wait for --resume)

    def total(self, name: str) -> int:
        """Sum of one count (blobs, bytes, findings, tokens, new_tokens) over every target of the run."""
        return sum(int(getattr(r.counts, name)) for r in self.rows)

    @property
    def exit_code(self) -> int:
        """3 when a target failed or never finished, 1 when tokens were found, else 0."""
        if any(r.state not in ("done", "skipped") for r in self.rows):
            return 3
        return 1 if self.total("tokens") else 0


@contextmanager
def dask_client(config: ClusterConfig) -> Iterator[Client]:
    """A Client of the cluster at config.address, or of an embedded LocalCluster (processes, 1 thread each)."""
    dist = _distributed()
    if config.address:
        with dist.Client(config.address, timeout="30s") as client:
            yield client
        return
    cluster = dist.LocalCluster(n_workers=config.workers or None, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.CRITICAL)
    with cluster, dist.Client(cluster) as client:
        yield client


def _failure(exc: BaseException) -> str:
    """One line saying why a task failed for good (TargetError's text is already that)."""
    from tokenward.org.tasks import TargetError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text if isinstance(exc, TargetError) and text else f"{type(exc).__name__}: {text}".rstrip(": ")


def _settle(store: OrgRuns, planned: Planned, spec: TaskSpec, future: Future) -> TargetResult:
    try:
        result: TargetResult = future.result()
        return result
    except Exception as exc:  # every task failure, after Dask's retries, becomes that target's reason
        reason = _failure(exc)
        store.finished(planned.run_id, spec.target_id, "failed", TargetCounts(), refs=None, refs_digest=None,
                       reason=reason)
        return TargetResult(spec.target, "failed", TargetCounts(), reason)


def submit(client: Client, planned: Planned, config: ClusterConfig) -> dict[Future, TaskSpec]:
    """One task per target still to do, each retried up to the run's --retries on another attempt."""
    session = f"{time.monotonic_ns():x}"  # a resumed run's keys never collide with a dead client's
    futures = {}
    for tid, target in planned.todo:
        spec = TaskSpec(planned.run_id, tid, target, config.db, planned.options, config.mirrors)
        future = client.submit(run_target, spec, key=f"scan-org-{planned.run_id[:8]}-{tid[:12]}-{session}",
                               retries=planned.options.retries, pure=False)
        futures[future] = spec
    return futures


def _running(client: Client, futures: dict[Future, TaskSpec]) -> set[str]:
    by_key = {f.key: s.target for f, s in futures.items()}
    return {by_key[k] for keys in client.processing().values() for k in keys if k in by_key}


def collect(client: Client, store: OrgRuns, planned: Planned, futures: dict[Future, TaskSpec],
            report: Report | None) -> list[TargetResult]:
    """Every task's result as it finishes (failures recorded with their reason); report() sees each change."""
    done = _distributed().as_completed(list(futures))
    results: list[TargetResult] = []
    shown: set[str] = set()
    while not done.is_empty():
        batch = done.next_batch(block=report is None)
        for future in batch:
            result = _settle(store, planned, futures[future], future)
            results.append(result)
            if report:
                report(result.target, result.state, result.reason)
        if report and not batch:
            running = _running(client, futures)
            for target in running - shown:
                report(target, "running", None)
            shown |= running
            time.sleep(POLL)
    return results


def execute(planned: Planned, config: ClusterConfig, report: Report | None = None,
            on_dashboard: Callable[[str], Any] | None = None) -> RunSummary:
    """Run the planned targets on the cluster and close the run; the summary covers every target of it."""
    started = time.monotonic()
    dashboard: list[str] = []
    lost = None
    with OrgRuns.open(config.db) as store:
        try:
            if planned.todo:
                _on_cluster(store, planned, config, report, lambda link: _shown(link, dashboard, on_dashboard))
        except OSError as exc:  # the scheduler went away or never answered: the rows say what is left to do
            lost = f"{type(exc).__name__}: {exc}".rstrip(": ")
        rows = tuple(store.targets(planned.run_id))
        finished = all(r.state in ("done", "skipped") for r in rows)
        store.finish_run(planned.run_id, "complete" if finished else "failed")
    states: dict[str, int] = {}
    for r in rows:
        states[r.state] = states.get(r.state, 0) + 1
    return RunSummary(planned.run_id, rows, len(planned.todo), round(time.monotonic() - started, 3),
                      dashboard[0] if dashboard else None, states, lost)


def _shown(link: str, seen: list[str], on_dashboard: Callable[[str], Any] | None) -> None:
    seen.append(link)
    if on_dashboard:
        on_dashboard(link)


def _on_cluster(store: OrgRuns, planned: Planned, config: ClusterConfig, report: Report | None,
                on_dashboard: Callable[[str], Any]) -> None:
    with dask_client(config) as client:
        if client.dashboard_link and _has_dashboard(client):
            on_dashboard(client.dashboard_link)
        collect(client, store, planned, submit(client, planned, config), report)


def _has_dashboard(client: Client) -> bool:
    # Client.dashboard_link names the default port even when the scheduler runs without a dashboard.
    return "dashboard" in client.scheduler_info().get("services", {})
