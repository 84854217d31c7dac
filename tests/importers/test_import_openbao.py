"""OpenBao importer against a real `bao server -dev`: KV v2 metadata, fingerprints that join a leak, token
accessors with policies and TTLs — and no secret value in the inventory."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.openbao import openbao_dev_server
from tests.review_samples import shared_rule_cache
from tests.tokens import ALNUM, TokenFactory
from tokenward.cli import review as review_cli
from tokenward.cli.main import app
from tokenward.engine import Matcher
from tokenward.errors import ImporterError
from tokenward.identity import Fingerprinter
from tokenward.importers.interface import ImportContext, ImportRequest
from tokenward.importers.openbao import import_openbao

KEY_HEX = "11" * 32
ADMIN_HCL = 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }'
READ_HCL = 'path "secret/data/payments/*" { capabilities = ["read"] }'


def test_openbao_import_joins_a_leak(tmp_path: Path, matcher: Matcher, monkeypatch: pytest.MonkeyPatch,
                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_rule_cache(tmp_path_factory.getbasetemp())))
    monkeypatch.setattr(review_cli, "_matcher", lambda: matcher)
    f = TokenFactory(99)
    stripe, github, password = f"sk_live_{f.chars(ALNUM, 99)}", f.github_classic(), f.chars(ALNUM, 24)
    with openbao_dev_server() as bao:
        bao.kv_put("payments/prod/stripe", {"api_key": stripe, "note": "rotated by hand"},
                   {"owner": "@acme/payments", "service": "payments"})
        bao.kv_put("payments/prod/stripe", {"api_key": stripe, "note": "rotated by hand again",
                                                   "password": password})
        bao.kv_put("ci/github", {"token": github})
        bao.policy("everything", ADMIN_HCL)
        bao.policy("payments-read", READ_HCL)
        admin = bao.token(["everything"], meta={"owner": "ops-bot"})
        reader = bao.token(["payments-read"], ttl="24h")
        monkeypatch.setenv("BAO_TOKEN", bao.root_token)
        ctx = ImportContext(Fingerprinter(bytes.fromhex(KEY_HEX)), lambda: matcher)
        result = import_openbao(ImportRequest(bao.addr), ctx)

        monkeypatch.setenv("TOKENWARD_KEY", KEY_HEX)
        leak = tmp_path / "repo" / "config.py"
        leak.parent.mkdir()
        leak.write_text(f"STRIPE = '{stripe}'\n")
        db = str(tmp_path / "inv.db")
        runner = CliRunner()
        assert runner.invoke(app, ["scan", "-q", "--db", db, str(leak.parent)]).exit_code == 1
        cli = runner.invoke(app, ["import", "openbao", "--addr", bao.addr, "--db", db])
        assert cli.exit_code == 0, cli.output
        review = runner.invoke(app, ["review", "--db", db, "-f", "json", "--fail-on", "none"])
    kv = {r.name: r for r in result.records if r.origin == "openbao" and r.location}
    s = kv["payments/prod/stripe#api_key"]
    assert s.token_id == ctx.fingerprinter.token_id(stripe.encode()) and s.provider == "stripe"
    assert s.owner == "@acme/payments" and s.service == "payments" and s.environment == "production"
    assert dict(s.details)["versions"] == "2" and s.created_at is not None and s.location == (
        "openbao:secret/payments/prod/stripe#api_key")
    assert kv["ci/github#token"].provider == "github" and dict(kv["ci/github#token"].public_ids)["github_hashed_token"]
    assert "payments/prod/stripe#note" not in kv  # prose, not a token
    assert kv["payments/prod/stripe#password"].token_id == ctx.fingerprinter.token_id(password.encode())
    tokens = {dict(r.details)["accessor"]: r for r in result.records if r.external_id.startswith("openbao:accessor:")}
    assert tokens[admin].privilege == "admin" and dict(tokens[admin].details)["wildcard_policies"] == "everything"
    assert tokens[admin].owner == "ops-bot" and tokens[admin].expires_at is not None  # dev default TTL
    assert tokens[reader].privilege == "read" and "policy:payments-read" in tokens[reader].scopes
    assert any("root" in r.scopes and r.expires_at is None for r in tokens.values())  # the dev root token
    assert review.exit_code == 0, review.output
    assert '"check": "leaked"' in review.output and '"openbao:secret/payments/prod/stripe#api_key"' in review.output
    assert "bao token revoke -accessor" in review.output
    raw = (tmp_path / "inv.db").read_bytes() + review.output.encode() + repr(result).encode()
    for plaintext in (stripe, github, password, "rotated by hand"):
        assert plaintext.encode() not in raw


def test_openbao_errors_are_clear(monkeypatch: pytest.MonkeyPatch, matcher: Matcher) -> None:
    ctx = ImportContext(Fingerprinter(bytes(32)), lambda: matcher)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    with pytest.raises(ImporterError, match="no OpenBao token"):
        import_openbao(ImportRequest("http://127.0.0.1:9"), ctx)
    monkeypatch.setenv("BAO_TOKEN", "not-a-real-token")
    with pytest.raises(ImporterError, match="cannot reach OpenBao") as err:
        import_openbao(ImportRequest("http://127.0.0.1:9"), ctx)
    assert "not-a-real-token" not in str(err.value)
