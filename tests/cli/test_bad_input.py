"""Bad input never crashes a scan: each case is scanned or counted as a skip with a reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import env_for
from tests.tokens import TokenFactory
from tokenward.sources import filesystem
from tokenward.sources.filesystem import FilesystemSource, WalkOptions
from tokenward.sources.interface import Blob, SkippedItem


def scan_json(home: Path, *args: str) -> tuple[int, dict[str, object], str]:
    """Run the real CLI in a subprocess; return exit code, JSON document, stderr."""
    proc = subprocess.run([sys.executable, "-m", "tokenward", "scan", "-q", "-f", "json", *args],
                          capture_output=True, text=True, env=env_for(home), timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


@pytest.fixture
def token() -> str:
    return TokenFactory(21).github_classic()


def test_encodings_all_scanned(tmp_path: Path, isolated_home: Path, token: str) -> None:
    (tmp_path / "utf16.txt").write_bytes(f"key = {token}\n".encode("utf-16"))
    (tmp_path / "utf16le-nobom.txt").write_bytes(f"key = {token}\n".encode("utf-16-le"))
    (tmp_path / "latin1.txt").write_bytes(f"caf\xe9 = {token}\n".encode("latin-1"))
    (tmp_path / "badutf8.txt").write_bytes(b"\xc3\x28\xa0\xa1 broken " + token.encode() + b"\n")
    (tmp_path / "empty.txt").write_bytes(b"")
    code, doc, _ = scan_json(isolated_home, str(tmp_path))
    assert code == 1
    paths = sorted(f["source"]["path"] for f in doc["findings"])  # type: ignore[index]
    assert paths == ["badutf8.txt", "latin1.txt", "utf16.txt", "utf16le-nobom.txt"]


def test_binary_is_a_policy_skip(tmp_path: Path, isolated_home: Path, token: str) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02" + token.encode() + bytes(range(256)))
    code, doc, _ = scan_json(isolated_home, str(tmp_path))
    assert code == 0
    assert doc["skipped"] == [{"location": "blob.bin", "reason": "binary content", "severity": "policy"}]


def test_symlinks_broken_and_looping(tmp_path: Path, isolated_home: Path, token: str) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.env").write_text(f"T={token}\n")
    (tmp_path / "real" / "loop").symlink_to(tmp_path / "real")
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    code, doc, _ = scan_json(isolated_home, str(tmp_path))
    assert code == 1
    reasons = {s["location"]: s["reason"] for s in doc["skipped"]}  # type: ignore[union-attr]
    assert reasons["dangling"].startswith("symbolic link not followed")
    code, doc, _ = scan_json(isolated_home, "--follow-symlinks", str(tmp_path))
    reasons = {s["location"]: s["reason"] for s in doc["skipped"]}  # type: ignore[union-attr]
    assert reasons["dangling"] == "broken symbolic link"
    assert reasons["real/loop"].startswith("symbolic link loop")
    assert len(doc["findings"]) == 1  # type: ignore[arg-type]


def test_fifo_is_skipped_without_blocking(tmp_path: Path, isolated_home: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    code, doc, _ = scan_json(isolated_home, str(tmp_path))
    assert code == 0
    assert doc["skipped"][0]["reason"].startswith("not a regular file")  # type: ignore[index]


def test_oversize_file_is_a_policy_skip(tmp_path: Path, isolated_home: Path, token: str) -> None:
    (tmp_path / "big.txt").write_text("x" * 2000 + token)
    code, doc, _ = scan_json(isolated_home, "--max-file-size", "1000", str(tmp_path))
    assert code == 0
    assert doc["skipped"][0]["reason"].startswith("too large")  # type: ignore[index]


def test_fifty_megabyte_single_line_file(tmp_path: Path, isolated_home: Path, token: str) -> None:
    (tmp_path / "min.js").write_bytes(b"var a=1;" * (50 * 1024 * 1024 // 8) + token.encode())
    code, doc, _ = scan_json(isolated_home, "--max-file-size", str(60 * 1024 * 1024), str(tmp_path))
    assert code == 1 and doc["findings"][0]["location"]["line"] == 1  # type: ignore[index]


def test_unreadable_file_counts_as_error_and_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ok.txt").write_text("nothing here\n")
    (tmp_path / "locked.env").write_text("T=x\n")
    real_open = os.open

    def deny(path: object, *args: object, **kw: object) -> int:
        if str(path).endswith("locked.env"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(filesystem.os, "open", deny)
    items = list(FilesystemSource(tmp_path, WalkOptions()))
    skipped = [i for i in items if isinstance(i, SkippedItem)]
    assert [(s.location, s.severity) for s in skipped] == [("locked.env", "error")]
    assert sum(isinstance(i, Blob) for i in items) == 1


def test_missing_path_is_a_usage_error(tmp_path: Path, isolated_home: Path) -> None:
    code, _, stderr = scan_json(isolated_home, str(tmp_path / "does-not-exist"))
    assert code == 2 and "no such file or directory" in stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the CLI as an unprivileged user")
def test_exit_code_3_when_unreadable_and_no_findings() -> None:
    tmp_path = Path(tempfile.mkdtemp(prefix="tokenward-perm-"))  # pytest's tmp is 0700 root-only
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "ok.txt").write_text("nothing here\n")
    (tree / "locked.txt").write_text("nothing\n")
    (tree / "locked.txt").chmod(0)
    (tree / "sub").chmod(0)
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)
    for p in (tmp_path, tree):
        p.chmod(0o755)
    env = {**env_for(home), "PYTHONPATH": str(Path(filesystem.__file__).parents[2])}
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                           "-m", "tokenward", "scan", "-q", "-f", "json", str(tree)],
                          capture_output=True, text=True, env=env, timeout=120)
    (tree / "sub").chmod(0o755)
    shutil.rmtree(tmp_path)
    assert proc.returncode == 3, proc.stderr
    doc = json.loads(proc.stdout)
    assert {(s["location"], s["severity"]) for s in doc["skipped"]} == {("locked.txt", "error"), ("sub", "error")}
    assert doc["summary"]["errors"] == 2


def test_everything_excluded_says_why(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.env").write_text("x\n")
    (tmp_path / "sub" / "b.env").write_text("y\n")
    items = list(FilesystemSource(tmp_path, WalkOptions(exclude=("*",))))
    assert [type(i) for i in items] == [SkippedItem]
    (skip,) = items
    assert isinstance(skip, SkippedItem) and skip.severity == "policy"
    assert "every entry (2) matches an exclude pattern (*)" in skip.reason
    partly = list(FilesystemSource(tmp_path, WalkOptions(exclude=("sub",))))
    assert [type(i) for i in partly] == [Blob]  # something was read: the exclusion needs no explanation


def test_unreadable_root_is_an_unreadable_input_not_a_usage_error(
        tmp_path: Path, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from tokenward.cli.main import app
    from tokenward.sources import select

    locked, ok = tmp_path / "locked", tmp_path / "ok"
    locked.mkdir()
    ok.mkdir()
    (ok / "a.env").write_text(f"T={token}\n")
    real_open_repo = select.open_repo

    def deny(path: Path) -> object:  # what `git -C` + Path.exists do on a 0700 directory of another user
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path / ".git"))
        return real_open_repo(path)

    monkeypatch.setattr(select, "open_repo", deny)
    runner = CliRunner()
    result = runner.invoke(app, ["scan", "-q", "--no-db", "-f", "json", str(locked)])
    assert result.exit_code == 3, result.stderr
    doc = json.loads(result.stdout)
    assert doc["skipped"] == [{"location": str(locked), "reason": "cannot open: Permission denied",
                               "severity": "error"}]
    result = runner.invoke(app, ["scan", "-q", "--no-db", "-f", "json", str(locked), str(ok)])
    assert result.exit_code == 1 and len(json.loads(result.stdout)["findings"]) == 1
