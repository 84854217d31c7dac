"""Terminal review renderer: summary, violations by severity, unmapped tokens."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tokenward.policy.model import Review
from tokenward.report.terminal import plain, plural, visible

STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render_review_text(review: Review, out: TextIO) -> None:
    """A readable review for the terminal (no colour when not a TTY; user text never read as markup)."""
    console = Console(file=out, width=max(110, Console().width), highlight=False, soft_wrap=False, markup=False,
                      emoji=False)
    s = review.summary
    console.print(Text.assemble(
        ("tokenward review", "bold"),
        plain(f" — {plural(s.tokens, 'token')}, {s.leaked} leaked, {s.active_and_leaked} leaked and active, "
              f"{s.unmapped} unmapped, {s.overdue} overdue; policy: {review.policy}")))
    console.print(plain("violations: " + (", ".join(f"{k} {v}" for k, v in s.by_severity.items() if v) or "none")))
    if review.violations:
        table = Table("severity", "check", "token", "owner", "finding / fix", box=None, pad_edge=False)
        for v in review.violations:
            body = visible(v.title) + "".join(f"\n  · {visible(e)}" for e in v.evidence)
            body += f"\n  → {visible(v.remediation)}"
            table.add_row(plain(v.severity, STYLE.get(v.severity, "")), plain(v.check), plain(v.token_key[:12]),
                          plain(v.owner or "-"), Text(body))
        console.print(table)
    unmapped = [t for t in review.tokens if t.owner is None and (t.active is not False or t.leaked)]
    if unmapped:
        console.print(Text.assemble("\n", ("Unmapped tokens", "bold"), " (no owner)"))
        for t in unmapped:
            console.print(plain(f"  {t.key[:12]}  {t.provider}/{t.kind}  {t.label}"))
    for note in review.notes:
        console.print(plain(f"note: {note}", "dim"))
