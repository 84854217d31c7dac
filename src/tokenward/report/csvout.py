"""CSV reporter: one row per finding."""

from __future__ import annotations

import csv
from typing import TextIO

from tokenward.scanner import ScanResult

COLUMNS = ("rule_id", "provider", "kind", "confidence", "token_id", "preview", "public_id", "environment",
           "expires_at", "where", "source_kind", "path", "line", "column", "commit", "author", "date", "in_head")


def render_csv(result: ScanResult, out: TextIO) -> None:
    """Write a header and one row per finding; a `secret` column only with --show-secrets."""
    writer = csv.writer(out, lineterminator="\n")
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
