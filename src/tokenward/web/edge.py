"""The app's outermost layer: security headers on every response, Server-Timing, one log line per request
without the query string, and the change stamp forgotten after a write.

A plain ASGI middleware, not Starlette's `app.middleware("http")`: that one runs every request through an
extra task and a pair of memory streams, which cost more CPU than the change poll's own work."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("tokenward.web")
STATIC_PREFIX = "/static/"
STATIC_CACHE = b"public, max-age=300"


class Edge:
    """Wraps the whole app (outside FastAPI's error middleware, so a 500 gets the headers too).

    Server-Timing is the time from entering this layer to the response's start message; the pages and API
    answers are not streamed, so by then the body is complete (only writing it to the socket is left)."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str], on_write: Callable[[Scope], None]) -> None:
        self.app = app
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.on_write = on_write  # called once a non-GET request's response starts (its write has landed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]  # what the log line reports if the app fails before answering

        async def start(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                if scope["method"] not in ("GET", "HEAD"):
                    self.on_write(scope)  # before the client can see the answer and ask again
                message["headers"] = self._headers(scope, message.get("headers") or [], started)
            await send(message)

        try:
            await self.app(scope, receive, start)
        finally:
            ms = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.1fms", scope["method"], route_of(scope), status[0], ms)

    def _headers(self, scope: Scope, raw: Any, started: float) -> list[tuple[bytes, bytes]]:
        """The response's headers plus the security headers it does not set itself and Server-Timing."""
        headers = list(raw)
        present = {name.lower() for name, _ in headers}
        static = scope["path"].startswith(STATIC_PREFIX)
        if static:  # package files: a browser may keep them a few minutes (every other answer: no-store)
            headers = [(n, v) for n, v in headers if n.lower() != b"cache-control"]
            headers.append((b"cache-control", STATIC_CACHE))
        headers.extend((n, v) for n, v in self.headers if n not in present and not (static and n == b"cache-control"))
        ms = (time.perf_counter() - started) * 1000
        headers.append((b"server-timing", f"app;dur={ms:.1f}".encode()))
        return headers


def route_of(scope: Scope) -> str:
    """The matched route's template (/tokens/{token_id}), never the raw path or query: they may hold input."""
    route: Any = scope.get("route")
    found = str(getattr(route, "path", ""))
    return found or ("/static" if str(scope.get("path", "")).startswith(STATIC_PREFIX) else "?")
