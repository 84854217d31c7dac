"""`tokenward users add|list|disable` and `tokenward serve` options (in-process; the server itself is
exercised by test_web_api and test_web_browser), plus the web app's small safety helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenward.cli import serve as serve_cli
from tokenward.cli.main import app
from tokenward.store import Inventory
from tokenward.store.users import user_for_key
from tokenward.web.render import safe_url
from tokenward.web.security import safe_next


@pytest.fixture
def db(tmp_path: Path) -> str:
    """An empty, migrated SQLite inventory."""
    url = f"sqlite:///{tmp_path / 'inv.db'}"
    assert CliRunner().invoke(app, ["db", "upgrade", "--db", url]).exit_code == 0
    return url


def test_users_add_list_disable(db: str) -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "alice", "--role", "triage", "--db", db])
    assert added.exit_code == 0, added.output
    key = added.stdout.strip()
    assert key.startswith("twk_") and "shown only now" in added.output
    again = runner.invoke(app, ["users", "add", "alice", "--db", db])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = runner.invoke(app, ["users", "add", "bob", "--role", "root", "--db", db])
    assert bad.exit_code == 2 and "unknown --role" in bad.output
    listed = runner.invoke(app, ["users", "list", "--db", db])
    assert "alice\ttriage" in listed.stdout and key not in listed.output
    with Inventory.open(db) as inv:
        user = user_for_key(inv, key)
        assert user is not None and user.role == "triage"
        assert user_for_key(inv, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert runner.invoke(app, ["users", "disable", "alice", "--db", db]).exit_code == 0
    with Inventory.open(db) as inv:
        assert user_for_key(inv, key) is None


def test_serve_warns_on_a_public_address_without_tls(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_cli, "_run", lambda *args: None)  # options only: no server here
    runner = CliRunner()
    public = runner.invoke(app, ["serve", "--db", db, "--host", "0.0.0.0", "--create-admin"])
    assert public.exit_code == 0, public.output
    assert "warning: serving on 0.0.0.0 without TLS" in public.output and public.stdout.startswith("twk_")
    assert "warning" not in runner.invoke(app, ["serve", "--db", db]).output
    proxied = runner.invoke(app, ["serve", "--db", db, "--host", "0.0.0.0", "--trust-proxy", "127.0.0.1"])
    assert "warning" not in proxied.output
    half = runner.invoke(app, ["serve", "--db", db, "--tls-cert", "c.pem"])
    assert half.exit_code == 2 and "go together" in half.output
    assert serve_cli.loopback("localhost") and serve_cli.loopback("::1") and not serve_cli.loopback("10.1.2.3")


def test_links_and_redirects_stay_safe() -> None:
    assert safe_url("https://github.com/acme/app") == "https://github.com/acme/app"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "file:///etc/passwd", "/srv/x",
                "http://", None):
        assert safe_url(bad) is None
    assert safe_next("/tokens?q=a") == "/tokens?q=a"
    for bad in ("//evil.example", "https://evil.example", "/\\evil.example", "", None):
        assert safe_next(bad) == "/"



def test_cookies_are_secure_over_https_or_when_configured() -> None:
    from starlette.requests import Request

    from tokenward.web.security import secure_request

    def request(scheme: str) -> Request:
        return Request({"type": "http", "scheme": scheme, "method": "GET", "path": "/", "headers": [],
                        "server": ("h", 443), "query_string": b""})

    assert secure_request(request("https"), False)  # TLS here, or a trusted proxy's X-Forwarded-Proto
    assert secure_request(request("http"), True)  # --tls-cert or --trust-proxy
    assert not secure_request(request("http"), False)
