"""Template helpers of the served pages. The environment, the shared filters (dates, safe links), chart
geometry and macros come from tokenward.report.templating, the rendering layer the HTML review uses too;
escaping is Jinja2's autoescape, never by hand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import jinja2

from tokenward.report.templating import environment, safe_url, when
from tokenward.store.dashboard import UsageTrace

__all__ = ["safe_url", "templates", "timeline", "when"]
TIMELINE_WIDTH, TIMELINE_HEIGHT, PAD = 640, 96, 16
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _x(at: float, start: float, span: float) -> float:
    return round(PAD + (TIMELINE_WIDTH - 2 * PAD) * (at - start) / span, 1)


def timeline(trace: UsageTrace) -> dict[str, Any] | None:
    """Geometry of a token's usage timeline: its observed span (first to last use), when each action was last
    seen, and the alerts marked where they fired; None when monitoring never saw the token."""
    times = [a.at.timestamp() for a in trace.alerts]
    if trace.first_at is not None and trace.last_at is not None:
        times += [trace.first_at.timestamp(), trace.last_at.timestamp()]
    if not times:
        return None
    start, end = min(times), max(times)
    span = max(end - start, 1.0)
    used = None if trace.first_at is None or trace.last_at is None else \
        (_x(trace.first_at.timestamp(), start, span), _x(trace.last_at.timestamp(), start, span))
    actions = [{"x": _x(at.timestamp(), start, span), "label": f"{name} (×{n}) last {when(at)}"}
               for name, n, at in trace.actions if at is not None and start <= at.timestamp() <= end]
    alerts = [{"x": _x(a.at.timestamp(), start, span), "label": f"{a.severity} {a.detector} at {when(a.at)}",
               "severity": a.severity} for a in trace.alerts]
    return {"width": TIMELINE_WIDTH, "height": TIMELINE_HEIGHT, "pad": PAD, "used": used, "actions": actions,
            "alerts": alerts, "start": when(datetime.fromtimestamp(start, UTC)),
            "end": when(datetime.fromtimestamp(end, UTC))}


def weekly(hours: Sequence[int]) -> list[tuple[str, int]]:
    """Events per day of the week (Monday first, UTC) from the baseline's 168 hour-of-week counters."""
    if len(hours) != 168:
        return []
    return [(name, sum(hours[d * 24:(d + 1) * 24])) for d, name in enumerate(DAY_NAMES)]


def templates() -> jinja2.Environment:
    """The served pages' environment: web/templates first, then the shared report templates."""
    env = environment(jinja2.PackageLoader("tokenward.web", "templates"))
    env.globals["timeline"] = timeline
    env.globals["weekly"] = weekly
    return env
