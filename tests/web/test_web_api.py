"""`tokenward serve` over HTTP on both backends: auth everywhere, paging, detail, audited actions, login
cookies and CSRF, rate limit, security headers, and no plaintext secret in any response or log line."""

from __future__ import annotations

import re
import time
from urllib.parse import urljoin

import httpx
import pytest

from tests.web_site import XSS_NOTE, Site, serving

pytest_plugins = ["tests.conftest_pg", "tests.web_fixtures"]
PAGES = ("/", "/tokens", "/alerts", "/scans", "/docs", "/openapi.json")


def _first_token(s: Site, **params: str) -> str:
    with s.client() as c:
        found = c.get("/api/tokens", params={"per_page": "1", **params}).json()
    return str(found["items"][0]["token_id"])


def test_everything_but_login_and_health_needs_auth(served: Site) -> None:
    with served.client("admin") as c:
        spec = c.get("/openapi.json").json()
    with served.client(None) as anon:
        assert anon.get("/api/health").json() == {"status": "ok"}
        assert anon.get("/login").status_code == 200
        for path, ops in spec["paths"].items():
            if path == "/api/health":
                continue
            url = path.replace("{token_id}", "0" * 64)
            for method in ops:
                got = anon.request(method, url, json={"status": "open"})
                assert got.status_code == 401, (method, path, got.status_code)
        for page in PAGES:
            got = anon.get(page)
            assert got.status_code in (303, 401), page
        assert anon.get("/tokens").headers["location"].startswith("/login?next=")
        assert anon.get("/", headers={"Authorization": "Bearer twk_0000000000000000_nope"}).status_code == 303


