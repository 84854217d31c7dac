"""Suppression: one Suppressor (inline markers, confidence floor, allow-listed paths, baselines) and
versioned baseline files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokenward.errors import ConfigError
from tokenward.suppress import BASELINE_VERSION, Suppressor, load_baseline


def test_baselines_are_versioned_and_upgraded(tmp_path: Path) -> None:
    entry = {"token_id": "tw1_abc", "rule_id": "github.pat-classic", "path": "a.env"}
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps({"entries": [entry]}))
    assert load_baseline(legacy).keys == frozenset({("tw1_abc", "github.pat-classic", "a.env")})
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"tokenward_baseline": BASELINE_VERSION + 1, "entries": [entry]}))
    with pytest.raises(ConfigError, match="newer than this tokenward"):
        load_baseline(newer)


def test_inline_markers_of_every_scanner_are_honoured() -> None:
    s = Suppressor()
    for marker in ("tokenward:allow", "gitleaks:allow", "pragma: allowlist secret", "kingfisher:ignore"):
        data = f"key = 'value'  # {marker}\nother = 1\n".encode()
        assert s.inline(data, 7, 12) == "inline comment"
    assert s.inline(b"key = 'value'\n# tokenward:allow\n", 7, 12) is None
