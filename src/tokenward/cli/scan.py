"""`tokenward scan` and `tokenward baseline create`."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tokenward.cli.common import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_UNREADABLE,
    build_scanner,
    err,
    progress_bar,
    stdout_closed,
    user_errors,
)
from tokenward.cli.recording import InlineRecording, RecordingProcess, recording
from tokenward.errors import ConfigError, ReportError
from tokenward.expand import SOURCE_TYPE_NAMES, ExpandOptions, Limits
from tokenward.report import REPORTERS
from tokenward.report.terminal import plain, plural
from tokenward.results import ScanResult
from tokenward.settings import Settings, find_config, load_settings
from tokenward.sources.interface import Blob, SkippedItem, Source
from tokenward.sources.live import is_live_target, live_options, open_target, save_cursors
from tokenward.sources.select import SourceOptions, sources_for
from tokenward.suppress import Baseline, baseline_document, load_baseline

if TYPE_CHECKING:
    from tokenward.sources.live.interface import LiveOptions

EXIT_HELP = """Exit codes: 0 nothing found; 1 findings; 2 usage or configuration error;
3 no findings, but some inputs could not be read (permission, corruption)."""

Paths = Annotated[list[str], typer.Argument(
    help="Files or directories to scan; '-' reads stdin; URLs (s3://, slack://, github://, …) read live sources.")]
Rules = Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule file or directory.")]
Config = Annotated[Path | None, typer.Option("--config", help="Config file (default: .tokenward.yaml).")]
Exclude = Annotated[list[str] | None, typer.Option("--exclude", help="Glob of paths to skip (repeatable).")]


@contextmanager
def _recording(db: str | None, no_db: bool) -> Iterator[InlineRecording | RecordingProcess | None]:
    """The scan's recorder (None with --no-db), started now so that it is ready when the scan ends."""
    if no_db:
        yield None
        return
    recorder = recording(db)
    try:
        yield recorder
    finally:
        recorder.close()


def _settings(config: Path | None, paths: list[str], exclude: list[str] | None, max_size: int | None,
              follow: bool, gitignore: bool) -> Settings:
    base = load_settings(find_config(config, [Path(p) for p in paths if p != "-"]))
    if max_size is not None and max_size <= 0:
        raise ConfigError("--max-file-size must be a positive number of bytes")
    return Settings(
        exclude=base.exclude + tuple(exclude or ()), allow_paths=base.allow_paths,
        max_file_size=max_size or base.max_file_size, follow_symlinks=follow or base.follow_symlinks,
        respect_gitignore=gitignore or base.respect_gitignore, rule_paths=base.rule_paths,
        config_file=base.config_file,
    )


class UnreadableRoot:
    """A root named on the command line that cannot be opened: one unreadable input (exit 3), not a usage error."""

    def __init__(self, path: str, reason: str) -> None:
        self.item = SkippedItem(path, reason, "error")

    def __iter__(self) -> Iterator[Blob | SkippedItem]:
        """The root, skipped with its reason."""
        yield self.item


def _root_sources(path: str, settings: Settings, options: SourceOptions) -> list[Source]:
    try:
        return sources_for(path, settings, options)
    except PermissionError as exc:  # e.g. a directory without read or search permission
        return [UnreadableRoot(path, f"cannot open: {exc.strerror}")]


def _sources(paths: list[str], settings: Settings, options: SourceOptions,
             live: LiveOptions | None = None) -> list[Source]:
    if paths.count("-") > 1:
        raise ConfigError("'-' (stdin) can be given only once")
    for p in paths:
        if p != "-" and not is_live_target(p) and not os.path.lexists(p):
            raise ConfigError(f"{p}: no such file or directory")
    if live is None and any(map(is_live_target, paths)):  # baseline create: no inventory, no cursors
        live = live_options(full=True, auth_file=None, db=None, use_db=False, max_size=settings.max_file_size,
                            scope=options, settings=settings)
    return [s for p in paths
            for s in ([open_target(p, live)] if live and is_live_target(p) else _root_sources(p, settings, options))]


def _expand_options(source_type: str, max_depth: int, decode_depth: int) -> ExpandOptions:
    if source_type not in SOURCE_TYPE_NAMES:
        raise ConfigError(f"unknown --source-type {source_type!r} (choose from {', '.join(SOURCE_TYPE_NAMES)})")
    if max_depth < 0 or decode_depth < 0:
        raise ConfigError("--max-depth and --decode-depth must be 0 or more")
    limits = Limits(max_depth=max_depth, decode_depth=decode_depth)
    return ExpandOptions(None if source_type == "auto" else source_type, limits)


def exit_code(result: ScanResult) -> int:
    """0 clean, 1 findings, 3 no findings but unreadable inputs."""
    if result.findings:
        return EXIT_FINDINGS
    return EXIT_UNREADABLE if result.summary.errors else EXIT_CLEAN


