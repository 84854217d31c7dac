"""SARIF 2.1.0 review renderer: one rule per policy check, one result per violation."""

from __future__ import annotations

import json
from typing import Any, TextIO

from tokenward import __version__
from tokenward.policy.checks import CHECKS
from tokenward.policy.model import Review, Violation
from tokenward.report.sarif import INFO_URI, SARIF_SCHEMA, artifact_uri

LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "none"}
SCORE = {"critical": "9.5", "high": "8.0", "medium": "5.0", "low": "2.0", "info": "0.0"}


def _rule(check: str) -> dict[str, Any]:
    doc = (CHECKS[check].__doc__ or check).strip() if check in CHECKS else check
    return {"id": f"policy/{check}", "name": check.replace("-", " ").title().replace(" ", ""),
            "shortDescription": {"text": doc}, "properties": {"tags": ["security", "secret", "policy"]}}


def _location(v: Violation) -> dict[str, Any]:
    if v.path:
        return {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(v.path)},
                                     "region": {"startLine": max(v.line or 1, 1)}}}
    return {"logicalLocations": [{"name": v.token_label, "fullyQualifiedName": f"token/{v.token_key}",
                                  "kind": "resource"}]}


def _result(v: Violation, index: int) -> dict[str, Any]:
    text = f"{v.title}. " + "; ".join(v.evidence) + f". Fix: {v.remediation}"
    return {"ruleId": f"policy/{v.check}", "ruleIndex": index, "level": LEVEL.get(v.severity, "warning"),
            "message": {"text": text}, "locations": [_location(v)],
            "partialFingerprints": {"tokenKey/v1": v.token_key, "check/v1": v.check},
            "properties": {"severity": v.severity, "security-severity": SCORE.get(v.severity, "5.0"),
                           "provider": v.provider, "owner": v.owner, "remediation": v.remediation}}


def review_sarif_document(review: Review) -> dict[str, Any]:
    """The SARIF log for a review."""
    index: dict[str, int] = {}
    for v in review.violations:
        index.setdefault(v.check, len(index))
    driver = {"name": "tokenward", "version": __version__, "semanticVersion": __version__,
              "informationUri": INFO_URI, "rules": [_rule(c) for c in index]}
    results = [_result(v, index[v.check]) for v in review.violations]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "results": results,
                      "invocations": [{"executionSuccessful": True}]}]}


def render_review_sarif(review: Review, out: TextIO) -> None:
    """Write the review as SARIF 2.1.0 JSON."""
    json.dump(review_sarif_document(review), out, indent=2)
    out.write("\n")
