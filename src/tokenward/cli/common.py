"""Shared CLI plumbing: building a Scanner from options, and error → exit code handling."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console

from tokenward.engine import Matcher
from tokenward.errors import TokenwardError
from tokenward.expand import ExpandOptions
from tokenward.identity import Fingerprinter, load_key
from tokenward.rules.compile import compile_rules
from tokenward.rules.spec import load_rules
from tokenward.scanner import Progress, Scanner
from tokenward.settings import Settings
from tokenward.suppress import Baseline

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_UNREADABLE = 0, 1, 2, 3
err = Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn deliberate tokenward errors into a one-line message and exit code 2 (never a traceback)."""
    try:
        yield
    except TokenwardError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as exc:
        # Reached only for whole-run problems (an output path, a root we cannot stat); single
        # unreadable inputs are skipped items, not errors.
        err.print(f"[red]error:[/red] {exc.filename or ''}: {exc.strerror}")
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


def build_scanner(settings: Settings, extra_rules: list[Path], *, builtin: bool = True,
                  baseline: Baseline | None = None, show_secrets: bool = False,
                  expand_options: ExpandOptions | None = None, min_confidence: str = "low") -> Scanner:
    """Load and compile rules, load the key, and assemble a Scanner."""
    specs = load_rules([*settings.rule_paths, *extra_rules], builtin=builtin)
    matcher = Matcher(compile_rules(specs))
    # the rule database doubles as the exports' probe: only messages a rule may match become blobs
    expand_options = replace(expand_options or ExpandOptions(), probe=matcher.ruleset.database)
    return Scanner(matcher, Fingerprinter(load_key()), allow_paths=settings.allow_paths,
                   baseline=baseline, show_secrets=show_secrets, expand_options=expand_options,
                   min_confidence=min_confidence)


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


