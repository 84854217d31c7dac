"""`tokenward scan --db`, `inventory list|show|export`, `triage` end to end, on both backends."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tokenward.cli.main import app

pytest_plugins = ["tests.conftest_pg"]
Planter = Callable[..., list[str]]
KEY_HEX = "11" * 32


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Invoke the CLI in-process with a fixed fingerprint key."""
    monkeypatch.setenv("TOKENWARD_KEY", KEY_HEX)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))
    return invoke


def test_scan_list_show_triage_export(run: Callable[..., Result], plant: Planter, db_url: str,
                                      tmp_path: Path) -> None:
    secrets = plant(tmp_path / "tree", 3, 4, seed=31)
    scanned = run("scan", str(tmp_path / "tree"), "--db", db_url, "-f", "json", "-o", str(tmp_path / "r.json"))
    assert scanned.exit_code == 1, scanned.output
    assert "12 tokens (12 new)" in scanned.output

    listed = run("inventory", "list", "--db", db_url)
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.stdout.splitlines() if line.strip()]
    assert lines[0].split()[:3] == ["TOKEN", "SEVERITY", "STATUS"] and len(lines) == 1 + len(secrets)
    token = lines[1].split()[0]

    shown = run("inventory", "show", token[:8], "--db", db_url)
    assert shown.exit_code == 0, shown.output
    assert "settings000" in shown.stdout and "Audit trail" in shown.stdout and str(tmp_path / "tree") in shown.stdout

    triaged = run("triage", token[:10], "--status", "revoked", "--note", "rotated in vault", "--actor", "alice",
                  "--db", db_url)
    assert triaged.exit_code == 0, triaged.output
    assert "open -> revoked" in triaged.stdout
    detail = json.loads(run("inventory", "show", token, "--format", "json", "--db", db_url).stdout)
    assert detail["token"]["status"] == "revoked"
    assert [(e["actor"], e["note"]) for e in detail["events"]] == [("alice", "rotated in vault")]

    revoked = run("inventory", "list", "--status", "revoked", "--db", db_url).stdout.splitlines()
    assert len(revoked) == 2 and revoked[1].startswith(token)
    assert len(run("inventory", "list", "--source", "repo", "--db", db_url).stdout.splitlines()) == 1

    as_csv = run("inventory", "export", "--format", "csv", "--db", db_url)
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(table) == len(secrets) and {r["source_kind"] for r in table} == {"file"}
    out = tmp_path / "inventory.json"
    assert run("inventory", "export", "-o", str(out), "--db", db_url).exit_code == 0
    exported = json.loads(out.read_text())
    assert len(exported["tokens"]) == len(secrets)
    assert all(t["occurrence_count"] == len(t["occurrences"]) == 1 for t in exported["tokens"])
    for secret in secrets:
        assert secret not in as_csv.stdout and secret not in out.read_text()


def test_usage_errors_exit_2(run: Callable[..., Result], db_url: str) -> None:
    assert run("db", "upgrade", "--db", db_url).exit_code == 0  # an empty inventory (a missing one is refused)
    assert run("triage", "abcd", "--status", "gone", "--db", db_url).exit_code == 2
    missing = run("inventory", "show", "abcdef", "--db", db_url)
    assert missing.exit_code == 2 and "no token id starts with abcdef" in missing.output
    assert run("inventory", "list", "--source", "email", "--db", db_url).exit_code == 2
    assert run("inventory", "export", "--format", "xml", "--db", db_url).exit_code == 2


def test_default_location_env_override_and_no_db(run: Callable[..., Result], plant: Planter, tmp_path: Path,
                                                  isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plant(tmp_path / "tree", 1, 2, seed=32)
    default = isolated_home / "data" / "tokenward" / "inventory.db"
    assert run("scan", str(tmp_path / "tree"), "-q", "--no-db").exit_code == 1
    assert not default.exists()
    assert run("scan", str(tmp_path / "tree"), "-q").exit_code == 1
    assert default.is_file()
    assert len(run("inventory", "list").stdout.splitlines()) == 3
    monkeypatch.setenv("TOKENWARD_DB", str(tmp_path / "env.db"))
    assert run("scan", str(tmp_path / "tree"), "-q").exit_code == 1
    assert (tmp_path / "env.db").is_file()
    assert len(run("inventory", "list").stdout.splitlines()) == 3


def test_scan_with_another_key_is_refused(run: Callable[..., Result], plant: Planter, db_url: str,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plant(tmp_path / "tree", 1, 1, seed=33)
    assert run("scan", str(tmp_path / "tree"), "-q", "--db", db_url).exit_code == 1
    monkeypatch.setenv("TOKENWARD_KEY", "22" * 32)
    refused = run("scan", str(tmp_path / "tree"), "-q", "--db", db_url)
    assert refused.exit_code == 2
    assert "different fingerprint key" in refused.output


def test_read_commands_never_create_a_database(run: Callable[..., Result], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nonexistent" / "dir" / "x.db"
    for args in (("inventory", "list"), ("inventory", "show", "abcd"), ("inventory", "export"),
                 ("triage", "abcd", "--status", "revoked"), ("review",), ("usage", "abcd"),
                 ("scopes", "suggest", "abcd")):
        for db in (f"sqlite:///{missing}", str(missing)):
            result = run(*args, "--db", db)
            assert result.exit_code == 2, (args, result.output)
            assert "no inventory at" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "nonexistent").exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    assert "it is empty" in run("inventory", "list", "--db", str(empty)).output
    for db, says in (("sqlite:", "not a database URL"), ("postgresql:", "not a database URL"),
                     ("postgresql+psycopg2://u@127.0.0.1:1/x", "psycopg 3"), ("sqlite+aiosqlite:///x.db", "driver")):
        result = run("inventory", "list", "--db", db)
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (db, result.output)
        assert says in result.output and len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]
