"""Read queries of the dashboard's newer pages: a token's usage trace (from the tables `monitor` writes) and
open-token problems grouped by owner. The handlers hold no SQL; this module and store/queries.py do."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, inspect, or_, select
from sqlalchemy.exc import SQLAlchemyError

from tokenward.errors import StoreError
from tokenward.store import tables as t
from tokenward.store.inventory import Inventory

MAX_OWNERS = 500
SEVERITY_ORDER = tuple(t.SEVERITIES)


@dataclass(frozen=True)
class AlertMark:
    """One alert as the usage timeline marks it."""

    alert_id: str
    detector: str
    severity: str
    at: datetime
    last_at: datetime
    count: int


@dataclass(frozen=True)
class UsageTrace:
    """What usage monitoring recorded about one token: its baseline's span and counters, the actions it was
    used for (name, events, last seen), events per hour of the week, alerts, and granted/observed scopes."""

    first_at: datetime | None = None
    last_at: datetime | None = None
    events: int = 0
    errors: int = 0
    denied: int = 0
    actions: tuple[tuple[str, int, datetime | None], ...] = ()
    hours: tuple[int, ...] = ()
    alerts: tuple[AlertMark, ...] = ()
    granted: str | None = None  # comma-separated, as the monitor or an import recorded it
    observed_scopes: str | None = None  # the scopes header the provider's logs showed
    profile: Mapping[str, Any] = field(default_factory=dict)  # the raw baseline (scope advice reads it)

    @property
    def monitored(self) -> bool:
        """True when monitoring saw the token at all (an event or an alert)."""
        return bool(self.events or self.alerts)


@dataclass(frozen=True)
class OwnerProblems:
    """One owner's open tokens and how many of them break the dashboard's rules (owner None: unmapped)."""

    owner: str | None
    open: int
    leaked: int
    overdue: int
    critical: int
    high: int

    @property
    def problems(self) -> int:
        """Open tokens leaked or overdue (an unmapped owner is a problem in itself)."""
        return self.open if self.owner is None else max(self.leaked, self.overdue)


@contextmanager
def _read(inventory: Inventory, doing: str) -> Iterator[Connection]:
    try:
        with inventory.engine.connect() as conn:
            yield conn
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise StoreError(f"{doing} ({inventory}): {reason[0] if reason else type(exc).__name__}") from None


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(float(value), UTC) if isinstance(value, int | float) and value > 0 else None


def _actions(profile: Mapping[str, Any]) -> tuple[tuple[str, int, datetime | None], ...]:
    found = []
    for pair in profile.get("actions") or ():
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], list) and pair[1]:
            found.append((str(pair[0] if pair[0] is not None else "(none)"), int(pair[1][0]),
                          _epoch(pair[1][1] if len(pair[1]) > 1 else None)))
    return tuple(sorted(found, key=lambda a: (-a[1], a[0]))[:50])


def _trace(profile: Mapping[str, Any], alerts: tuple[AlertMark, ...], granted: str | None) -> UsageTrace:
    hours = profile.get("how") or ()
    return UsageTrace(_epoch(profile.get("first_at")), _epoch(profile.get("last_at")), int(profile.get("events") or 0),
                      int(profile.get("errors") or 0), int(profile.get("denied") or 0), _actions(profile),
                      tuple(int(h) for h in hours) if len(hours) == 168 else (), alerts, granted,
                      profile.get("scopes") if isinstance(profile.get("scopes"), str) else None, profile)


def usage_trace(inventory: Inventory, token_id: str, limit: int = 200) -> UsageTrace:
    """The token's usage trace (empty when monitoring never saw it or never ran on this inventory)."""
    a = t.usage_alert.c
    with _read(inventory, "reading the usage trace") as conn:
        if not inspect(conn).has_table("usage_profile"):
            return UsageTrace()
        data = conn.execute(select(t.usage_profile.c.data).where(t.usage_profile.c.token_id == token_id)).scalar()
        rows = conn.execute(select(a.alert_id, a.detector, a.severity, a.at, a.last_at, a.count)
                            .where(a.token_id == token_id).order_by(a.at).limit(limit))
        alerts = tuple(AlertMark(*r) for r in rows)
        granted = conn.execute(select(t.usage_token.c.granted).where(t.usage_token.c.token_id == token_id)).scalar()
    try:
        profile = json.loads(data) if data else {}
    except ValueError:
        profile = {}
    return _trace(profile if isinstance(profile, dict) else {}, alerts, granted)


def problems_by_owner(inventory: Inventory, now: datetime, overdue_days: int = 90) -> list[OwnerProblems]:
    """Open tokens per owner (unmapped first, then the owners with most problems), by the overview's rules:
    leaked = found in plaintext, overdue = expired or first seen longer ago than overdue_days."""
    tk = t.token.c

    def count(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    overdue = or_(tk.expires_at < now, tk.first_seen < now - timedelta(days=overdue_days))
    query = (select(tk.owner, func.count(), count(tk.occurrences > 0), count(overdue), count(tk.severity == "critical"),
                    count(tk.severity == "high"))
             .where(tk.status == "open").group_by(tk.owner).order_by(func.count().desc(), tk.owner).limit(MAX_OWNERS))
    with _read(inventory, "grouping tokens by owner") as conn:
        rows = [OwnerProblems(r[0], *(int(n) for n in r[1:])) for r in conn.execute(query)]
    return sorted(rows, key=lambda r: (r.owner is not None, -r.problems, -r.critical, r.owner or ""))


def owner_token_ids(inventory: Inventory, owner: str | None, limit: int = 500) -> list[str]:
    """The open tokens of owner (None: the unmapped ones), most severe first, at most limit."""
    tk = t.token.c
    rank = case({s: i for i, s in enumerate(SEVERITY_ORDER)}, value=tk.severity, else_=len(SEVERITY_ORDER))
    who = tk.owner.is_(None) if owner is None else tk.owner == owner
    query = (select(tk.token_id).where(and_(tk.status == "open", who))
             .order_by(rank, tk.last_seen.desc(), tk.token_id).limit(limit))
    with _read(inventory, "listing the owner's tokens") as conn:
        return [str(r) for r in conn.execute(query).scalars()]