def write_report(result: ScanResult, fmt: str, output: Path | None) -> None:
    """Render result in fmt to output (or stdout); ReportError when the file cannot be written."""
    reporter = REPORTERS[fmt]
    if output is None:
        try:
            reporter(result, sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has what it wanted
            stdout_closed()
        return
    buf = io.StringIO()
    reporter(result, buf)
    try:
        output.write_text(buf.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write {output}: {exc.strerror}") from None



def scan(
    paths: Paths,
    fmt: Annotated[str, typer.Option("--format", "-f", help="|".join(REPORTERS))] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    rules: Rules = None,
    config: Config = None,
    exclude: Exclude = None,
    max_file_size: Annotated[int | None, typer.Option(min=1, help="Skip files larger than this (bytes).")] = None,
    follow_symlinks: Annotated[bool, typer.Option("--follow-symlinks", help="Follow symbolic links.")] = False,
    gitignore: Annotated[bool, typer.Option("--gitignore", help="Skip files .gitignore excludes.")] = False,
    baseline: Annotated[Path | None, typer.Option(help="Report only findings not in this baseline.")] = None,
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Print plaintext to stdout (never stored).")]
    = False,
    plaintext_output: Annotated[bool, typer.Option(
        "--allow-plaintext-output", help="With --show-secrets: also write the plaintext into the --output file.")]
    = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    min_confidence: Annotated[str, typer.Option(
        help="Report findings at or above: high|medium|low. Low-confidence rules match public identifiers "
             "(publishable keys, DSNs) and weak formats.")] = "medium",
    no_history: Annotated[bool, typer.Option("--no-history", help="Repository: working tree only.")] = False,
    branch: Annotated[list[str] | None, typer.Option("--branch", help="Repository: only these refs.")] = None,
    since_commit: Annotated[str | None, typer.Option(help="Repository: only commits after REV.")] = None,
    staged: Annotated[bool, typer.Option("--staged", help="Repository: only staged changes.")] = False,
    all_objects: Annotated[bool, typer.Option("--all-objects", help="Also unreachable objects.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Ignore the incremental scan cache.")] = False,
    whole_blobs: Annotated[bool, typer.Option(
        "--whole-blobs", help="Repository: match every byte of every blob, not only what a blob stored as a "
                              "small delta changes in its (match-free) base.")] = False,
    auth_file: Annotated[Path | None, typer.Option(
        "--auth-file", help="URL targets: NAME=value credentials file (mode 0600); see README Sources.")] = None,
    source_type: Annotated[str, typer.Option(help="Force the input format: " + "|".join(SOURCE_TYPE_NAMES))] = "auto",
    max_depth: Annotated[int, typer.Option(min=0, help="Containers nested deeper than this are skipped.")] = 8,
    decode_depth: Annotated[int, typer.Option(min=0, help="Nested encodings decoded (base64, hex, …); 0: off.")] = 2,
    db: Annotated[str | None, typer.Option("--db", envvar="TOKENWARD_DB", help="Inventory URL or SQLite file.")] = None,
    no_db: Annotated[bool, typer.Option("--no-db", help="Do not record this scan in the inventory.")] = False,
    verify: Annotated[bool, typer.Option(
        "--verify", help="Then ask each found token's provider whether it works (sends it to that provider's "
                         "documented API only; see `tokenward verify`).")] = False,
) -> None:
    """Scan files, directories or stdin for tokens.

    Exit codes: 0 nothing found; 1 findings; 2 usage or configuration error;
    3 no findings, but some inputs could not be read (permission, corruption).
    """
    with user_errors():
        if fmt not in REPORTERS:
            raise ConfigError(f"unknown --format {fmt!r} (choose from {', '.join(REPORTERS)})")
        if show_secrets and output is not None and not plaintext_output:
            raise ConfigError(f"--show-secrets prints plaintext to stdout only; add --allow-plaintext-output to "
                              f"write it into {output}")
        if verify and no_db:
            raise ConfigError("--verify records its results in the inventory: drop --no-db")
        with _recording(db, no_db) as recorder:
            settings = _settings(config, paths, exclude, max_file_size, follow_symlinks, gitignore)
            base = load_baseline(baseline) if baseline else None
            if min_confidence not in ("high", "medium", "low"):
                raise ConfigError(f"--min-confidence must be high, medium or low, not {min_confidence!r}")
            scanner = build_scanner(settings, rules or [], baseline=base, show_secrets=show_secrets,
                                    expand_options=_expand_options(source_type, max_depth, decode_depth),
                                    min_confidence=min_confidence)
            ruleset = scanner.matcher.ruleset
            if recorder is not None:  # opened by the recorder while the scan starts
                recorder.open(scanner.fp.key, paths, ruleset.digest, len(ruleset.rules))
            options = SourceOptions(
                history=not no_history, branches=tuple(branch or ()), since_commit=since_commit,
                staged=staged, all_objects=all_objects, full=full, ruleset=ruleset.digest,
                detection=scanner.detection_options, whole_blobs=whole_blobs, reread_found=show_secrets)
            live = live_options(full=full, auth_file=auth_file, db=db, use_db=not no_db,
                                max_size=settings.max_file_size, scope=options,
                                settings=settings) if any(map(is_live_target, paths)) else None
            sources = _sources(paths, settings, options, live)
            with progress_bar(not quiet) as progress:
                # A database that cannot be opened stops the scan at its first result, not at its end.
                result = scanner.run(sources, progress, on_started=None if recorder is None else recorder.opened)
            if recorder is not None:
                recorded = recorder.record(result)
                # Cursors move only once the scan is recorded: a failed run is read again, never skipped.
                save_cursors(db, sources, recorded.scan_id)
                if not quiet:
                    err.print(recorded.summary)
        write_report(result, fmt, output)
        if verify:
            from tokenward.cli.verify import verify_found  # httpx and the verifiers only when asked

            verify_found(db, sorted({f.token_id for f in result.findings}))
        if output is not None and not quiet:
            err.print(plain(f"{plural(result.summary.findings, 'finding')} written to {output}"))
    raise typer.Exit(exit_code(result))


def baseline_create(paths: Paths, rules: Rules = None, config: Config = None, exclude: Exclude = None) -> None:
    """Scan PATHs and print a baseline (token id + rule + path, no plaintext) to stdout."""
    with user_errors():
        settings = _settings(config, paths, exclude, None, False, False)
        scanner = build_scanner(settings, rules or [], baseline=Baseline(frozenset()))
        result = scanner.run(_sources(paths, settings, SourceOptions()))
        json.dump(baseline_document(result.findings), sys.stdout, indent=2)
        sys.stdout.write("\n")
