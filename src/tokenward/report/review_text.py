"""Terminal review renderer: summary, violations by severity, unmapped tokens."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table

from tokenward.policy.model import Review

STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render_review_text(review: Review, out: TextIO) -> None:
    """A readable review for the terminal (no colour when not a TTY)."""
    console = Console(file=out, width=max(110, Console().width), highlight=False, soft_wrap=False)
    s = review.summary
    console.print(f"[bold]tokenward review[/] — {s.tokens} tokens, {s.leaked} leaked, "
                  f"{s.active_and_leaked} leaked and active, {s.unmapped} unmapped, {s.overdue} overdue; "
                  f"policy: {review.policy}")
    console.print("violations: " + ", ".join(f"{k} {v}" for k, v in s.by_severity.items() if v) or "none")
    if review.violations:
        table = Table("severity", "check", "token", "owner", "finding / fix", box=None, pad_edge=False)
        for v in review.violations:
            body = v.title + "".join(f"\n  · {e}" for e in v.evidence) + f"\n  → {v.remediation}"
            table.add_row(f"[{STYLE.get(v.severity, '')}]{v.severity}[/]", v.check, v.token_key[:12],
                          v.owner or "-", body)
        console.print(table)
    unmapped = [t for t in review.tokens if t.owner is None and (t.active is not False or t.leaked)]
    if unmapped:
        console.print("\n[bold]Unmapped tokens[/] (no owner)")
        for t in unmapped:
            console.print(f"  {t.key[:12]}  {t.provider}/{t.kind}  {t.label}")
    for note in review.notes:
        console.print(f"[dim]note: {note}[/]")
