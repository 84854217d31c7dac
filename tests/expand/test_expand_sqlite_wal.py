"""A SQLite database left in WAL mode (as most applications leave theirs) is read, not called corrupt."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.tokens import TokenFactory
from tokenward.engine import Matcher
from tokenward.identity import Fingerprinter
from tokenward.scanner import Scanner
from tokenward.sources.filesystem import FilesystemSource


def test_wal_mode_database_cells_are_scanned(tmp_path: Path, matcher: Matcher) -> None:
    token = TokenFactory(77).github_classic()
    db = sqlite3.connect(tmp_path / "app.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE settings (name TEXT, value TEXT)")
    db.execute("INSERT INTO settings VALUES ('github', ?)", (token,))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    assert (tmp_path / "app.db").read_bytes()[18:20] == b"\x02\x02"
    result = Scanner(matcher, Fingerprinter(b"k" * 32), jobs=1).run([FilesystemSource(tmp_path)])
    assert [s.reason for s in result.skipped if s.severity == "error"] == []
    assert [f.rule_id for f in result.findings] == ["github.pat-classic"]
    assert dict(result.findings[0].origin.details)["table"] == "settings"
