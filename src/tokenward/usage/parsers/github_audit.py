"""GitHub audit log: the JSON (array) or JSON lines export, and the audit log stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenward.usage.events import GITHUB_HASHED, GITHUB_TOKEN_NUMBER, ParseContext, UsageEvent, any_seconds
from tokenward.usage.parsers.interface import as_text, json_records

TIME_FIELDS = ("@timestamp", "created_at", "timestamp")


def _identity(rec: dict[str, Any]) -> tuple[str, str] | None:
    hashed = as_text(rec.get("hashed_token"))
    if hashed:
        return GITHUB_HASHED, hashed
    number = as_text(rec.get("token_id"))
    return (GITHUB_TOKEN_NUMBER, number) if number else None


def _action(rec: dict[str, Any]) -> str:
    method, route = as_text(rec.get("request_method")), as_text(rec.get("route") or rec.get("url_path"))
    if method and route:
        return f"{method.upper()} {route}"
    return str(rec.get("action") or "?")


def _status(rec: dict[str, Any]) -> int:
    code = rec.get("status_code", rec.get("status"))
    return code if isinstance(code, int) and 100 <= code < 600 else 200


def _event(rec: Any, line: int, ctx: ParseContext) -> UsageEvent | None:
    if not isinstance(rec, dict) or "action" not in rec:
        ctx.bad(line, "not a GitHub audit record (no action)")
        return None
    ident = _identity(rec)
    if ident is None:
        ctx.unattributed += 1
        return None
    stamp = next((rec[f] for f in TIME_FIELDS if rec.get(f) is not None), None)
    try:
        at = any_seconds(stamp)
    except (ValueError, TypeError, OverflowError):
        ctx.bad(line, "no readable @timestamp/created_at")
        return None
    return UsageEvent(at, ident[0], ident[1], "github", as_text(rec.get("actor_ip")), as_text(rec.get("user_agent")),
                      _action(rec), _status(rec), line, as_text(rec.get("_document_id")),
                      scopes=as_text(rec.get("token_scopes")))


class GitHubAuditParser:
    """GitHub audit events: identity = hashed_token (else GitHub's token_id); actor_ip may be absent."""

    name = "github-audit"
    newlines = True  # each line is JSON: its newline is whitespace (see logfiles.batches)

    def sniff(self, line: bytes) -> bool:
        """A record (or array of records) with an action and a GitHub timestamp or token field."""
        head = line[:4096]
        return b'"action"' in head and any(k in head for k in (b'"@timestamp"', b'"hashed_token"',
                                                               b'"_document_id"', b'"actor_ip"'))

    def parse(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext) -> list[UsageEvent]:
        """Events of every token-attributed record in lines."""
        records = json_records(lines, first_line, ctx, lambda doc: doc)
        return [ev for i, rec in records if (ev := _event(rec, i, ctx)) is not None]
