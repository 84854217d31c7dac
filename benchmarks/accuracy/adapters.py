"""Run each scanner on the corpus and normalise its report to (file, line, rule, reported text).

Every adapter runs the tool with its defaults plus only what is needed to get a machine-readable
report of every occurrence offline (no validation, no update checks, no git history).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT = 3600


@dataclass(frozen=True)
class Finding:
    """One reported occurrence, normalised. `text` is what the tool says the secret is (if it says)."""

    file: str
    line: int
    rule: str
    text: str | None
    confidence: str | None = None  # the tool's own confidence label, where it has one


@dataclass(frozen=True)
class ToolRun:
    """A tool's findings on the corpus plus its wall time and any failure."""

    tool: str
    findings: tuple[Finding, ...]
    seconds: float
    error: str | None = None


def _rel(path: str, corpus: Path) -> str:
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(corpus.resolve()).as_posix()
        except ValueError:
            return p.as_posix()
    s = p.as_posix()
    return s[2:] if s.startswith("./") else s


def _run(
    cmd: list[str], cwd: Path | None = None, ok: tuple[int, ...] = (0, 1), extra_env: dict[str, str] | None = None
) -> tuple[str, float, str | None]:
    start = time.monotonic()
    env = {**os.environ, "NO_COLOR": "1", **(extra_env or {})}
    try:
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return "", time.monotonic() - start, f"timed out after {TIMEOUT}s"
    seconds = time.monotonic() - start
    if res.returncode not in ok or (not res.stdout.strip() and res.stderr.strip().startswith("Traceback")):
        tail = (res.stderr or res.stdout).strip().splitlines()[-5:]
        return res.stdout, seconds, f"exit {res.returncode}: {' | '.join(tail)}"
    return res.stdout, seconds, None


def run_tokenward(binary: Path, corpus: Path) -> ToolRun:
    """tokenward scan DIR -f json --show-secrets -q (plaintext stays in this process's memory)."""
    # tokenward records every scan in its inventory by default: use a throwaway one.
    inventory = corpus.parent / "tokenward-inventory.sqlite"
    inventory.unlink(missing_ok=True)
    out, secs, err = _run(
        [str(binary), "scan", str(corpus), "-f", "json", "--show-secrets", "-q"],
        ok=(0, 1, 3),
        extra_env={"TOKENWARD_DB": str(inventory)},
        # cwd outside the work tree: tokenward reads ./.tokenward.yaml, and the repository's own one
        # (excludes, allow-listed paths) must not apply to the benchmark corpus.
        cwd=corpus.parent,
    )
    if err:
        return ToolRun("tokenward", (), secs, err)
    try:
        doc = json.loads(out)
    except ValueError:
        return ToolRun("tokenward", (), secs, f"no JSON report on stdout: {out[:200]!r}")
    found = tuple(
        Finding(
            _rel(f["source"]["path"], corpus),
            int(f["location"]["line"]),
            f["rule_id"],
            f.get("secret"),
            f.get("confidence"),
        )
        for f in doc["findings"]
    )
    return ToolRun("tokenward", found, secs)


def run_gitleaks(binary: Path, corpus: Path) -> ToolRun:
    """gitleaks dir DIR -f json (defaults otherwise: built-in rules, decoding depth 5)."""
    with tempfile.TemporaryDirectory(dir=corpus.parent) as tmp:
        report = Path(tmp) / "gitleaks.json"
        _, secs, err = _run(
            [
                str(binary),
                "dir",
                str(corpus),
                "-f",
                "json",
                "-r",
                str(report),
                "--no-banner",
                "--exit-code",
                "0",
                "-l",
                "error",
            ]
        )
        if err:
            return ToolRun("gitleaks", (), secs, err)
        data: list[dict[str, Any]] = json.loads(report.read_text() or "[]")
    found = tuple(
        Finding(_rel(f["File"], corpus), int(f["StartLine"]), f["RuleID"], f.get("Secret") or f.get("Match"))
        for f in data
    )
    return ToolRun("gitleaks", found, secs)


def run_kingfisher(binary: Path, corpus: Path) -> ToolRun:
    """kingfisher scan DIR --git-history none --no-validate --no-update-check --no-dedup -f json."""
    with tempfile.TemporaryDirectory(dir=corpus.parent) as tmp:
        report = Path(tmp) / "kingfisher.json"
        _, secs, err = _run(
            [
                str(binary),
                "scan",
                str(corpus),
                "--git-history",
                "none",
                "--no-validate",
                "--no-update-check",
                "--no-dedup",
                "-f",
                "json",
                "-o",
                str(report),
            ],
            ok=(0, 200, 205),
        )
        if err:
            return ToolRun("kingfisher", (), secs, err)
        data = json.loads(report.read_text() or "{}")
    found = []
    for item in data.get("findings", []):
        f, rule = item["finding"], item["rule"]
        found.append(
            Finding(_rel(f["path"], corpus), int(f["line"]), rule.get("id") or rule.get("name"), f.get("snippet"))
        )
    return ToolRun("kingfisher", tuple(found), secs)


def run_detect_secrets(binary: Path, corpus: Path) -> ToolRun:
    """detect-secrets scan --all-files . (reports only a SHA-1 of each secret, so matching is by line)."""
    out, secs, err = _run([str(binary), "scan", "--all-files", "."], cwd=corpus, ok=(0,))
    if err:
        return ToolRun("detect-secrets", (), secs, err)
    results = json.loads(out)["results"]
    found = tuple(
        Finding(_rel(path, corpus), int(r["line_number"]), r["type"], None)
        for path, items in results.items()
        for r in items
    )
    return ToolRun("detect-secrets", found, secs)


def run_credsweeper(binary: Path, corpus: Path) -> ToolRun:
    """credsweeper --path DIR --save-json (default ML filter on)."""
    with tempfile.TemporaryDirectory(dir=corpus.parent) as tmp:
        report = Path(tmp) / "credsweeper.json"
        _, secs, err = _run([str(binary), "--path", str(corpus), "--save-json", str(report), "--log", "error"], ok=(0,))
        if err:
            return ToolRun("credsweeper", (), secs, err)
        data = json.loads(report.read_text() or "[]")
    found = []
    for item in data:
        # A multi-line credential (PEM) is one item with a LineData per line: report it once.
        lds = item["line_data_list"]
        by_path: dict[str, list[dict[str, Any]]] = {}
        for ld in lds:
            by_path.setdefault(ld["path"], []).append(ld)
        for path, group in by_path.items():
            text = "\n".join(ld.get("value") or "" for ld in group)
            found.append(Finding(_rel(path, corpus), int(group[0]["line_num"]), item["rule"], text))
    found = tuple(found)
    return ToolRun("credsweeper", found, secs)


ADAPTERS: dict[str, Callable[[Path, Path], ToolRun]] = {
    "tokenward": run_tokenward,
    "gitleaks": run_gitleaks,
    "kingfisher": run_kingfisher,
    "detect-secrets": run_detect_secrets,
    "credsweeper": run_credsweeper,
}
