"""Plain dict records of findings and skips shared by the JSON, JSONL and CSV reporters."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tokenward.findings import Finding
from tokenward.results import ScanResult
from tokenward.sources.interface import Origin, SkippedItem

SCHEMA_VERSION = 1


def origin_record(origin: Origin) -> dict[str, Any]:
    """The source part of a finding record."""
    rec: dict[str, Any] = {"kind": origin.kind, "root": origin.root, "path": origin.path}
    if origin.blob_id:
        rec["blob_id"] = origin.blob_id
    if origin.details:
        rec["details"] = dict(origin.details)
    if origin.git:
        rec["git"] = asdict(origin.git)
    return rec


def finding_record(f: Finding) -> dict[str, Any]:
    """One finding as a JSON-ready dict; `secret` appears only when the finding carries it."""
    rec: dict[str, Any] = {
        "rule_id": f.rule_id, "rule_name": f.rule_name, "provider": f.provider, "kind": f.kind,
        "confidence": f.confidence, "token_id": f.token_id, "preview": f.preview,
        "public_ids": dict(f.public_ids), "environment": f.environment, "privilege": f.privilege,
        "expires_at": f.expires_at, "where": f.where, "attributes": dict(f.attributes),
        "source": origin_record(f.origin),
        "location": {"line": f.location.line, "column": f.location.column,
                     "end_line": f.location.end_line, "end_column": f.location.end_column},
    }
    if f.secret is not None:
        rec["secret"] = f.secret
    return rec


def skipped_record(s: SkippedItem) -> dict[str, str]:
    """One skipped input as a dict."""
    return {"location": s.location, "reason": s.reason, "severity": s.severity}


def document(result: ScanResult) -> dict[str, Any]:
    """The whole JSON report document."""
    return {
        "tokenward": {"schema_version": SCHEMA_VERSION, "tool_version": result.summary.tool_version},
        "summary": asdict(result.summary),
        "findings": [finding_record(f) for f in result.findings],
        "skipped": [skipped_record(s) for s in result.skipped],
    }
