"""Template helpers: dates, safe links, chart geometry. Escaping is Jinja2's autoescape, never by hand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jinja2

BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, CHART_WIDTH = 18, 6, 150, 460


def when(value: datetime | None, seconds: bool = False) -> str:
    """UTC 'YYYY-MM-DD HH:MM[:SS]', or '-'."""
    if value is None:
        return "-"
    return str(value.astimezone(UTC))[:19 if seconds else 16]


def safe_url(value: str | None) -> str | None:
    """value when it is an http(s) URL (a link target), else None: no javascript:, data: or file: links."""
    if not value:
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def bars(rows: Sequence[tuple[str, int]]) -> dict[str, Any]:
    """Geometry of a horizontal bar chart drawn as inline SVG (attributes only: the CSP forbids inline style)."""
    top = max((n for _, n in rows), default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 60
    items = [{"label": label, "n": n, "y": i * (BAR_HEIGHT + BAR_GAP), "w": max(1, round(span * n / top)) if n else 0}
             for i, (label, n) in enumerate(rows)]
    height = max(1, len(items)) * (BAR_HEIGHT + BAR_GAP)
    return {"items": items, "height": height, "width": CHART_WIDTH, "x": LABEL_WIDTH, "bar": BAR_HEIGHT}


def install(env: jinja2.Environment) -> None:
    """Register the helpers on the template environment."""
    env.filters["when"] = when
    env.filters["safe_url"] = safe_url
    env.globals["bars"] = bars
