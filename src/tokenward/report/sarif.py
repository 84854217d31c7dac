"""SARIF 2.1.0 reporter: rule descriptors, results with token_id fingerprints, skipped inputs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from tokenward import __version__
from tokenward.findings import Finding
from tokenward.results import ScanResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"high": "error", "medium": "warning", "low": "note"}
INFO_URI = "https://github.com/tokenward/tokenward"


def _rule_descriptor(f: Finding) -> dict[str, Any]:
    return {
        "id": f.rule_id,
        "name": f.rule_id.replace(".", "/"),
        "shortDescription": {"text": f.rule_name},
        "fullDescription": {"text": f"{f.rule_name} ({f.provider}, {f.kind})"},
        "defaultConfiguration": {"level": LEVEL.get(f.confidence, "warning")},
        "properties": {"provider": f.provider, "kind": f.kind, "confidence": f.confidence,
                       "tags": ["security", "secret", f.provider]},
    }


def artifact_uri(path: str) -> str:
    """A path as an RFC 3986 relative reference: percent-encoded (a backslash is a file-name character on
    POSIX, so `%5C`, not `/`), with `/` as separator and no `:` that could read as a scheme."""
    return quote(path, safe="/!$&'()*+,;=@") or "-"


class _Roots:
    """One uriBaseId per scan root (ROOT0, ROOT1, …), declared in run.originalUriBaseIds."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def artifact(self, kind: str, root: str, path: str) -> dict[str, Any]:
        if kind == "stdin" or not root or root == "-" or not path:
            return {"uri": artifact_uri(path)}
        if os.path.isabs(path) and not path.startswith(root.rstrip("/") + "/"):
            return {"uri": Path(path).as_uri()}
        # a file named on the command line: its root is its directory and its path the argument as given
        # (an archive member extends it: a.zip!/inner)
        outer = os.path.dirname(path.split("!/", 1)[0])
        if kind == "file" and outer and os.path.normpath(outer) == os.path.normpath(root):
            path = path[len(outer):].lstrip("/")
        base = self.ids.setdefault(root, f"ROOT{len(self.ids)}")
        return {"uri": artifact_uri(path), "uriBaseId": base}

    def declared(self) -> dict[str, Any]:
        return {base: {"uri": Path(root).absolute().as_uri().rstrip("/") + "/",
                       "description": {"text": f"scan root {root}"}}
                for root, base in self.ids.items()}


def _location(f: Finding, roots: _Roots) -> dict[str, Any]:
    loc = f.location
    return {"physicalLocation": {
        "artifactLocation": roots.artifact(f.origin.kind, f.origin.root, f.origin.path),
        "region": {"startLine": loc.line, "startColumn": loc.column,
                   "endLine": loc.end_line, "endColumn": max(loc.end_column, 1)},
    }}


def _result(f: Finding, index: int, roots: _Roots) -> dict[str, Any]:
    props: dict[str, Any] = {"provider": f.provider, "kind": f.kind, "confidence": f.confidence,
                             "preview": f.preview, "sourceKind": f.origin.kind, "where": f.where}
    if f.expires_at:
        props["expiresAt"] = f.expires_at
    if f.attributes:
        props["attributes"] = dict(f.attributes)
    if f.origin.details:
        props["details"] = dict(f.origin.details)
    if f.origin.git and f.origin.git.first_commit:
        props["commit"] = f.origin.git.first_commit.commit
        props["inHead"] = f.origin.git.in_head
    if f.public_ids:
        props["publicIds"] = dict(f.public_ids)
    return {
        "ruleId": f.rule_id, "ruleIndex": index, "level": LEVEL.get(f.confidence, "warning"),
        "message": {"text": f"{f.rule_name} found: {f.preview} (token {f.token_id[:12]})"},
        "locations": [_location(f, roots)],
        "partialFingerprints": {"tokenId/v1": f.token_id},
        "properties": props,
    }


def _invocation(result: ScanResult) -> dict[str, Any]:
    notes = [{"level": "error" if s.severity == "error" else "note",
              "message": {"text": f"skipped {s.location}: {s.reason}"}} for s in result.skipped]
    return {"executionSuccessful": result.summary.errors == 0, "toolExecutionNotifications": notes}


def sarif_document(result: ScanResult) -> dict[str, Any]:
    """The SARIF log object for a scan result."""
    rules: dict[str, int] = {}
    descriptors: list[dict[str, Any]] = []
    results = []
    roots = _Roots()
    for f in result.findings:
        if f.rule_id not in rules:
            rules[f.rule_id] = len(descriptors)
            descriptors.append(_rule_descriptor(f))
        results.append(_result(f, rules[f.rule_id], roots))
    driver = {"name": "tokenward", "version": __version__, "semanticVersion": __version__,
              "informationUri": INFO_URI, "rules": descriptors}
    run: dict[str, Any] = {"tool": {"driver": driver}}
    if roots.ids:
        run["originalUriBaseIds"] = roots.declared()
    run.update({"results": results, "invocations": [_invocation(result)]})
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(result: ScanResult, out: TextIO) -> None:
    """Write SARIF 2.1.0 JSON (never includes plaintext secrets)."""
    json.dump(sarif_document(result), out, indent=2)
    out.write("\n")
