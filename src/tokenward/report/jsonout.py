"""JSON (one document) and JSON Lines (one finding per line) reporters."""

from __future__ import annotations

import json
from typing import TextIO

from tokenward.report.records import document, finding_record
from tokenward.results import ScanResult


def render_json(result: ScanResult, out: TextIO) -> None:
    """The versioned JSON document: tool, summary, findings, skipped inputs."""
    json.dump(document(result), out, indent=2, sort_keys=False)
    out.write("\n")


def render_jsonl(result: ScanResult, out: TextIO) -> None:
    """One JSON object per finding, one per line."""
    for f in result.findings:
        out.write(json.dumps(finding_record(f), separators=(",", ":")) + "\n")
