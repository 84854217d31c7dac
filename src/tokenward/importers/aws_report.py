"""AWS IAM credential report (CSV): access keys per user — active, last rotated, last used (date, service).

The report carries no key ids; `--access-keys FILE` (the JSON of `aws iam list-access-keys`, one or several
users' AccessKeyMetadata) adds them, matched on user and creation time, so keys join leaked ones.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from tokenward.errors import ImporterError
from tokenward.importers.interface import DeclaredToken, ImportContext, ImportRequest, ImportResult, parse_time

REQUIRED = ("user", "arn", "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date")
ROOT_USER = "<root_account>"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImporterError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def key_ids(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(user, created minute) → (access key id, status) from list-access-keys JSON."""
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ImporterError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    pages = data if isinstance(data, list) else [data]
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for page in pages:
        for meta in (page.get("AccessKeyMetadata") or []) if isinstance(page, dict) else []:
            created = parse_time(meta.get("CreateDate"))
            if created and meta.get("AccessKeyId"):
                out[(str(meta.get("UserName")), _minute(created))] = (str(meta["AccessKeyId"]), str(meta.get("Status")))
    return out


def _minute(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def _active(value: str) -> bool | None:
    low = value.strip().lower()
    return True if low == "true" else False if low == "false" else None


def _key_record(row: dict[str, Any], slot: int, line: int,
                ids: dict[tuple[str, str], tuple[str, str]]) -> DeclaredToken | None:
    p = f"access_key_{slot}_"
    rotated = parse_time(row.get(p + "last_rotated"))
    active = _active(row.get(p + "active") or "")
    if rotated is None and not active:
        return None
    user = row["user"]
    key = ids.get((user, _minute(rotated))) if rotated else None
    root = user == ROOT_USER
    service = row.get(p + "last_used_service") or ""
    region = row.get(p + "last_used_region") or ""
    return DeclaredToken(
        origin="aws", external_id=f"aws:{user}#{slot}", provider="aws",
        kind="root-access-key" if root else "access-key-id", public_ids=(("id", key[0]),) if key else (),
        name=f"{user} key {slot}", owner=None if root else user, privilege="admin" if root else None,
        scopes=("root-account",) if root else (), created_at=rotated, active=active,
        last_used_at=parse_time(row.get(p + "last_used_date")),
        last_used_detail=" ".join(v for v in (service, region) if v not in ("", "N/A")) or None,
        preview=f"{key[0][:4]}…{key[0][-4:]}" if key else None, line=line,
        details=(("arn", row.get("arn") or ""), ("user_created", row.get("user_creation_time") or ""),
                 ("mfa_active", row.get("mfa_active") or "")))


def import_aws_report(request: ImportRequest, ctx: ImportContext) -> ImportResult:
    """One record per access key slot that has (or had) a key."""
    path = Path(request.source)
    reader = csv.DictReader(io.StringIO(_read_text(path)))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise ImporterError(f"{path}:1: not an IAM credential report (missing columns: {', '.join(missing)})")
    ids = key_ids(Path(request.options["access_keys"])) if request.options.get("access_keys") else {}
    records: list[DeclaredToken] = []
    notes: list[str] = []
    for row in reader:
        line = reader.line_num
        if not row.get("user"):
            notes.append(f"{path}:{line}: row without a user skipped")
            continue
        records.extend(r for slot in (1, 2) if (r := _key_record(row, slot, line, ids)) is not None)
    return ImportResult("aws", str(path.absolute()), tuple(records), tuple(notes))
