"""The one HTML rendering layer: a Jinja2 environment with autoescape, shared by the static HTML review and
the served dashboard (tokenward.web adds its own templates in front of these). Nothing escapes by hand.

Shared here: the filters (dates, safe links), chart geometry and the macros of `templates/_shared.html`
(severity badges, bar and column charts drawn as SVG attributes only, violation lists).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
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


def bars(rows: Sequence[tuple[str, int]], colors: Mapping[str, str] | None = None, default: str | None = None,
         width: int = CHART_WIDTH, label: int = LABEL_WIDTH, bar: int = BAR_HEIGHT, gap: int = BAR_GAP
         ) -> dict[str, Any]:
    """Geometry of a horizontal bar chart drawn as SVG (attributes only: the dashboard's CSP forbids inline
    style); a bar's colour, when given, is its `fill` attribute."""
    top = max((n for _, n in rows), default=0) or 1
    span = width - label - 60
    items = [{"label": name, "n": n, "y": i * (bar + gap), "w": max(2, round(span * n / top)) if n else 0,
              "fill": (colors or {}).get(name, default)} for i, (name, n) in enumerate(rows)]
    height = max(1, len(items)) * (bar + gap)
    return {"items": items, "height": height, "width": width, "x": label, "bar": bar}


def columns(rows: Sequence[tuple[str, int]], fill: str, width: int = 420, height: int = 150, pad: int = 24,
            labels: int = 8) -> dict[str, Any]:
    """Geometry of a vertical column chart (a timeline: one column per period, empty periods kept)."""
    top = max((n for _, n in rows), default=0) or 1
    step = (width - 2 * pad) / max(len(rows), 1)
    items = []
    for i, (name, n) in enumerate(rows):
        h = (height - 2 * pad - 10) * n / top
        x = pad + i * step
        items.append({"label": name, "n": n, "x": round(x + 2, 1), "w": round(max(step - 4, 2), 1),
                      "y": round(height - pad - h, 1), "h": round(h, 1), "mid": round(x + step / 2, 1),
                      "named": i in (0, len(rows) - 1) or len(rows) <= labels})
    return {"items": items, "width": width, "height": height, "base": height - pad, "pad": pad, "fill": fill}


@cache
def _shared_loader() -> jinja2.BaseLoader:
    return jinja2.PackageLoader("tokenward.report", "templates")


def environment(*front: jinja2.BaseLoader) -> jinja2.Environment:
    """The autoescaping environment over the report templates, with `front` loaders searched first."""
    # auto_reload off: the templates are package files; checking their mtimes was a stat per render
    env = jinja2.Environment(loader=jinja2.ChoiceLoader([*front, _shared_loader()]), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             auto_reload=False)
    env.filters["when"] = when
    env.filters["safe_url"] = safe_url
    env.globals["bars"] = bars
    env.globals["columns"] = columns
    return env


@cache
def report_environment() -> jinja2.Environment:
    """The environment of the file reports (built once)."""
    return environment()
