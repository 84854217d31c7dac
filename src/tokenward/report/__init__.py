"""Reporters: the explicit registry of output formats."""

from __future__ import annotations

from tokenward.report.csvout import render_csv
from tokenward.report.interface import Reporter
from tokenward.report.jsonout import render_json, render_jsonl
from tokenward.report.sarif import render_sarif
from tokenward.report.text import render_text

REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
    "jsonl": render_jsonl,
    "csv": render_csv,
    "sarif": render_sarif,
}
