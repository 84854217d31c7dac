"""A scan-org worker process runs many targets: a scan that fails mid-way must not leave its `git cat-file`
processes running in that worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tokenward.org import tasks
from tokenward.org.state import RunOptions
from tokenward.sources import gitobjects
from tokenward.sources.git import GitSource


def _mine() -> list[gitobjects.BlobReader]:
    return [r for (pid, _), r in gitobjects._READERS.items() if pid == os.getpid()]


def test_a_failed_scan_stops_its_cat_file_readers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.org.repos import make_repo

    monkeypatch.setenv("TOKENWARD_KEY", "3c" * 32)
    make_repo(tmp_path / "t.git", seed=7)
    scanner = tasks.scanner_for(RunOptions("x"))
    spec = tasks.TaskSpec("run", "tid", str(tmp_path / "t.git"), f"sqlite:///{tmp_path / 'inv.db'}",
                          RunOptions(tasks.cache_key(scanner)))
    seen: list[int] = []

    def fail_after_reading(self: GitSource, findings: list[object]) -> list[object]:
        seen.append(len(_mine()))  # the scan read blobs in this process: a reader is running
        raise RuntimeError("disk full")

    monkeypatch.setattr(GitSource, "annotate", fail_after_reading)
    with pytest.raises(RuntimeError, match="disk full"):
        tasks.scan_mirror(spec, scanner, tmp_path / "t.git")
    assert seen == [1]
    assert _mine() == []
