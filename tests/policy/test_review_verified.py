"""The review uses `tokenward verify` results: a token verified live is leaked-and-active, its granted
scopes set its privilege; one verified invalid is not active; an `unknown` verdict says nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.tokens import TokenFactory
from tokenward.cli.main import app
from tokenward.identity import Fingerprinter, load_key
from tokenward.store import Inventory
from tokenward.store.verification import record_verdicts

runner = CliRunner()


def _review_of(tmp_path: Path, verdict: dict[str, object] | None) -> dict[str, object]:
    token = TokenFactory(77).github_classic()
    (tmp_path / "app.env").write_text(f"GITHUB_TOKEN={token}\n")
    db = f"sqlite:///{tmp_path / 'inv.db'}"
    assert runner.invoke(app, ["scan", str(tmp_path / "app.env"), "-q", "--db", db]).exit_code == 1
    if verdict is not None:
        with Inventory.open(db) as inv:
            tid = Fingerprinter(load_key()).token_id(token.encode())
            record_verdicts(inv, [(tid, verdict)], "tester", datetime.now(UTC))
    result = runner.invoke(app, ["review", "--db", db, "-f", "json"])
    doc: dict[str, object] = json.loads(result.stdout)
    assert token not in result.stdout
    return doc


def _violations(doc: dict[str, object]) -> set[str]:
    return {str(v["check"]) for v in doc["violations"]}  # type: ignore[union-attr, index]


@pytest.mark.parametrize(("status", "active"), [("live", True), ("invalid", False), ("unknown", None)])
def test_verdict_decides_leaked_and_active(tmp_path: Path, status: str, active: bool | None) -> None:
    verdict = {"status": status, "reason": "test", "scopes": ["repo", "admin:org"] if status == "live" else []}
    doc = _review_of(tmp_path, verdict)
    assert ("leaked-and-active" in _violations(doc)) is bool(active)
    token = doc["tokens"][0]  # type: ignore[index]
    assert token["active"] is active  # type: ignore[index]
    if active:
        assert token["privilege"] == "admin" and "admin:org" in token["scopes"]  # type: ignore[index]
        assert token["active_basis"].startswith("verified live")  # type: ignore[index]
