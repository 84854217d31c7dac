"""The OpenBao audit path against a real dev server: file audit device, real calls, HMAC'd accessor join."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.openbao import ROOT_TOKEN, openbao_dev_server
from tests.usage.test_usage_detectors import ListSink
from tokenward.cli.main import app
from tokenward.identity import Fingerprinter, load_key
from tokenward.store import Inventory
from tokenward.store.records import Batch, ScanStart, TokenRecord
from tokenward.store.usage import UsageState
from tokenward.usage.alerts import AlertManager
from tokenward.usage.events import VAULT_HMAC
from tokenward.usage.identity import InventoryDirectory, Joiner
from tokenward.usage.monitor import Monitor, MonitorOptions
from tokenward.usage.vault import AuditHasher, alias_accessors

ROOT = ROOT_TOKEN


@dataclass(frozen=True)
class Bao:
    """A running dev server with a file audit device."""

    addr: str
    audit_log: Path

    def client(self, token: str = ROOT) -> httpx.Client:
        return httpx.Client(base_url=self.addr, headers={"X-Vault-Token": token}, timeout=10.0)


@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bao]:
    work = tmp_path_factory.mktemp("bao")
    with openbao_dev_server("unsafe_allow_api_audit_creation = true\n", work) as running:
        server = Bao(running.addr, work / "audit.log")
        with server.client() as c:
            r = c.put("/v1/sys/audit/file", json={"type": "file", "options": {"file_path": str(server.audit_log)}})
            assert r.status_code == 204, r.text
        yield server


def _app_token(bao: Bao) -> tuple[str, str]:
    """A token with an 'app' policy; some real calls with it (allowed and denied). Returns (token, accessor)."""
    with bao.client() as root:
        policy = 'path "secret/data/app" { capabilities = ["read"] }'
        assert root.put("/v1/sys/policies/acl/app", json={"policy": policy}).status_code == 204
        assert root.post("/v1/secret/data/app", json={"data": {"k": "v"}}).status_code == 200
        auth = root.post("/v1/auth/token/create", json={"policies": ["app"], "ttl": "1h"}).json()["auth"]
    with bao.client(auth["client_token"]) as c:
        for _ in range(3):
            assert c.get("/v1/secret/data/app").status_code == 200
        assert c.get("/v1/secret/data/other").status_code == 403
        assert c.get("/v1/auth/token/lookup-self").status_code == 200
    return auth["client_token"], auth["accessor"]


def _declare(inv: Inventory, token: str, accessor: str) -> str:
    token_id = Fingerprinter(load_key()).token_id(token.encode())
    scan = ScanStart("import-test", datetime.now(UTC), "tester", "host", 1, (), "rules", 1, "0")
    rec = TokenRecord(token_id, "openbao", "service-token", "s.…" + token[-4:], None, (("vault_accessor", accessor),),
                      ("openbao.token",), "high", None, None, "high")
    inv.write_batch(scan, datetime.now(UTC), Batch((rec,), (), ()))
    return token_id


def test_real_audit_log_joins_on_the_hmaced_accessor(bao: Bao, tmp_path: Path) -> None:
    token, accessor = _app_token(bao)
    with Inventory.open(f"sqlite:///{tmp_path / 'inv.db'}") as inv:
        token_id = _declare(inv, token, accessor)
        state = UsageState(inv.engine)
        joiner = Joiner(InventoryDirectory(inv), state.idents(), state.token_flags())
        assert alias_accessors(joiner, AuditHasher(bao.addr, ROOT, "file")) == 1
        hashed = next(v for (k, v), t in joiner.by_ident.items() if k == VAULT_HMAC and t == token_id)
        assert hashed.startswith("hmac-sha256:") and accessor not in hashed
        sink = ListSink()
        summary = Monitor(joiner, AlertManager([sink]), state, MonitorOptions()).run([str(bao.audit_log)])
        assert summary.files[0].fmt == "openbao-audit" and summary.malformed == 0
        profile = state.profiles([token_id])[token_id]
        actions = {a for a, _ in profile["actions"]}
        assert {"read secret/data/app", "read secret/data/other", "read auth/token/lookup-self"} <= actions
        assert profile["events"] == 5 and profile["denied"] == 1
        assert summary.unmapped >= 1  # the root token: seen in use, never declared
        assert token not in (tmp_path / "inv.db").read_bytes().decode("latin-1")


def test_cli_monitor_maps_accessors_and_suggests_a_policy(bao: Bao, tmp_path: Path) -> None:
    token, accessor = _app_token(bao)
    db = f"sqlite:///{tmp_path / 'inv.db'}"
    with Inventory.open(db) as inv:
        token_id = _declare(inv, token, accessor)
    runner = CliRunner()
    env = {"BAO_TOKEN": ROOT}
    result = runner.invoke(app, ["monitor", str(bao.audit_log), "--db", db, "--vault-addr", bao.addr, "-q"], env=env)
    assert result.exit_code in (0, 1), result.output
    result = runner.invoke(app, ["scopes", "suggest", token_id[:12], "--db", db])
    assert result.exit_code == 0, result.output
    assert 'path "secret/data/app"' in result.output and '["read"]' in result.output
    assert "secret/data/other" not in result.output.split("policy", 1)[1]  # denied: never needed
