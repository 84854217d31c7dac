"""The HTML review: one self-contained file (inline CSS, JS and SVG; no external request; no plaintext),
rendered by the shared Jinja2 environment (report/templating.py) with autoescape: nothing escapes by hand."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TextIO

from tokenward.policy.model import Review, TokenView, Violation, severity_rank
from tokenward.report.review_charts import all_charts
from tokenward.report.templating import report_environment
from tokenward.report.terminal import plural

UNMAPPED = "(unmapped)"


@dataclass(frozen=True)
class OwnerGroup:
    """One owner's violations, worst first, and how the owner was found."""

    owner: str
    count: str
    basis: str | None
    violations: tuple[Violation, ...]


@dataclass(frozen=True)
class TokenLine:
    """One row of the review's token table, as text."""

    label: str
    detail: str
    kind: str
    owner: str
    environment: str
    privilege: str
    age: str
    active: str
    places: str
    origins: str


def owner_groups(violations: tuple[Violation, ...], tokens: tuple[TokenView, ...]) -> list[OwnerGroup]:
    """Violations grouped by owner: owners with the worst violation first, the unmapped group last."""
    groups: dict[str, list[Violation]] = defaultdict(list)
    for v in violations:
        groups[v.owner or UNMAPPED].append(v)
    basis = {t.owner.name: t.owner.basis for t in tokens if t.owner}

    def order(o: str) -> tuple[bool, int, str]:
        return o == UNMAPPED, min(severity_rank(v.severity) for v in groups[o]), o

    return [OwnerGroup(o, plural(len(groups[o]), "violation"), basis.get(o), tuple(groups[o]))
            for o in sorted(groups, key=order)]


def token_line(t: TokenView) -> TokenLine:
    """The token table's text for t."""
    owner = f"{t.owner.name} ({t.owner.basis})" if t.owner else "—"
    active = "unknown" if t.active is None else ("yes" if t.active else "no")
    places = ", ".join(t.exposure.places) or ", ".join(s.split(":", 1)[0] for s in t.storage) or "—"
    return TokenLine(t.label, f"{t.preview} {t.key[:12]}", f"{t.provider} / {t.kind}", owner, t.environment or "—",
                     t.privilege or "—", "" if t.age_days is None else str(t.age_days), active, places,
                     ", ".join(t.origins))


def render_review_html(review: Review, out: TextIO) -> None:
    """Write the self-contained HTML review."""
    s = review.summary
    cards = [("tokens", s.tokens, False), ("leaked", s.leaked, True), ("leaked & active", s.active_and_leaked, True),
             ("unmapped owner", s.unmapped, True), ("rotation overdue", s.overdue, True),
             ("violations", s.violations, False)]
    out.write(report_environment().get_template("review.html").render(
        generated=review.generated_at.strftime("%Y-%m-%d %H:%M UTC"), review=review, cards=cards,
        charts=all_charts(review), checks=sorted({v.check for v in review.violations}),
        owners=owner_groups(review.violations, review.tokens), tokens=[token_line(t) for t in review.tokens]))
