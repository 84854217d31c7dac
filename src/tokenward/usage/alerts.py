"""Alerts: a detector finding about a named token, deduplicated and throttled, with its evidence."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from tokenward.usage.detectors import SEVERITIES, Anomaly, TokenInfo
from tokenward.usage.events import UsageEvent, iso

RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Evidence:
    """One log line behind an alert: where it is and what it said (never a secret)."""

    where: str
    at: str
    ip: str | None
    agent: str | None
    action: str | None
    status: int
    ref: str | None = None


@dataclass(frozen=True)
class Alert:
    """What happened to which token, what was expected, what was seen, and the lines that show it."""

    alert_id: str
    detector: str
    severity: str
    key: str
    token_id: str
    preview: str
    public_id: str | None
    owner: str | None
    provider: str
    at: str
    expected: str
    observed: str
    evidence: tuple[Evidence, ...]
    baseline: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    count: int = 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (the JSON lines sink and the webhook body)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """The Alert a to_dict form describes."""
        ev = tuple(Evidence(**e) for e in data.get("evidence", ()))
        return cls(**{**data, "evidence": ev})

    def token_name(self) -> str:
        """The token as alerts name it: preview, public id (shown whole: it is no secret) and owner."""
        parts = [self.preview]
        if self.public_id and self.public_id not in self.preview:
            parts.append(self.public_id)
        parts.append(f"owner {self.owner}" if self.owner else "no owner")
        return f"{' '.join(parts[:-1])} ({parts[-1]}, token {self.token_id[:12]})"

    def headline(self) -> str:
        """One line: severity, detector, token, what was seen."""
        return f"[{self.severity.upper()}] {self.detector}: {self.token_name()}: {self.observed}"


class AlertSink(Protocol):
    """Where alerts go (text, JSON lines, webhook)."""

    def send(self, alert: Alert) -> None:
        """Deliver one alert (a failing webhook retries, then counts the failure; it never raises)."""

    def close(self) -> None:
        """Flush and release."""


def alert_id(token_id: str, detector: str, key: str, at: float) -> str:
    """A short stable id for `monitor --explain`."""
    return hashlib.sha256(f"{token_id}\0{detector}\0{key}\0{at}".encode()).hexdigest()[:16]


def evidence_of(ev: UsageEvent, where: str) -> Evidence:
    """The evidence record of one event at where ('path:line')."""
    return Evidence(where, iso(ev.at), ev.ip, ev.agent, ev.action, ev.status, ev.ref)


@dataclass
class Recent:
    """The last alert raised for one (token, detector, key): for dedup and throttling."""

    alert_id: str
    last_at: float
    suppressed: int = 0


class AlertManager:
    """Turns findings into alerts once per key and throttle window, and hands them to the sinks."""

    def __init__(self, sinks: Sequence[AlertSink], recent: dict[tuple[str, str, str], Recent] | None = None,
                 min_severity: str = "low") -> None:
        self.sinks = list(sinks)
        self.recent = recent or {}
        self.min_rank = RANK[min_severity]
        self.raised: list[Alert] = []
        self.suppressed: dict[str, int] = {}

    def consider(self, token: TokenInfo, ev: UsageEvent, f: Anomaly, evidence: Sequence[Evidence],
                 baseline: dict[str, Any]) -> Alert | None:
        """Raise an alert for f unless the same key fired within its throttle window (or ever, for 0)."""
        key = (token.token_id, f.detector, f.key)
        prev = self.recent.get(key)
        if prev is not None and (f.throttle == 0 or ev.at - prev.last_at < f.throttle):
            prev.suppressed += 1
            self.suppressed[prev.alert_id] = self.suppressed.get(prev.alert_id, 0) + 1
            return None
        alert = Alert(alert_id(token.token_id, f.detector, f.key, ev.at), f.detector, f.severity, f.key,
                      token.token_id, token.preview, token.public_id, token.owner, token.provider, iso(ev.at),
                      f.expected, f.observed, tuple(evidence), baseline)
        self.recent[key] = Recent(alert.alert_id, ev.at)
        self.raised.append(alert)
        if RANK[f.severity] <= self.min_rank:
            for sink in self.sinks:
                sink.send(alert)
        return alert

    def drain(self) -> tuple[list[Alert], dict[str, int]]:
        """Alerts raised and repeat counts since the last drain (for persisting)."""
        raised, suppressed = self.raised, self.suppressed
        self.raised, self.suppressed = [], {}
        return raised, suppressed

    def close(self) -> None:
        """Close every sink."""
        for sink in self.sinks:
            sink.close()


def render_text(alert: Alert) -> str:
    """The multi-line text form of an alert."""
    lines = [alert.headline(), f"  id        {alert.alert_id}   at {alert.at}",
             f"  expected  {alert.expected}", f"  seen      {alert.observed}"]
    lines += [f"  evidence  {e.where}" + (f" ({e.ref})" if e.ref else "") for e in alert.evidence]
    return "\n".join(lines) + "\n"


def render_json(alert: Alert) -> str:
    """One JSON line."""
    return json.dumps(alert.to_dict(), sort_keys=True, default=str)
