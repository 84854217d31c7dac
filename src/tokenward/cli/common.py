"""Scanning's CLI plumbing: building a Scanner from options and the progress display. The plumbing every
command shares (stderr, errors, exit codes, help conventions) is in cli/console.py and is re-exported here."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from tokenward.cli.console import EXIT_CLEAN as EXIT_CLEAN
from tokenward.cli.console import EXIT_FINDINGS as EXIT_FINDINGS
from tokenward.cli.console import EXIT_UNREADABLE as EXIT_UNREADABLE
from tokenward.cli.console import EXIT_USAGE as EXIT_USAGE
from tokenward.cli.console import TokenwardGroup as TokenwardGroup
from tokenward.cli.console import err as err
from tokenward.cli.console import error as error
from tokenward.cli.console import stdout_closed as stdout_closed
from tokenward.cli.console import user_errors as user_errors
from tokenward.engine import Matcher
from tokenward.expand import ExpandOptions
from tokenward.identity import Fingerprinter, load_key
from tokenward.rules.spec import load_rules
from tokenward.scanner import Progress, Scanner, scan_ruleset
from tokenward.settings import Settings
from tokenward.suppress import Baseline


def build_scanner(settings: Settings, extra_rules: list[Path], *, builtin: bool = True,
                  baseline: Baseline | None = None, show_secrets: bool = False,
                  expand_options: ExpandOptions | None = None, min_confidence: str = "low") -> Scanner:
    """Load and compile rules, load the key, and assemble a Scanner."""
    specs = load_rules([*settings.rule_paths, *extra_rules], builtin=builtin)
    matcher = Matcher(scan_ruleset(specs, on_compile=_compiling_notice))
    # the rule database doubles as the exports' probe: only messages a rule may match become blobs
    expand_options = replace(expand_options or ExpandOptions(), probe=matcher.ruleset)
    return Scanner(matcher, Fingerprinter(load_key()), allow_paths=settings.allow_paths,
                   baseline=baseline, show_secrets=show_secrets, expand_options=expand_options,
                   min_confidence=min_confidence)


def _compiling_notice(rules: int) -> None:
    # A first run (or a changed rule set) compiles the rule database before any progress shows.
    if sys.stderr.isatty():
        err.print(f"compiling {rules} rules (once per rule set)…")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress | None]:
    """A rich progress display on a terminal (stderr); None when disabled or not a TTY."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn

    with Progress(SpinnerColumn(), TextColumn("scanning"), BarColumn(), DownloadColumn(),
                  TextColumn("{task.fields[items]} inputs"), console=err, transient=True) as bar:
        task = bar.add_task("scan", total=None, items=0)
        count = [0]

        def advance(nbytes: int) -> None:
            count[0] += 1
            bar.update(task, advance=nbytes, items=count[0])

        yield advance


