"""Suppression: inline allow comments, baseline files and allow-listed paths."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenward.errors import ConfigError
from tokenward.findings import Finding
from tokenward.sources.filesystem import excluded

# Our own marker plus the ones users of other scanners already have in their code.
ALLOW_MARKERS: tuple[bytes, ...] = (
    b"tokenward:allow", b"gitleaks:allow", b"pragma: allowlist secret",
    b"kingfisher:ignore", b"trufflehog:ignore",
)
BASELINE_VERSION = 1


def line_at(data: bytes, start: int, end: int) -> bytes:
    """The full line(s) of data containing data[start:end]."""
    lo = data.rfind(b"\n", 0, start) + 1
    hi = data.find(b"\n", end)
    return data[lo: hi if hi != -1 else len(data)]


def inline_allowed(data: bytes, start: int, end: int) -> bool:
    """True when the line of the match carries an allow marker."""
    line = line_at(data, start, end).lower()
    return any(marker in line for marker in ALLOW_MARKERS)


def baseline_key(f: Finding) -> tuple[str, str, str]:
    """Baseline identity of a finding: token, rule and path — never the line number."""
    return (f.token_id, f.rule_id, f.origin.path)


@dataclass(frozen=True)
class Baseline:
    """A set of accepted findings; `scan --baseline` reports only findings not in it."""

    keys: frozenset[tuple[str, str, str]]

    def __contains__(self, finding: object) -> bool:
        return isinstance(finding, Finding) and baseline_key(finding) in self.keys


def baseline_document(findings: Iterable[Finding]) -> dict[str, object]:
    """The JSON document of a baseline built from findings (no plaintext: ids and paths only)."""
    keys = sorted({baseline_key(f) for f in findings})
    return {"tokenward_baseline": BASELINE_VERSION,
            "entries": [{"token_id": t, "rule_id": r, "path": p} for t, r, p in keys]}


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file; ConfigError with the reason when it is unreadable or malformed."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        entries = doc["entries"]
        keys = frozenset((e["token_id"], e["rule_id"], e["path"]) for e in entries)
    except OSError as exc:
        raise ConfigError(f"cannot read baseline {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a tokenward baseline file ({exc.__class__.__name__}: {exc})") from None
    return Baseline(keys)


def path_allowed(finding: Finding, allow_paths: tuple[str, ...]) -> bool:
    """True when the finding's path matches an allow-listed path glob."""
    return bool(allow_paths) and excluded(finding.origin.path, allow_paths)
