"""Terminal reporter: a redacted rich table, the summary and skipped inputs."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table

from tokenward.scanner import ScanResult

STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}


def _where(f_path: str, line: int, commit: str | None) -> str:
    return f"{f_path}:{line}" + (f" @{commit[:10]}" if commit else "")


def render_text(result: ScanResult, out: TextIO) -> None:
    """Human-readable findings table and summary; plaintext only with --show-secrets."""
    console = Console(file=out, width=max(100, Console().width), highlight=False, soft_wrap=False)
    if result.findings:
        table = Table("confidence", "rule", "token", "where", box=None, pad_edge=False)
        show = any(f.secret is not None for f in result.findings)
        if show:
            table.add_column("secret")
        for f in result.findings:
            commit = f.origin.git.first_commit.commit if f.origin.git and f.origin.git.first_commit else None
            row = [f"[{STYLE.get(f.confidence, '')}]{f.confidence}[/]", f.rule_id,
                   f"{f.preview} {f.token_id[:10]}", _where(f.origin.path, f.location.line, commit)]
            table.add_row(*row, *([f.secret or ""] if show else []))
        console.print(table)
    _summary(console, result)


def _summary(console: Console, result: ScanResult) -> None:
    s = result.summary
    console.print(
        f"\n{s.findings} findings ({s.tokens} distinct tokens) in {s.blobs_scanned} inputs, "
        f"{s.bytes_scanned / 1e6:.1f} MB, {s.seconds:.2f}s; {s.rules} rules"
    )
    if s.suppressed:
        console.print("suppressed: " + ", ".join(f"{k} {v}" for k, v in sorted(s.suppressed.items())))
    if s.skipped:
        console.print("skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(s.skipped.items())))
    for item in [x for x in result.skipped if x.severity == "error"][:20]:
        console.print(f"[red]could not read[/] {item.location}: {item.reason}")
