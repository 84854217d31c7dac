"""`tokenward verify` and `tokenward revoke` end to end: inventory → plaintext found again → fake provider →
audit events; bad input exits 2/3 with one line; the plaintext never reaches any output or the database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.test_no_plaintext import _secret_of
from tests.tokens import provider_tokens
from tests.verify_fake import Fake, fake_server
from tokenward.cli.main import app
from tokenward.verify.registry import REVOKERS, VERIFIERS

KEY_HEX = "22" * 32
PLANTED = ("github.pat-classic", "stripe.secret-key-live", "generic.password")


@pytest.fixture
def fake() -> Iterator[Fake]:
    routes = (*VERIFIERS["github.pat-classic"].examples().live, *REVOKERS["github.pat-classic"].examples().live)
    with fake_server(Fake(routes)) as server:
        yield server


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, fake: Fake) -> Callable[..., Result]:
    monkeypatch.setenv("TOKENWARD_KEY", KEY_HEX)
    monkeypatch.setenv("TOKENWARD_VERIFY_ENDPOINTS", f"*={fake.url}")
    runner = CliRunner()
    return lambda *args, stdin=None: runner.invoke(app, list(args), input=stdin)


@pytest.fixture
def planted(tmp_path: Path, run: Callable[..., Result]) -> dict[str, str]:
    """Scan a tree holding three tokens into tmp_path/inv.db; provider → (token id, plaintext)."""
    tokens = provider_tokens()
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "app.env").write_text("".join(tokens[r] + "\n" for r in PLANTED))
    assert run("scan", str(tree), "--db", str(tmp_path / "inv.db"), "-q").exit_code == 1
    listed = json.loads(run("inventory", "export", "--format", "json", "--db", str(tmp_path / "inv.db")).stdout)
    ids = {t["provider"]: t["token_id"] for t in listed["tokens"]}
    return {"db": str(tmp_path / "inv.db"), "tree": str(tree), **{p: ids[p] for p in ("github", "stripe", "generic")},
            "secret": _secret_of(tokens["github.pat-classic"])}


def _no_plaintext(secret: str, *texts: str, db: str) -> None:
    for text in texts:
        assert secret not in text and secret[-12:] not in text
    assert secret.encode() not in Path(db).read_bytes()
    wal = Path(db + "-wal")
    assert not wal.exists() or secret.encode() not in wal.read_bytes()


def test_verify_live_then_cached_and_recorded(run: Callable[..., Result], planted: dict[str, str], fake: Fake) -> None:
    db, gh = planted["db"], planted["github"]
    first = run("verify", gh[:10], "--db", db)
    assert first.exit_code == 0, first.output
    assert "live" in first.stdout and "github" in first.stdout
    assert fake.seen[0].path == "/user" and fake.seen[0].headers["authorization"] == f"Bearer {planted['secret']}"
    as_json = json.loads(run("verify", gh, "--db", db, "-f", "json").stdout)
    assert as_json[0]["status"] == "live" and as_json[0]["cached"] is True
    assert as_json[0]["scopes"] == ["repo", "workflow"]
    assert len(fake.seen) == 1, "the second run used the cache"
    refreshed = run("verify", gh, "--db", db, "--refresh")
    assert "(cached)" not in refreshed.stdout and len(fake.seen) == 2
    events = json.loads(run("inventory", "show", gh, "--format", "json", "--db", db).stdout)["events"]
    verifies = [json.loads(e["note"]) for e in events if e["action"] == "verify"]
    assert len(verifies) == 2 and verifies[0]["status"] == "live" and verifies[0]["verifier"] == "github"
    _no_plaintext(planted["secret"], first.output, refreshed.output, json.dumps(as_json), db=db)


def test_verify_all_reports_every_token(run: Callable[..., Result], planted: dict[str, str]) -> None:
    rows = json.loads(run("verify", "--all", "--db", planted["db"], "-f", "json").stdout)
    by_provider = {r["provider"]: r for r in rows}
    assert by_provider["github"]["status"] == "live"
    assert by_provider["generic"]["status"] == "unknown" and "no verifier" in by_provider["generic"]["reason"]
    assert by_provider["stripe"]["status"] == "unknown"  # the fake has no Stripe route: a 404 proves nothing


def test_verify_bad_input_one_line_errors(run: Callable[..., Result], planted: dict[str, str]) -> None:
    db = planted["db"]
    unknown = run("verify", "ffffffff", "--db", db)
    assert unknown.exit_code == 2 and unknown.stderr.count("\n") == 1 and "ffffffff" in unknown.stderr
    unsupported = run("verify", planted["generic"], "--db", db)
    assert unsupported.exit_code == 2 and "no verifier for generic" in unsupported.stderr
    Path(planted["tree"], "app.env").write_text("rotated\n")
    gone = run("verify", planted["github"], "--db", db)
    assert gone.exit_code == 3 and "no longer where it was recorded" in gone.stderr
    from_stdin = run("verify", planted["github"], "--db", db, "--stdin", stdin=planted["secret"] + "\n")
    assert from_stdin.exit_code == 0 and "live" in from_stdin.stdout, from_stdin.output
    events = json.loads(run("inventory", "show", planted["github"], "--format", "json", "--db", db).stdout)["events"]
    assert [e["action"] for e in events] == ["verify"], "failed runs wrote nothing"


def test_revoke_dry_run_then_revoke_then_seen_again(run: Callable[..., Result], planted: dict[str, str],
                                                    fake: Fake, tmp_path: Path) -> None:
    db, gh, secret = planted["db"], planted["github"], planted["secret"]
    dry = run("revoke", gh, "--dry-run", "--db", db)
    assert dry.exit_code == 0, dry.output
    assert f"POST {fake.url}/credentials/revoke" in dry.stdout and '"credentials":["<ghp_' in dry.stdout
    assert "owner" in dry.stdout and "app.env" in dry.stdout and not fake.seen
    refused = run("revoke", gh, "--db", db)  # no terminal to confirm on, no --yes
    assert refused.exit_code == 2 and "--yes" in refused.stderr and not fake.seen
    done = run("revoke", gh, "--yes", "--db", db)
    assert done.exit_code == 0 and "revoked" in done.stdout, done.output
    assert json.loads(fake.seen[0].body) == {"credentials": [secret]} and "authorization" not in fake.seen[0].headers
    detail = json.loads(run("inventory", "show", gh, "--format", "json", "--db", db).stdout)
    assert detail["token"]["status"] == "revoked" and detail["events"][-1]["action"] == "revoke"
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "copy.env").write_text(f"TOKEN={secret}\n")
    run("scan", str(tmp_path / "later"), "--db", db, "-q")
    events = json.loads(run("inventory", "show", gh, "--format", "json", "--db", db).stdout)["events"]
    assert events[-1]["action"] == "reopened" and events[-1]["note"].startswith("seen after revocation")
    _no_plaintext(secret, dry.output, done.output, json.dumps(events), db=db)


def test_revoke_without_api_prints_the_manual_steps(run: Callable[..., Result], planted: dict[str, str]) -> None:
    result = run("revoke", planted["stripe"], "--yes", "--db", planted["db"])
    assert result.exit_code == 3 and "no revocation API for stripe" in result.stderr and "Roll key" in result.stderr
    with sqlite3.connect(planted["db"]) as conn:
        assert conn.execute("select status from token where token_id = ?", (planted["stripe"],)).fetchone() == ("open",)


def test_scan_verify_is_opt_in_and_records_verdicts(run: Callable[..., Result], tmp_path: Path, fake: Fake) -> None:
    tokens = provider_tokens()
    tree = tmp_path / "scanned"
    tree.mkdir()
    (tree / "app.env").write_text(tokens["github.pat-classic"] + "\n")
    db = str(tmp_path / "verify.db")
    assert run("scan", str(tree), "--db", db, "-q").exit_code == 1 and fake.seen == []  # never without --verify
    result = run("scan", str(tree), "--db", db, "-q", "-f", "json", "--verify")
    assert result.exit_code == 1 and len(fake.seen) == 1
    assert "verify github" in result.stderr and ": live (" in result.stderr
    assert json.loads(result.stdout)["summary"]["findings"] == 1  # stdout is still the report
    assert run("scan", str(tree), "--no-db", "--verify").exit_code == 2
    _no_plaintext(_secret_of(tokens["github.pat-classic"]), result.output, db=db)
