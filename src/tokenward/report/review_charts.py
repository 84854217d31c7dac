"""The HTML review's charts as data: titles and SVG geometry the shared macros draw (no JavaScript, no
external resource, no markup built here)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tokenward.policy.model import SEVERITIES, Review
from tokenward.report.templating import bars, columns

COLORS = {"critical": "#8e1b1b", "high": "#d23c2f", "medium": "#e69b1e", "low": "#3a8ed6", "info": "#8a94a3"}
BAR = "#4a6fa5"
AGE_BUCKETS = ((30, "< 30 d"), (90, "30–90 d"), (180, "90–180 d"), (365, "180 d–1 y"), (730, "1–2 y"),
               (10**9, "> 2 y"))
NO_LEAK_DATES = "No dated leaks (no git history)."


@dataclass(frozen=True)
class Chart:
    """One chart: 'bars' or 'columns', its title, geometry (templating.bars / columns) and empty-state text."""

    kind: str
    title: str
    geometry: dict[str, Any]
    empty: str = ""


def bar_chart(title: str, items: Sequence[tuple[str, int]], colors: dict[str, str] | None = None) -> Chart:
    """A horizontal bar chart, one bar per (label, count) with a count (or one 'none' bar)."""
    shown = [(k, v) for k, v in items if v] or [("none", 0)]
    return Chart("bars", title, bars(shown, colors, BAR, width=420, label=140, bar=16, gap=6))


def timeline_chart(title: str, dates: Sequence[datetime]) -> Chart:
    """Leaks per month (by commit date) as columns, empty months kept."""
    months = Counter(d.strftime("%Y-%m") for d in dates)
    keys = _month_range(min(months), max(months)) if months else []
    return Chart("columns", title, columns([(k, months.get(k, 0)) for k in keys], COLORS["high"]), NO_LEAK_DATES)


def _month_range(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    out: list[str] = []
    while f"{y:04d}-{m:02d}" <= last and len(out) < 120:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def age_buckets(ages: Sequence[int | None]) -> list[tuple[str, int]]:
    """Token counts per age bucket."""
    counts = Counter(next(label for limit, label in AGE_BUCKETS if a < limit) for a in ages if a is not None)
    return [(label, counts.get(label, 0)) for _, label in AGE_BUCKETS]


def all_charts(review: Review) -> list[Chart]:
    """Tokens by provider, by severity, by where they live, by age; and the leak timeline."""
    tokens = review.tokens
    providers = Counter(t.provider for t in tokens).most_common(10)
    severity = Counter(v.severity for v in review.violations)
    places = Counter(p for t in tokens for p in (t.exposure.places or ("manager only",)))
    first_leaks = [min(d) for t in tokens if (d := [p.committed_at for p in t.places if p.committed_at])]
    return [
        bar_chart("Tokens by provider", providers),
        bar_chart("Violations by severity", [(s, severity.get(s, 0)) for s in SEVERITIES], COLORS),
        bar_chart("Where tokens live", places.most_common(10)),
        bar_chart("Token age", age_buckets([t.age_days for t in tokens])),
        timeline_chart("Leak timeline (first commit per token, by month)", first_leaks),
    ]
