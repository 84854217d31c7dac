"""`tokenward scan-org`: scan every repository of an organisation on Dask distributed into one inventory."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tokenward.cli.common import build_scanner, err, user_errors
from tokenward.errors import ConfigError
from tokenward.report.terminal import plain, visible
from tokenward.settings import Settings

if TYPE_CHECKING:
    from tokenward.org.run import Report, RunSummary
    from tokenward.org.state import Planned
    from tokenward.store.orgruns import OrgRuns

FINISHED = ("done", "failed", "skipped")


def gather(targets: list[str], github_org: str | None, gitlab_group: str | None, api_url: str | None) -> list[str]:
    """Every target named: arguments (list files, directories, repositories, URLs) and API listings."""
    from tokenward.org import targets as org_targets

    found = [t for arg in targets for t in org_targets.from_argument(arg)]
    if github_org:
        found += org_targets.github_org(github_org, api_url)
    if gitlab_group:
        found += org_targets.gitlab_group(gitlab_group, api_url)
    if not found:
        raise ConfigError("no targets: name a list file, a directory of repositories, --github-org or --gitlab-group")
    return found


def plan(store: OrgRuns, targets: list[str], resume: str | None, options: dict[str, Any]) -> Planned:
    """A new run of targets, or the unfinished part of the run being resumed."""
    from tokenward.identity import key_check_value
    from tokenward.org.state import RunOptions, new_run, resume_run
    from tokenward.org.tasks import cache_key

    if resume:
        if targets or options["github_org"] or options["gitlab_group"]:
            raise ConfigError("--resume takes the targets of the run it resumes; name no other target")
        return resume_run(store, resume)
    found = gather(targets, options["github_org"], options["gitlab_group"], options["api_url"])
    rules = tuple(str(p.resolve()) for p in options["rules"])
    scanner = build_scanner(Settings(rule_paths=tuple(map(Path, rules))), [],
                            min_confidence=options["min_confidence"])
    store.inventory.check_key(key_check_value(scanner.fp.key))  # refuse before any worker writes
    run_options = RunOptions(cache_key(scanner), rules, options["min_confidence"], full=options["full"],
                             timeout=options["timeout"], retries=options["retries"])
    return new_run(store, found, run_options)


@contextmanager
def live_view(enabled: bool, total: int) -> Iterator[Report | None]:
    """One row per target (state as it runs and finishes) and an overall bar, on a terminal's stderr."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[state]}", markup=False))
    with Progress(*columns, console=err) as bar:
        overall = bar.add_task("targets", total=total, state="")
        rows: dict[str, Any] = {}

        def report(target: str, state: str, reason: str | None) -> None:
            if target not in rows:
                rows[target] = bar.add_task(visible(target), total=1, state="")
            done = state in FINISHED
            bar.update(rows[target], completed=int(done), state=visible(state + (f": {reason}" if reason else "")))
            if done:
                bar.advance(overall)

        yield report


def summary_json(s: RunSummary) -> dict[str, Any]:
    """The run summary as a JSON object (--json)."""
    return {
        "run_id": s.run_id, "targets": len(s.rows), "submitted": s.submitted, "states": s.states,
        **{name: s.total(name) for name in ("blobs", "bytes", "findings", "tokens", "new_tokens")},
        "seconds": s.seconds, "dashboard": s.dashboard, "lost": s.lost,
        "failures": [{"target": r.target, "state": r.state, "reason": r.reason} for r in s.rows
                     if r.state not in ("done", "skipped")],
    }


