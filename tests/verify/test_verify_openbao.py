"""OpenBao verify and revoke against the real dev server: lookup-self (live, with policies), revoke-self,
then the same token is invalid; the plaintext is read back from the scanned file each time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.openbao import BaoServer, openbao_dev_server
from tokenward.cli.main import app


@pytest.fixture(scope="module")
def bao() -> Iterator[BaoServer]:
    with openbao_dev_server() as server:
        yield server


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, bao: BaoServer) -> Callable[..., Result]:
    monkeypatch.setenv("TOKENWARD_KEY", "33" * 32)
    monkeypatch.setenv("BAO_ADDR", bao.addr)
    monkeypatch.delenv("TOKENWARD_VERIFY_ENDPOINTS", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_verify_revoke_verify(run: Callable[..., Result], bao: BaoServer, tmp_path: Path) -> None:
    bao.policy("reader", 'path "secret/data/app/*" { capabilities = ["read"] }')
    token = bao.api("POST", "auth/token/create", {"policies": ["reader"], "ttl": "1h",
                                                   "display_name": "ci-deployer"})["auth"]["client_token"]
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "deploy.env").write_text(f"VAULT_TOKEN={token}\n")
    db = str(tmp_path / "inv.db")
    assert run("scan", str(tmp_path / "tree"), "--db", db, "-q").exit_code == 1
    token_id = json.loads(run("inventory", "export", "--format", "json", "--db", db).stdout)["tokens"][0]["token_id"]

    live = json.loads(run("verify", token_id, "--db", db, "-f", "json").stdout)[0]
    assert live["status"] == "live" and "reader" in live["scopes"] and "ci-deployer" in live["identity"]
    assert live["expires_at"]

    revoked = run("revoke", token_id, "--yes", "--db", db)
    assert revoked.exit_code == 0, revoked.output
    after = json.loads(run("verify", token_id, "--db", db, "-f", "json", "--refresh").stdout)[0]
    assert after["status"] == "invalid" and "403" in after["reason"]
    for text in (revoked.output, json.dumps(after), json.dumps(live)):
        assert token not in text
    assert token.encode() not in Path(db).read_bytes()


def test_no_address_is_unknown_not_a_request(run: Callable[..., Result], monkeypatch: pytest.MonkeyPatch,
                                             bao: BaoServer, tmp_path: Path) -> None:
    monkeypatch.delenv("BAO_ADDR")
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    token = bao.api("POST", "auth/token/create", {"policies": ["default"]})["auth"]["client_token"]
    (tmp_path / "t.env").write_text(f"VAULT_TOKEN={token}\n")
    db = str(tmp_path / "inv.db")
    run("scan", str(tmp_path / "t.env"), "--db", db, "-q")
    rows = json.loads(run("verify", "--all", "--db", db, "-f", "json").stdout)
    assert rows[0]["status"] == "unknown" and "BAO_ADDR" in rows[0]["reason"]
    with_addr = json.loads(run("verify", "--all", "--db", db, "-f", "json", "--addr", bao.addr).stdout)
    assert with_addr[0]["status"] == "live"
