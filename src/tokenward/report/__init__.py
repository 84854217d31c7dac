"""Reporters: the explicit registry of output formats."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from tokenward.report.csvout import render_csv
from tokenward.report.interface import Reporter
from tokenward.report.jsonout import render_json, render_jsonl
from tokenward.report.sarif import render_sarif

if TYPE_CHECKING:
    from tokenward.results import ScanResult


def render_text(result: ScanResult, out: TextIO) -> None:
    """The terminal report (report.text), imported when asked for: it brings rich, which the other formats do
    not need (a quiet JSON or SARIF scan, as CI runs one, starts sooner)."""
    from tokenward.report.text import render_text as render

    render(result, out)

REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
    "jsonl": render_jsonl,
    "csv": render_csv,
    "sarif": render_sarif,
}