def test_tokens_are_filtered_sorted_and_paged_by_the_server(served: Site) -> None:
    with served.client("rita") as c:
        first = c.get("/api/tokens", params={"per_page": 5, "page": 1}).json()
        second = c.get("/api/tokens", params={"per_page": 5, "page": 2}).json()
        total = first["total"]
        assert total >= len(served.secrets) == 12 and first["pages"] == -(-total // 5)
        assert not {t["token_id"] for t in first["items"]} & {t["token_id"] for t in second["items"]}
        by_path = c.get("/api/tokens", params={"q": "onerror"}).json()
        assert by_path["total"] == 3
        assert c.get("/api/tokens", params={"provider": "github"}).json()["total"] == total
        assert c.get("/api/tokens", params={"provider": "aws"}).json()["total"] == 0
        rows = c.get("/api/tokens", params={"sort": "first_seen", "order": "desc", "per_page": 200}).json()["items"]
        assert len(rows) == total and rows == sorted(rows, key=lambda r: r["first_seen"], reverse=True)
        assert c.get("/api/tokens", params={"sort": "nope"}).status_code == 422
        summary = c.get("/api/summary").json()
        assert summary["tokens"] == total and summary["live"] is None
        assert summary["by_provider"] == [["github", total]]


def test_token_detail_has_provenance(served: Site) -> None:
    token_id = _first_token(served, q="settings0")
    with served.client("rita") as c:
        detail = c.get(f"/api/tokens/{token_id}").json()
        assert c.get(f"/api/tokens/{'f' * 64}").status_code == 404
        assert c.get("/api/tokens/not-an-id").status_code == 422
    (occ,) = detail["occurrences"]
    assert occ["path"].endswith("settings0.env") and occ["commit_id"] and occ["author"].startswith('x" onmouseover')
    assert detail["token"]["preview"].startswith("ghp_")


def test_actions_are_role_gated_and_audited(served: Site) -> None:
    token_id = _first_token(served, q="settings0")
    body = {"status": "false-positive", "note": XSS_NOTE}
    with served.client("rita") as reader, served.client("tina") as triager:
        before = reader.get("/api/changes").json()["stamp"]
        assert reader.post(f"/api/tokens/{token_id}/triage", json=body).status_code == 403
        done = triager.post(f"/api/tokens/{token_id}/triage", json=body).json()
        assert done["changed"] and done["event"]["actor"] == "web:tina"
        assert not triager.post(f"/api/tokens/{token_id}/triage", json=body).json()["changed"]
        owned = triager.post(f"/api/tokens/{token_id}/owner", json={"owner": "team-payments"}).json()
        assert owned["event"]["action"] == "assign-owner" and owned["event"]["note"].endswith(" -> team-payments")
        assert triager.post(f"/api/tokens/{token_id}/triage", json={"status": "bogus"}).status_code == 422
        events = reader.get(f"/api/tokens/{token_id}").json()["events"]
        assert [(e["action"], e["actor"]) for e in events][-2:] == [("triage", "web:tina"),
                                                                    ("assign-owner", "web:tina")]
        changes = reader.get("/api/changes", params={"since": before}).json()
        assert changes["changed"] and changes["stamp"] != before


def _login(s: Site, c: httpx.Client, key: str) -> httpx.Response:
    form = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    return c.post("/login", data={"key": key, "csrf": csrf.group(1), "next": "/tokens"})


def test_login_sets_a_strict_httponly_session_and_forms_need_csrf(served: Site) -> None:
    with served.client(None) as c:
        done = _login(served, c, served.keys["tina"])
        assert done.status_code == 303 and done.headers["location"] == "/tokens"
        cookie = done.headers["set-cookie"].lower()
        assert "tw_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert "secure" not in cookie  # plain http on loopback; https requests and --tls-cert get Secure
        page = c.get("/tokens")
        assert page.status_code == 200
        for name, value in {"Content-Security-Policy": "script-src 'self'", "X-Frame-Options": "DENY",
                            "Referrer-Policy": "no-referrer"}.items():
            assert value in page.headers[name]
        assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
        token_id = _first_token(served, q="settings2")
        refused = c.post(f"/tokens/{token_id}/triage", data={"status": "revoked", "csrf": "wrong"})
        assert refused.status_code == 403
        no_header = c.post(f"/api/tokens/{token_id}/triage", json={"status": "revoked"})
        assert no_header.status_code == 403  # a session's API write needs X-CSRF-Token
        csrf = re.search(r'data-csrf="([^"]+)"', page.text)
        assert csrf is not None
        with_header = c.post(f"/api/tokens/{token_id}/owner", json={"owner": "ops"},
                             headers={"X-CSRF-Token": csrf.group(1)})
        assert with_header.status_code == 200 and with_header.json()["event"]["actor"] == "web:tina"
        old_cookie = c.cookies["tw_session"]
        assert c.post("/logout", data={"csrf": csrf.group(1)}).status_code == 303
        with served.client(None) as replay:  # the session is gone server-side, not just the browser's cookie
            replay.cookies.set("tw_session", old_cookie)
            assert replay.get("/tokens").status_code == 303


@pytest.mark.parametrize("served", ["sqlite"], indirect=True)  # in-process limiter: the backend plays no part
def test_login_is_rate_limited(served: Site) -> None:
    assert served.log is not None
    with serving(served.db, served.env, served.log.with_name("limit.log")) as url, \
            httpx.Client(base_url=url, timeout=30) as c:
        codes = [_login(served, c, "twk_0123456789abcdef_wrong").status_code for _ in range(11)]
        assert codes[:10] == [401] * 10 and codes[10] == 429
        assert _login(served, c, served.keys["rita"]).status_code == 429  # even a right key, for a while


def _crawl(c: httpx.Client, start: list[str], limit: int = 80) -> dict[str, str]:
    seen: dict[str, str] = {}
    todo = list(start)
    while todo and len(seen) < limit:
        url = todo.pop(0)
        if url in seen:
            continue
        got = c.get(url)
        assert got.status_code < 500, url
        seen[url] = got.text
        for href in re.findall(r'href="(/[^"]*)"', got.text):
            target = urljoin(url, href.replace("&amp;", "&"))
            if target not in seen and not target.startswith("/static/"):
                todo.append(target)
    return seen


def test_no_plaintext_secret_in_any_response_or_log(served: Site) -> None:
    with served.client("admin") as c:
        ids = [t["token_id"] for t in c.get("/api/tokens", params={"per_page": 200}).json()["items"]]
        api = ["/api/summary", "/api/tokens?per_page=200", "/api/scans", "/api/alerts", "/api/changes",
               *(f"/api/tokens/{i}" for i in ids)]
        pages = _crawl(c, [*PAGES, *(f"/tokens/{i}" for i in ids)])
        bodies = [*pages.values(), *(c.get(u).text for u in api)]
    time.sleep(0.2)  # the server's last log lines
    assert served.log is not None
    bodies.append(served.log.read_text(errors="replace"))
    assert len(pages) > 15
    for secret in served.secrets:
        assert not any(secret in b or secret[4:20] in b for b in bodies), "a plaintext secret was served"


@pytest.mark.parametrize("served", ["sqlite", "postgresql"], indirect=True)
def test_several_worker_processes_share_sessions_and_keys(served: Site) -> None:
    assert served.log is not None
    with serving(served.db, served.env, served.log.with_name("workers.log"), workers=2) as url, \
            httpx.Client(base_url=url, timeout=30) as c:
        key = {"Authorization": f"Bearer {served.keys['rita']}"}
        assert {c.get("/api/summary", headers=key).status_code for _ in range(20)} == {200}
        assert _login(served, c, served.keys["rita"]).status_code == 303
        # the session was opened by one process; every request after (either process) knows it
        assert {c.get("/tokens").status_code for _ in range(20)} == {200}
        c.get("/tokens?q=needle-in-query")
        time.sleep(0.2)  # the workers' last log lines
    log = served.log.with_name("workers.log").read_text(errors="replace")
    assert "Traceback" not in log and served.keys["rita"] not in log
    assert "GET /tokens 200" in log and "needle-in-query" not in log  # every process logs, route only
