"""Markdown review renderer (for pull requests, wikis and tickets)."""

from __future__ import annotations

import re
from html import escape
from typing import TextIO

from tokenward.policy.model import Review
from tokenward.report.terminal import visible

# Markdown punctuation that could open a link, an image, emphasis, code or a table cell; HTML is escaped
# separately, so no value can inject a tag, an attribute or an auto-loading image.
_MD = re.compile(r"([\\`*_\[\]|~!])")


def _cell(text: object) -> str:
    """One value, inert in Markdown and in the HTML a Markdown renderer lets through."""
    value = _MD.sub(r"\\\1", escape(visible(text), quote=True))
    return "\\" + value if value[:1] in ("#", "+", "-", "=") else value  # no heading or list when first on a line


def render_review_md(review: Review, out: TextIO) -> None:
    """Summary table, violations table, per-owner lists and unmapped tokens."""
    s = review.summary
    out.write(f"# Token review\n\nGenerated {review.generated_at:%Y-%m-%d %H:%M} UTC with policy "
              f"<code>{_cell(review.policy)}</code>.\n\n| tokens | leaked | leaked &amp; active | unmapped | "
              f"rotation overdue | violations |\n|---:|---:|---:|---:|---:|---:|\n| {s.tokens} | {s.leaked} | "
              f"{s.active_and_leaked} | {s.unmapped} | {s.overdue} | {s.violations} |\n\n## Violations\n\n")
    out.write("| severity | check | token | owner | finding | remediation |\n|---|---|---|---|---|---|\n")
    for v in review.violations:
        evidence = "<br>".join(_cell(e) for e in v.evidence)
        out.write(f"| {_cell(v.severity)} | {_cell(v.check)} | <code>{_cell(v.token_label)}</code> | "
                  f"{_cell(v.owner or '—')} | {_cell(v.title)}<br>{evidence} | {_cell(v.remediation)} |\n")
    owners: dict[str, list[str]] = {}
    for v in review.violations:
        owners.setdefault(v.owner or "(unmapped)", []).append(f"{_cell(v.severity)}: {_cell(v.title)}")
    out.write("\n## By owner\n")
    for owner in sorted(owners):
        out.write(f"\n### {_cell(owner)}\n\n" + "".join(f"- {x}\n" for x in owners[owner]))
    unmapped = [t for t in review.tokens if t.owner is None and (t.active is not False or t.leaked)]
    if unmapped:
        out.write("\n## Unmapped tokens\n\n" + "".join(
            f"- <code>{_cell(t.key[:12])}</code> {_cell(t.provider)}/{_cell(t.kind)} {_cell(t.label)}\n"
            for t in unmapped))
