"""Terminal reporter: a redacted rich table, the summary and skipped inputs."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tokenward.report.terminal import console_for, plain, plural
from tokenward.results import ScanResult

STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}
def _where(f_path: str, line: int, commit: str | None) -> str:
    return f"{f_path}:{line}" + (f" @{commit[:10]}" if commit else "")


def render_text(result: ScanResult, out: TextIO) -> None:
    """Human-readable findings table and summary; plaintext only with --show-secrets."""
    console = console_for(out)
    if result.findings:
        table = Table("confidence", "rule", "token", "where", box=None, pad_edge=False)
        show = any(f.secret is not None for f in result.findings)
        if show:
            # folded, never cut: a truncated secret is useless
            table.add_column("secret", no_wrap=False, overflow="fold")
        for f in result.findings:
            commit = f.origin.git.first_commit.commit if f.origin.git and f.origin.git.first_commit else None
            row = [plain(f.confidence, STYLE.get(f.confidence, "")), plain(f.rule_id),
                   plain(f"{f.preview} {f.token_id[:10]}"), plain(_where(f.origin.path, f.location.line, commit))]
            table.add_row(*row, *([plain(f.secret or "")] if show else []))
        console.print(table)
    _summary(console, result)


def _summary(console: Console, result: ScanResult) -> None:
    s = result.summary
    console.print(Text(
        f"\n{plural(s.findings, 'finding')} ({plural(s.tokens, 'distinct token')}) in "
        f"{plural(s.blobs_scanned, 'input')}, {s.bytes_scanned / 1e6:.1f} MB, {s.seconds:.2f}s; "
        f"{plural(s.rules, 'rule')}"))
    if s.suppressed:
        console.print(plain("suppressed: " + ", ".join(f"{k} {v}" for k, v in sorted(s.suppressed.items()))))
    if s.skipped:
        console.print(plain("skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(s.skipped.items()))))
    if s.history.get("enumerated"):
        h = s.history
        console.print(plain(f"history: {plural(h['enumerated'], 'blob')}, {h.get('read', 0)} read "
                            f"({h.get('from_git', 0)} through git), {h.get('cached', 0)} cached; "
                            f"{h.get('windowed', 0)} matched around their changes only, "
                            f"{h.get('revisited', 0)} again whole"))
    for item in [x for x in result.skipped if x.severity == "error"][:20]:
        console.print(Text.assemble(("could not read", "red"), " ", plain(f"{item.location}: {item.reason}")))