def print_summary(s: RunSummary, out: Console) -> None:
    """The end-of-run table, then every target that did not finish and why."""
    table = Table(title=f"org run {s.run_id}", title_justify="left")
    cols = ("targets", "done", "skipped", "failed", "blobs", "bytes", "tokens", "new tokens", "time")
    for col in cols:
        table.add_column(col, justify="right")
    unfinished = len(s.rows) - s.states.get("done", 0) - s.states.get("skipped", 0)
    table.add_row(str(len(s.rows)), str(s.states.get("done", 0)), str(s.states.get("skipped", 0)), str(unfinished),
                  str(s.total("blobs")), str(s.total("bytes")), str(s.total("tokens")), str(s.total("new_tokens")),
                  f"{s.seconds:.1f} s")
    out.print(table)
    for r in s.rows:
        if r.state not in ("done", "skipped"):
            out.print(plain(f"{r.state}: {r.target}: {r.reason or 'not finished'}"))


def scan_org(
    targets: Annotated[list[str] | None, typer.Argument(
        help="Files listing repository URLs/paths, directories of repositories, repositories or URLs.")] = None,
    github_org: Annotated[str | None, typer.Option(help="Every repository of this GitHub organisation "
                                                        "($GITHUB_TOKEN).")] = None,
    gitlab_group: Annotated[str | None, typer.Option(help="Every project of this GitLab group and its subgroups "
                                                          "($GITLAB_TOKEN).")] = None,
    api_url: Annotated[str | None, typer.Option(help="GitHub/GitLab API base URL (GitHub Enterprise, "
                                                     "self-managed GitLab).")] = None,
    cluster: Annotated[str | None, typer.Option(help="Dask scheduler address (tcp://HOST:8786); default: "
                                                     "an embedded local cluster.")] = None,
    workers: Annotated[int, typer.Option(min=0, help="Local cluster worker processes (0: one per core).")] = 0,
    db: Annotated[str | None, typer.Option("--db", envvar="TOKENWARD_DB", help="Inventory URL or SQLite file "
                                           "(every worker must reach it).")] = None,
    resume: Annotated[str | None, typer.Option(help="Finish the unfinished targets of this run id.")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule file or directory.")] = None,
    min_confidence: Annotated[str, typer.Option(help="high|medium|low")] = "medium",
    full: Annotated[bool, typer.Option("--full", help="Rescan unchanged repositories and every blob.")] = False,
    retries: Annotated[int, typer.Option(min=0, help="Attempts after the first before a target fails.")] = 2,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds for one git clone/fetch/listing.")] = 900.0,
    mirrors: Annotated[str | None, typer.Option(help="Workers' mirror directory (default: their cache).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Scan many repositories on Dask distributed into one inventory; resumable and incremental.

    Exit codes: 0 nothing found; 1 tokens found; 2 usage or configuration error;
    3 some targets failed (listed with their reason).
    """
    from tokenward.org.run import ClusterConfig, execute
    from tokenward.store.orgruns import OrgRuns

    with user_errors():
        if cluster and workers:
            raise ConfigError("--workers sizes the embedded local cluster; a --cluster has its own workers")
        if min_confidence not in ("high", "medium", "low"):
            raise ConfigError(f"--min-confidence must be high, medium or low, not {min_confidence!r}")
        options = {"github_org": github_org, "gitlab_group": gitlab_group, "api_url": api_url,
                   "rules": rules or [], "min_confidence": min_confidence, "full": full, "timeout": timeout,
                   "retries": retries}
        with OrgRuns.open(db) as store:
            planned = plan(store, targets or [], resume, options)
        if not quiet:
            err.print(plain(f"org run {planned.run_id}: {planned.total} targets, {len(planned.todo)} to scan"))
        config = ClusterConfig(db, cluster, workers, mirrors)
        with live_view(not quiet, len(planned.todo)) as report:
            summary = execute(planned, config, report, None if quiet else
                              lambda link: err.print(plain(f"dask dashboard: {link}")))
        if summary.lost:
            err.print(plain(f"lost the Dask cluster ({summary.lost}); finish with --resume {summary.run_id}"))
        if as_json:
            print(json.dumps(summary_json(summary), indent=2))
        else:
            print_summary(summary, Console(highlight=False, markup=False, emoji=False))
    raise typer.Exit(summary.exit_code)
