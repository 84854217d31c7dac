"""The project contains no secret: scanning the repository reports nothing outside its allow-list."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, env_for


def test_scanning_this_repository_reports_nothing(isolated_home: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tokenward", "scan", "-q", "--no-db", "--no-history", "-f", "json", str(REPO)],
        capture_output=True, text=True, env=env_for(isolated_home), timeout=600)
    doc = json.loads(proc.stdout)
    found = [(f["rule_id"], f["source"]["path"], f["location"]["line"]) for f in doc["findings"]]
    assert found == [], found
    assert doc["summary"]["errors"] == 0, [s for s in doc["skipped"] if s["severity"] == "error"]
    assert proc.returncode == 0
    # The allow-list is doing real work: the rule examples are found and suppressed, not missed.
    assert doc["summary"]["suppressed"]["allow-listed path"] > 400
