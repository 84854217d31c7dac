"""Suppression, in one place: inline allow comments, the confidence floor, allow-listed paths and
baselines. The scan pipeline asks one Suppressor; nothing else decides what is not reported."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenward.errors import ConfigError
from tokenward.findings import Finding
from tokenward.rules.spec import confidence_rank
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
    """Read a baseline file of this or an older format version (upgraded in memory); ConfigError
    with the reason when it is unreadable, malformed or written by a newer tokenward."""
    try:
        doc = upgrade_baseline(json.loads(path.read_text(encoding="utf-8")))
        keys = frozenset((e["token_id"], e["rule_id"], e["path"]) for e in doc["entries"])
    except OSError as exc:
        raise ConfigError(f"cannot read baseline {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a tokenward baseline file ({exc.__class__.__name__}: {exc})") from None
    return Baseline(keys)


def upgrade_baseline(doc: dict[str, Any]) -> dict[str, Any]:
    """The document brought to BASELINE_VERSION, one version step at a time; ValueError when it is
    newer than this tokenward (its entries could mean something else)."""
    version = doc.get("tokenward_baseline", 0) if isinstance(doc, dict) else None
    if not isinstance(version, int) or version < 0:
        raise ValueError("no tokenward_baseline version")
    if version > BASELINE_VERSION:
        raise ValueError(f"format version {version} is newer than this tokenward's ({BASELINE_VERSION}): upgrade "
                         "tokenward")
    while version < BASELINE_VERSION:
        doc = _UPGRADES[version](doc)
        version += 1
    return doc


def _from_unversioned(doc: dict[str, Any]) -> dict[str, Any]:
    # Version 0: the first development builds wrote the same entries without a version field.
    return {"tokenward_baseline": 1, "entries": list(doc["entries"])}


_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _from_unversioned}


def path_allowed(finding: Finding, allow_paths: tuple[str, ...]) -> bool:
    """True when the finding's path matches an allow-listed path glob."""
    return bool(allow_paths) and excluded(finding.origin.path, allow_paths)


@dataclass(frozen=True)
class Suppressor:
    """Decides, with a reason, which matches and findings are not reported."""

    min_confidence: str = "low"
    allow_paths: tuple[str, ...] = ()
    baseline: Baseline | None = None

    def inline(self, data: bytes, start: int, end: int) -> str | None:
        """'inline comment' when the match's line carries an allow marker (checked in the worker,
        where the blob's bytes are), else None."""
        return "inline comment" if inline_allowed(data, start, end) else None

    def reason(self, finding: Finding) -> str | None:
        """Why a finding is not reported (confidence floor, allow-listed path, baseline), or None."""
        if confidence_rank(finding.confidence) < confidence_rank(self.min_confidence):
            return f"below --min-confidence {self.min_confidence}"
        if path_allowed(finding, self.allow_paths):
            return "allow-listed path"
        if self.baseline is not None and finding in self.baseline:
            return "baseline"
        return None
