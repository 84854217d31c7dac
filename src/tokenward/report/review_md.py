"""Markdown review renderer (for pull requests, wikis and tickets)."""

from __future__ import annotations

from typing import TextIO

from tokenward.policy.model import Review


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_review_md(review: Review, out: TextIO) -> None:
    """Summary table, violations table, per-owner lists and unmapped tokens."""
    s = review.summary
    out.write(f"# Token review\n\nGenerated {review.generated_at:%Y-%m-%d %H:%M} UTC with policy "
              f"`{review.policy}`.\n\n| tokens | leaked | leaked & active | unmapped | rotation overdue | "
              f"violations |\n|---:|---:|---:|---:|---:|---:|\n| {s.tokens} | {s.leaked} | {s.active_and_leaked} | "
              f"{s.unmapped} | {s.overdue} | {s.violations} |\n\n## Violations\n\n")
    out.write("| severity | check | token | owner | finding | remediation |\n|---|---|---|---|---|---|\n")
    for v in review.violations:
        evidence = "<br>".join(_cell(e) for e in v.evidence)
        out.write(f"| {v.severity} | {v.check} | `{_cell(v.token_label)}` | {_cell(v.owner or '—')} | "
                  f"{_cell(v.title)}<br>{evidence} | {_cell(v.remediation)} |\n")
    owners: dict[str, list[str]] = {}
    for v in review.violations:
        owners.setdefault(v.owner or "(unmapped)", []).append(f"{v.severity}: {v.title}")
    out.write("\n## By owner\n")
    for owner in sorted(owners):
        out.write(f"\n### {_cell(owner)}\n\n" + "".join(f"- {_cell(x)}\n" for x in owners[owner]))
    unmapped = [t for t in review.tokens if t.owner is None and (t.active is not False or t.leaked)]
    if unmapped:
        out.write("\n## Unmapped tokens\n\n" + "".join(f"- `{t.key[:12]}` {t.provider}/{t.kind} "
                                                       f"{_cell(t.label)}\n" for t in unmapped))
