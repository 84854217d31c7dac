"""A fake provider for the verify/revoke tests: a threading HTTP server on 127.0.0.1 (random port) that
replays a verifier's documented responses or a hostile one (WAF page, HTML, 429, 5xx, slow, redirect),
and records every request it receives."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tokenward.verify.interface import Example

WAF_PAGE = b"<!DOCTYPE html><html><head><title>Attention Required!</title></head><body>Access denied</body></html>"
SCENARIOS = ("live", "invalid", "waf403", "html200", "ratelimited", "error500", "unexpected", "redirect")


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Fake:
    """What the server answers: `routes` (documented examples) or a fixed hostile `mode`."""

    routes: tuple[Example, ...] = ()
    mode: str = "routes"
    delay: float = 0.0
    redirect_to: str = ""
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def answer(self, method: str, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body for one request."""
        fixed = _HOSTILE.get(self.mode)
        if fixed is not None:
            return fixed
        if self.mode == "redirect":
            return 302, [("Location", self.redirect_to + path)], b""
        bare = path.split("?", 1)[0]
        matching = [r for r in self.routes if r.method == method and bare.startswith(r.path)]
        if not matching:
            return 404, [("Content-Type", "application/json")], b'{"fake": "no route"}'
        route = max(matching, key=lambda r: len(r.path))
        return route.status, list(route.headers), _bytes(route)

    def reset(self, routes: tuple[Example, ...] = (), mode: str = "routes", delay: float = 0.0) -> Fake:
        """Answer differently from now on (one server serves many tests)."""
        self.routes, self.mode, self.delay = routes, mode, delay
        self.seen.clear()
        return self

_HOSTILE: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {
    "waf403": (403, [("Content-Type", "text/html")], WAF_PAGE),
    "html200": (200, [("Content-Type", "text/html; charset=utf-8")], b"<html><body>Welcome! Sign in</body></html>"),
    "ratelimited": (429, [("Content-Type", "application/json"), ("Retry-After", "0")], b'{"message": "slow down"}'),
    "error500": (500, [("Content-Type", "application/json")], b'{"message": "internal error"}'),
    "unexpected": (200, [("Content-Type", "application/json")], b'{"hello": "world"}'),
}


def _bytes(route: Example) -> bytes:
    if route.body is None:
        return b""
    if isinstance(route.body, bytes):
        return route.body
    if isinstance(route.body, str):
        return route.body.encode()
    return json.dumps(route.body).encode()


def _handler(fake: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fake.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if fake.delay:
                time.sleep(fake.delay)
            status, headers, payload = fake.answer(self.command, self.path)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                self._reply(status, headers, payload)

        def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
            self.send_response(status)
            if not any(k.lower() == "content-type" for k, _ in headers) and payload:
                headers.append(("Content-Type", "application/json"))
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_server(fake: Fake | None = None) -> Iterator[Fake]:
    """Serve fake on a free 127.0.0.1 port until the block ends."""
    fake = fake or Fake()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
