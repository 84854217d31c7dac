"""The dashboard's per-process shortcuts, in-process on SQLite: the outermost ASGI layer (security headers and
Server-Timing on every answer, errors and static files included), the overview kept per change stamp (a
triage or a new scan shows on the next render), and the session cache (a logout through this process is
refused at once, one elsewhere or a disabled user within the cache's seconds)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from tokenward.store import Inventory
from tokenward.store import tables as t
from tokenward.store.queries import STAMP_TTL
from tokenward.store.users import add_user, disable_user, end_session, start_session, user_for_key
from tokenward.web import WebSettings, create_app
from tokenward.web.security import HEADERS, SESSION_COOKIE

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SESSION_SECONDS = 0.5


def _token(i: int) -> dict[str, Any]:
    return {"token_id": hashlib.sha256(b"c%d" % i).hexdigest(), "provider": "github", "kind": "pat",
            "preview": f"ghp_…{i:04d}", "confidence": "high", "severity": "high", "owner": None,
            "status": "open", "first_seen": T0, "last_seen": T0 + timedelta(hours=i), "occurrences": 1,
            "source_kinds": "repo", "current": True}


class Served:
    """An app over a small SQLite inventory, its keys, and requests to it in-process."""

    def __init__(self, root: Path) -> None:
        self.url = f"sqlite:///{root / 'inventory.db'}"
        self.inventory = Inventory.open(self.url)
        with self.inventory.engine.begin() as conn:
            conn.execute(sa.insert(t.token), [_token(i) for i in range(5)])
        self.keys = {role: add_user(self.inventory, role, role, T0) for role in ("read", "triage")}
        self.app = create_app(self.url, WebSettings(session_cache_seconds=SESSION_SECONDS))

    def get(self, path: str, role: str | None = "read", cookie: str | None = None) -> httpx.Response:
        """A GET as the user of role (an API key), or with a session cookie, or anonymous."""
        return self.request("GET", path, role, cookie)

    def request(self, method: str, path: str, role: str | None = "read", cookie: str | None = None,
                **kw: Any) -> httpx.Response:
        """One request through the whole ASGI app (an app error answers 500, as a server would)."""
        headers = {"Authorization": f"Bearer {self.keys[role]}"} if role and not cookie else {}

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers,
                                         cookies={SESSION_COOKIE: cookie} if cookie else None) as c:
                return await c.request(method, path, **kw)

        return asyncio.run(send())

    def session(self, role: str = "read") -> str:
        """A new browser session of the user of role: its cookie value."""
        user = user_for_key(self.inventory, self.keys[role])
        assert user is not None
        return start_session(self.inventory, user, datetime.now(UTC), timedelta(hours=1))[0]

    def as_tab(self, cookie: str, path: str = "/") -> int:
        """The status of a GET with the session cookie (200, or 303 to the login page)."""
        return self.get(path, cookie=cookie).status_code


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path)
    yield s
    s.app.state.tw.inventory.close()
    s.inventory.close()


def _fails(app: FastAPI) -> None:
    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("an unhandled bug")


def test_every_answer_carries_the_security_headers_and_server_timing(served: Served) -> None:
    _fails(served.app)
    triage = f"/api/tokens/{_token(0)['token_id']}/triage"
    answers = {"page": served.get("/tokens"), "api": served.get("/api/summary"),
               "health": served.get("/api/health", None), "login redirect": served.get("/tokens", None),
               "unauthenticated api": served.get("/api/me", None), "not found": served.get("/nowhere"),
               "invalid": served.get("/api/tokens?per_page=0"),
               "forbidden": served.request("POST", triage, json={"status": "revoked"}),
               "static": served.get("/static/app.js", None), "unhandled": served.get("/api/boom")}
    expected = {"page": 200, "api": 200, "health": 200, "login redirect": 303, "unauthenticated api": 401,
                "not found": 404, "invalid": 422, "forbidden": 403, "static": 200, "unhandled": 500}
    assert {name: got.status_code for name, got in answers.items()} == expected
    for name, got in answers.items():
        for header, value in HEADERS.items():
            if not (name == "static" and header == "Cache-Control"):
                assert got.headers.get(header) == value, (name, header)
        assert re.fullmatch(r"app;dur=\d+\.\d", got.headers["server-timing"]), name
    assert answers["static"].headers["cache-control"] == "public, max-age=300"
    assert "an unhandled bug" not in answers["unhandled"].text


def test_a_write_through_the_app_shows_in_the_next_change_poll(served: Served) -> None:
    before = served.get("/api/changes").json()["stamp"]
    done = served.request("POST", f"/api/tokens/{_token(1)['token_id']}/triage", "triage", json={"status": "revoked"})
    assert done.status_code == 200
    after = served.get(f"/api/changes?since={before}").json()
    assert after["changed"], "the reused stamp was not forgotten after the write"


def _cards(html: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r'id="card-(\w+)"[^>]*><span class="n">(\d+)<', html)}


def test_the_kept_overview_follows_triage_and_new_tokens(served: Served) -> None:
    first = served.get("/").text
    assert _cards(first)["tokens"] == 5 and _cards(first)["unmapped"] == 5
    assert served.get("/").text == first  # kept: the same main part
    served.request("POST", f"/api/tokens/{_token(2)['token_id']}/triage", "triage", json={"status": "revoked"})
    assert _cards(served.get("/").text)["unmapped"] == 4  # through the app: at once
    with served.inventory.engine.begin() as conn:  # a scan in another process: a new token, a new stamp
        conn.execute(sa.insert(t.token), [{**_token(9), "last_seen": T0 + timedelta(days=30)}])
    time.sleep(STAMP_TTL + 0.05)
    assert _cards(served.get("/").text)["tokens"] == 6


def test_the_overview_keeps_nothing_of_one_user_for_another(served: Served) -> None:
    pages = {role: served.get("/", cookie=served.session(role)).text for role in ("read", "triage")}
    csrf = {name: re.findall(r'data-csrf="([^"]+)"', html) for name, html in pages.items()}
    assert csrf["read"] and csrf["triage"] and csrf["read"] != csrf["triage"]
    assert "read (read)" in pages["read"] and "triage (triage)" in pages["triage"]
    assert "triage (triage)" not in pages["read"]


def test_a_logout_through_this_process_is_refused_at_once(served: Served) -> None:
    cookie = served.session()
    csrf = re.search(r'data-csrf="([^"]+)"', served.get("/tokens", cookie=cookie).text)
    assert csrf is not None
    assert served.request("POST", "/logout", cookie=cookie, data={"csrf": csrf.group(1)}).status_code == 303
    assert served.as_tab(cookie) == 303
    assert served.as_tab(cookie, "/api/changes") == 401


def test_a_session_ended_elsewhere_or_a_disabled_user_is_refused_within_the_cache_time(served: Served) -> None:
    ended, disabled = served.session(), served.session("triage")
    assert served.as_tab(ended) == 200 and served.as_tab(disabled) == 200
    end_session(served.inventory, ended)  # a logout through another `--workers` process
    assert disable_user(served.inventory, "triage")  # `tokenward users disable triage`
    time.sleep(SESSION_SECONDS + 0.05)
    assert served.as_tab(ended) == 303 and served.as_tab(disabled) == 303
