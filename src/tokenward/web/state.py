"""What every request handler shares: the open inventory, its queries, settings, auth caches and templates."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from tokenward.store.inventory import Inventory
from tokenward.store.queries import Queries
from tokenward.web.security import KeyCache, LoginLimiter, Principal, SessionCache, authenticate
from tokenward.web.settings import WebSettings

T = TypeVar("T")
Fragment = Markup  # a rendered, autoescaped part of a page (only fragment() makes one)
log = logging.getLogger("tokenward.web")


@dataclass(frozen=True)
class _Entry:
    stamp: str
    until: float  # time.monotonic() after which the value is refreshed
    value: Any


class StampCache:
    """Results that change only with the inventory (summary, filter choices), kept while the change stamp stays
    the same and for at most ttl seconds (ages and overdue counts move with the clock).

    One request computes a missing value while the others of the same name wait for it (not 50 summaries at
    once); past the ttl at an unchanged stamp, a background thread refreshes it while every request gets the
    value still held (it only lags the clock; no request waits the summary's few hundred ms for that)."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._found: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._computing: dict[str, threading.Lock] = {}

    def get(self, name: str, stamp: str, compute: Callable[[], T]) -> T:
        """The cached value of name at this stamp, computed when missing or stale."""
        hit = self._hit(name, stamp)
        if hit is not None and hit.until > time.monotonic():
            found: T = hit.value
            return found
        busy = self._busy(name)
        if hit is not None:  # known at this stamp, only old: refreshed aside unless that is under way
            if busy.acquire(blocking=False):
                threading.Thread(target=self._refresh, args=(name, stamp, compute, busy), daemon=True).start()
            held: T = hit.value
            return held
        with busy:
            hit = self._hit(name, stamp)  # computed while this request waited
            if hit is not None and hit.until > time.monotonic():
                done: T = hit.value
                return done
            return self._compute(name, stamp, compute)

    def _hit(self, name: str, stamp: str) -> _Entry | None:
        with self._lock:
            hit = self._found.get(name)
        return hit if hit is not None and hit.stamp == stamp else None

    def _busy(self, name: str) -> threading.Lock:
        with self._lock:
            return self._computing.setdefault(name, threading.Lock())

    def _refresh(self, name: str, stamp: str, compute: Callable[[], T], busy: threading.Lock) -> None:
        try:
            self._compute(name, stamp, compute)
        except Exception as exc:  # the held value stays (still stale: the next request tries again)
            log.warning("refreshing %s failed: %s", name, exc)
        finally:
            busy.release()

    def _compute(self, name: str, stamp: str, compute: Callable[[], T]) -> T:
        value = compute()
        with self._lock:
            self._found[name] = _Entry(stamp, time.monotonic() + self.ttl, value)
        return value


@dataclass
class AppState:
    """The app's long-lived objects (one per create_app)."""

    inventory: Inventory
    queries: Queries
    settings: WebSettings
    keys: KeyCache
    limiter: LoginLimiter
    env: jinja2.Environment
    cache: StampCache = field(default_factory=StampCache)
    sessions: SessionCache = field(default_factory=lambda: SessionCache(5.0))

    def render(self, name: str, principal: Principal | None, status: int = 200, stamp: str | None = None,
               **context: Any) -> HTMLResponse:
        """A template rendered (autoescaped) with the page chrome's context: user, CSRF token, change stamp
        (read before the page's data, so a change in between is picked up by the next poll)."""
        if stamp is None:
            stamp = self.queries.changes() if principal is not None else ""
        html = self.env.get_template(name).render(
            principal=principal, csrf=principal.csrf if principal else None, stamp=stamp,
            poll_ms=self.settings.poll_ms, **context)
        return HTMLResponse(html, status_code=status)

    def fragment(self, name: str, **context: Any) -> Fragment:
        """A template rendered (autoescaped) without the page chrome: a part of a page that render() inserts
        as is, so it can be kept and shared between users (it must then hold nothing per user or session)."""
        return Markup(self.env.get_template(name).render(**context))  # autoescaped: safe to insert as is


def app_state(request: Request) -> AppState:
    """The AppState of the app serving this request."""
    found: AppState = request.app.state.tw
    return found


def principal(request: Request) -> Principal:
    """The authenticated user of this request (NotAuthenticated otherwise: 401 or a redirect to /login)."""
    st = app_state(request)
    return authenticate(request, st.inventory, st.keys, st.sessions)


State = Annotated[AppState, Depends(app_state)]
Auth = Annotated[Principal, Depends(principal)]
