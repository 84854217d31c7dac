"""The HTML review: one self-contained file (inline CSS, JS and SVG; no external request; no plaintext)."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from importlib import resources
from string import Template
from typing import TextIO

from tokenward.policy.model import Review, TokenView, Violation, severity_rank
from tokenward.report.review_charts import all_charts
from tokenward.report.terminal import plural


def _template() -> Template:
    text = resources.files("tokenward.report").joinpath("templates/review.html").read_text(encoding="utf-8")
    return Template(text)


def _card(label: str, value: int, alert: bool = False) -> str:
    return (f'<div class="card{" alert" if alert and value else ""}"><div class="n">{value}</div>'
            f'<div class="l">{escape(label)}</div></div>')


def _cards(review: Review) -> str:
    s = review.summary
    return "".join([_card("tokens", s.tokens), _card("leaked", s.leaked, True),
                    _card("leaked & active", s.active_and_leaked, True), _card("unmapped owner", s.unmapped, True),
                    _card("rotation overdue", s.overdue, True), _card("violations", s.violations)])


def _violation_row(v: Violation) -> str:
    evidence = "".join(f"<li>{escape(e)}</li>" for e in v.evidence)
    return (f'<tr data-severity="{escape(v.severity)}" data-check="{escape(v.check)}">'
            f'<td data-sort="{escape(v.severity)}"><span class="sev {escape(v.severity)}">'
            f"{escape(v.severity)}</span></td>"
            f"<td>{escape(v.check)}</td><td><code>{escape(v.token_label)}</code><br>"
            f'<span class="muted">{escape(v.token_key[:16])}</span></td><td>{escape(v.provider)}</td>'
            f"<td>{escape(v.owner or '—')}</td><td>{escape(v.title)}<ul>{evidence}</ul></td>"
            f'<td class="fix">{escape(v.remediation)}</td></tr>')


def _owners(review: Review) -> str:
    groups: dict[str, list[Violation]] = defaultdict(list)
    for v in review.violations:
        groups[v.owner or "(unmapped)"].append(v)
    basis = {t.owner.name: t.owner.basis for t in review.tokens if t.owner}
    parts = []
    def order(o: str) -> tuple[bool, int, str]:
        return o == "(unmapped)", min(severity_rank(v.severity) for v in groups[o]), o

    for owner in sorted(groups, key=order):
        items = "".join(f'<li><span class="sev {escape(v.severity)}">{escape(v.severity)}</span> '
                        f"{escape(v.title)} <span class=\"muted\">({escape(v.check)})</span></li>"
                        for v in groups[owner])
        how = f' <span class="basis">owner via {escape(basis[owner])}</span>' if owner in basis else ""
        count = plural(len(groups[owner]), "violation")
        parts.append(f'<details class="owner" open><summary>{escape(owner)} — {count}{how}'
                     f"</summary><ul>{items}</ul></details>")
    return "".join(parts) or '<p class="muted">No violations.</p>'


def _token_row(t: TokenView) -> str:
    owner = f"{t.owner.name} ({t.owner.basis})" if t.owner else "—"
    active = "unknown" if t.active is None else ("yes" if t.active else "no")
    places = ", ".join(t.exposure.places) or ", ".join(s.split(":", 1)[0] for s in t.storage) or "—"
    return (f"<tr><td><code>{escape(t.label)}</code><br><span class=\"muted\">{escape(t.preview)} "
            f"{escape(t.key[:12])}</span></td><td>{escape(t.provider)} / {escape(t.kind)}</td>"
            f"<td>{escape(owner)}</td><td>{escape(t.environment or '—')}</td><td>{escape(t.privilege or '—')}</td>"
            f"<td>{'' if t.age_days is None else t.age_days}</td><td>{active}</td><td>{escape(places)}</td>"
            f"<td>{escape(', '.join(t.origins))}</td></tr>")


def render_review_html(review: Review, out: TextIO) -> None:
    """Write the self-contained HTML review."""
    checks = sorted({v.check for v in review.violations})
    notes = "".join(f'<p class="muted">Note: {escape(n)}</p>' for n in review.notes)
    out.write(_template().substitute(
        generated=escape(review.generated_at.strftime("%Y-%m-%d %H:%M UTC")), policy=escape(review.policy),
        database=escape(review.database), version=escape(review.tool_version), cards=_cards(review),
        charts=all_charts(review), check_options="".join(f"<option>{escape(c)}</option>" for c in checks),
        violation_rows="".join(_violation_row(v) for v in review.violations), owners=_owners(review),
        token_rows="".join(_token_row(t) for t in review.tokens), notes=notes))
