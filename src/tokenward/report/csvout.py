"""CSV reporter: one row per finding; and the one CSV writer every CSV output uses."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from typing import TextIO

from tokenward.results import ScanResult

COLUMNS = ("rule_id", "provider", "kind", "confidence", "token_id", "preview", "public_id", "environment",
           "expires_at", "where", "source_kind", "path", "line", "column", "commit", "author", "date", "in_head")
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: object) -> str:
    """A cell value that a spreadsheet shows as text: a leading formula character is quoted with `'`."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text.startswith(FORMULA_LEADS) else text


class SafeCsvWriter:
    """csv.writer with every cell passed through safe_cell (no formula injection from file names or authors)."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row."""
        self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write many rows."""
        for row in rows:
            self.writerow(row)


def render_csv(result: ScanResult, out: TextIO) -> None:
    """Write a header and one row per finding; a `secret` column only with --show-secrets."""
    writer = SafeCsvWriter(out)
    with_secret = any(f.secret is not None for f in result.findings)
    writer.writerow(COLUMNS + (("secret",) if with_secret else ()))
    for f in result.findings:
        git = f.origin.git
        first = git.first_commit if git else None
        writer.writerow([
            f.rule_id, f.provider, f.kind, f.confidence, f.token_id, f.preview, f.public_id or "",
            f.environment or "", f.expires_at or "", f.where, f.origin.kind, f.origin.path,
            f.location.line, f.location.column,
            first.commit if first else "", first.author if first else "", first.date if first else "",
            "" if git is None else str(git.in_head).lower(),
            *((f.secret or "",) if with_secret else ()),
        ])
