"""Who is asking and may they: API keys, session cookies, CSRF, roles, login rate limit, response headers."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from fastapi import Request

from tokenward.store import users
from tokenward.store.inventory import Inventory
from tokenward.store.users import Session, User

SESSION_COOKIE = "tw_session"
LOGIN_COOKIE = "tw_login"  # double-submit CSRF token of the login form (there is no session yet)
RANK = {"read": 0, "triage": 1, "admin": 2}
V = TypeVar("V")
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class NotAuthenticated(Exception):
    """No valid API key or session came with the request."""


class Forbidden(Exception):
    """Authenticated, but the role does not allow this (or the CSRF token is missing or wrong)."""


@dataclass(frozen=True)
class Principal:
    """The user behind a request and, for a browser session, the session's CSRF token."""

    user: User
    csrf: str | None  # None: an API key (no cookie, so no cross-site request can carry it)

    @property
    def actor(self) -> str:
        """The audit trail's name for this user."""
        return f"web:{self.user.name}"

    def may(self, role: str) -> bool:
        """True when this user's role includes role (admin > triage > read)."""
        return RANK.get(self.user.role, -1) >= RANK[role]


class Expiring(Generic[V]):
    """A thread-safe map whose entries each hold until a monotonic time; at most `limit` entries (the expired
    ones are dropped first, then everything: a cache, never the only copy)."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._found: dict[str, tuple[V, float]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> V | None:
        """The entry's value while it holds, else None."""
        with self._lock:
            hit = self._found.get(name)
        return hit[0] if hit is not None and hit[1] > time.monotonic() else None

    def put(self, name: str, value: V, seconds: float) -> None:
        """Keep value under name for seconds."""
        with self._lock:
            if len(self._found) >= self.limit:
                now = time.monotonic()
                self._found = {k: v for k, v in self._found.items() if v[1] > now}
                if len(self._found) >= self.limit:
                    self._found.clear()
            self._found[name] = (value, time.monotonic() + seconds)

    def pop(self, name: str) -> None:
        """Forget name."""
        with self._lock:
            self._found.pop(name, None)


class KeyCache:
    """Recently verified API keys (by SHA-256), so a client's every request does not pay an argon2 check."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._found: Expiring[User] = Expiring()
        self._lock = threading.Lock()
        self._checking: dict[str, threading.Lock] = {}  # one argon2 check per key at a time

    def user(self, inventory: Inventory, key: str) -> User | None:
        """The key's user (cached for a while), or None."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        hit = self._found.get(digest)
        if hit is not None:
            return hit
        with self._lock:
            checking = self._checking.setdefault(digest, threading.Lock())
        # When the entry expires under load, every waiting request would run argon2 at once (seconds of
        # stall on two cores); the first checks, the others wait for its answer.
        with checking:
            hit = self._found.get(digest)
            if hit is not None:
                return hit
            found = users.user_for_key(inventory, key)
            if found is not None:
                self._found.put(digest, found, self.seconds)
            with self._lock:
                self._checking.pop(digest, None)
        return found


class SessionCache:
    """Recently read browser sessions (by the cookie's SHA-256, as stored), so an open tab's polls do not
    each read web_session: an entry is trusted for `seconds` at most, never past the session's expiry.

    A logout through this process forgets the session at once. With `serve --workers N` each process keeps
    its own entries, so a logout through another process, and `tokenward users disable`, take effect here
    within `seconds` (the default is 5)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._found: Expiring[Session] = Expiring()

    def session(self, inventory: Inventory, cookie: str) -> Session | None:
        """The cookie's live session (cached for a while), or None (never cached: the next request asks)."""
        digest = users.digest(cookie)
        hit = self._found.get(digest)
        if hit is not None:
            return hit
        now = datetime.now(UTC)
        found = users.session_for(inventory, cookie, now)
        if found is not None and self.seconds > 0:
            self._found.put(digest, found, min(self.seconds, (found.expires_at - now).total_seconds()))
        return found

    def forget(self, cookie: str) -> None:
        """Drop the cookie's entry (its session just ended)."""
        self._found.pop(users.digest(cookie))


class LoginLimiter:
    """At most `attempts` failed logins per client address in a sliding window."""

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts, self.window = attempts, window
        self._failed: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        """True when this client has used up its failed attempts."""
        with self._lock:
            recent = self._recent(client)
            return len(recent) >= self.attempts

    def failed(self, client: str) -> None:
        """Count one failed attempt."""
        with self._lock:
            self._recent(client).append(time.monotonic())

    def _recent(self, client: str) -> deque[float]:
        recent = self._failed.setdefault(client, deque())
        while recent and recent[0] < time.monotonic() - self.window:
            recent.popleft()
        return recent


def presented_key(request: Request) -> str | None:
    """An API key from `Authorization: Bearer …` or `X-API-Key`."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def authenticate(request: Request, inventory: Inventory, keys: KeyCache, sessions: SessionCache) -> Principal:
    """The request's principal: an API key header wins over the session cookie; NotAuthenticated when neither."""
    key = presented_key(request)
    if key:
        user = keys.user(inventory, key)
        if user is None:
            raise NotAuthenticated
        return Principal(user, None)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = sessions.session(inventory, cookie) if cookie else None
    if session is None:
        raise NotAuthenticated
    return Principal(session.user, session.csrf)


def check_csrf(principal: Principal, presented: str | None) -> None:
    """Forbidden unless a session request carries its session's CSRF token (API keys need none)."""
    if principal.csrf is None:
        return
    if not presented or not hmac.compare_digest(presented.encode(), principal.csrf.encode()):
        raise Forbidden("the form is stale or came from another site (CSRF token mismatch): reload and retry")


def require(principal: Principal, role: str) -> None:
    """Forbidden unless the principal's role includes role."""
    if not principal.may(role):
        raise Forbidden(f"{principal.user.name} has role {principal.user.role}; this needs {role}")


def open_session(inventory: Inventory, user: User, hours: float) -> tuple[str, Session]:
    """A new browser session (cookie value, session)."""
    return users.start_session(inventory, user, datetime.now(UTC), timedelta(hours=hours))


def secure_request(request: Request, always: bool) -> bool:
    """True when cookies must be Secure: configured so, or this request came over https."""
    return always or request.url.scheme == "https"


def safe_next(target: str | None) -> str:
    """A post-login redirect target within this site (never //host or a scheme: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
