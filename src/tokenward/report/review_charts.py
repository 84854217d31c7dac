"""Inline SVG charts for the HTML review (no JavaScript, no external resources)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from html import escape

from tokenward.policy.model import SEVERITIES, Review

COLORS = {"critical": "#8e1b1b", "high": "#d23c2f", "medium": "#e69b1e", "low": "#3a8ed6", "info": "#8a94a3"}
BAR = "#4a6fa5"
AGE_BUCKETS = ((30, "< 30 d"), (90, "30–90 d"), (180, "90–180 d"), (365, "180 d–1 y"), (730, "1–2 y"),
               (10**9, "> 2 y"))


def bar_chart(title: str, items: Sequence[tuple[str, int]], colors: dict[str, str] | None = None) -> str:
    """A horizontal bar chart, one bar per (label, count)."""
    items = [(k, v) for k, v in items if v] or [("none", 0)]
    top = max(v for _, v in items) or 1
    height, width, label_w = 22 * len(items) + 6, 420, 140
    bars = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * 22
        w = max(2, int((width - label_w - 40) * value / top)) if value else 0
        fill = (colors or {}).get(label, BAR)
        bars.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
                    f'<rect x="{label_w}" y="{y}" width="{w}" height="16" rx="3" fill="{fill}"/>'
                    f'<text x="{label_w + w + 5}" y="{y + 13}">{value}</text>')
    svg = (f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
           f'{"".join(bars)}</svg>')
    return f'<div class="chart"><h3>{escape(title)}</h3>{svg}</div>'


def timeline_chart(title: str, dates: Sequence[datetime]) -> str:
    """Leaks per month (by commit date) as vertical bars."""
    months = Counter(d.strftime("%Y-%m") for d in dates)
    if not months:
        return f'<div class="chart"><h3>{escape(title)}</h3><p class="muted">No dated leaks (no git history).</p></div>'
    keys = _month_range(min(months), max(months))
    top, width, height, pad = max(months.values()), 420, 150, 24
    step = (width - 2 * pad) / max(len(keys), 1)
    parts = [f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#c9ced6"/>']
    for i, key in enumerate(keys):
        h = (height - 2 * pad - 10) * months.get(key, 0) / top
        x = pad + i * step
        if months.get(key):
            parts.append(f'<rect x="{x + 2:.1f}" y="{height - pad - h:.1f}" width="{max(step - 4, 2):.1f}" '
                         f'height="{h:.1f}" rx="2" fill="{COLORS["high"]}"><title>{key}: {months[key]}</title></rect>'
                         f'<text x="{x + step / 2:.1f}" y="{height - pad - h - 3:.1f}" text-anchor="middle">'
                         f'{months[key]}</text>')
        if i == 0 or i == len(keys) - 1 or len(keys) <= 8:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - 8}" text-anchor="middle">{key}</text>')
    svg = f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">{"".join(parts)}</svg>'
    return f'<div class="chart"><h3>{escape(title)}</h3>{svg}</div>'


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


def all_charts(review: Review) -> str:
    """Tokens by provider, by severity, by where they live, by age; and the leak timeline."""
    tokens = review.tokens
    providers = Counter(t.provider for t in tokens).most_common(10)
    severity = Counter(v.severity for v in review.violations)
    places = Counter(p for t in tokens for p in (t.exposure.places or ("manager only",)))
    first_leaks = [min(d) for t in tokens if (d := [p.committed_at for p in t.places if p.committed_at])]
    return "".join([
        bar_chart("Tokens by provider", providers),
        bar_chart("Violations by severity", [(s, severity.get(s, 0)) for s in SEVERITIES], COLORS),
        bar_chart("Where tokens live", places.most_common(10)),
        bar_chart("Token age", age_buckets([t.age_days for t in tokens])),
        timeline_chart("Leak timeline (first commit per token, by month)", first_leaks),
    ])
