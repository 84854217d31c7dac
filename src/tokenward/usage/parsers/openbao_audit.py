"""OpenBao / HashiCorp Vault file audit device: one JSON request and one response entry per call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenward.usage.events import DENIED, FAILED, VAULT_ACCESSOR, VAULT_HMAC, ParseContext, UsageEvent, iso_seconds
from tokenward.usage.parsers.interface import as_text, load_json

HMAC_PREFIX = "hmac-sha256:"


def _accessor(entry: dict[str, Any]) -> str | None:
    auth, request = entry.get("auth"), entry.get("request")
    value = auth.get("accessor") if isinstance(auth, dict) else None
    if not value and isinstance(request, dict):
        value = request.get("client_token_accessor")
    return as_text(value)


def _status(entry: dict[str, Any]) -> int:
    error = as_text(entry.get("error"))
    if not error:
        return 200
    return DENIED if "permission denied" in error or "invalid token" in error else FAILED


def _agent(request: dict[str, Any]) -> str | None:
    headers = request.get("headers")
    if not isinstance(headers, dict):
        return None
    value = headers.get("user-agent") or headers.get("User-Agent")
    return as_text(value[0] if isinstance(value, list) and value else value)


def _event(entry: Any, line: int, ctx: ParseContext) -> UsageEvent | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict) or "time" not in entry:
        ctx.bad(line, "not an audit entry (no time/request)")
        return None
    if entry.get("type") == "request":
        return None  # every call is logged twice; the response carries the outcome
    accessor = _accessor(entry)
    if accessor is None:
        ctx.unattributed += 1  # unauthenticated call (health, login)
        return None
    req = entry["request"]
    try:
        at = iso_seconds(str(entry["time"]))
    except ValueError:
        ctx.bad(line, "unreadable time")
        return None
    kind = VAULT_HMAC if accessor.startswith(HMAC_PREFIX) else VAULT_ACCESSOR
    action = f"{req.get('operation', '?')} {req.get('path', '?')}"
    return UsageEvent(at, kind, accessor, "vault", as_text(req.get("remote_address")), _agent(req), action,
                      _status(entry), line, as_text(req.get("id")), scopes=_policies(entry))


def _policies(entry: dict[str, Any]) -> str | None:
    auth = entry.get("auth")
    policies = auth.get("token_policies") or auth.get("policies") if isinstance(auth, dict) else None
    return ",".join(str(p) for p in policies) if isinstance(policies, list) and policies else None


class OpenBaoAuditParser:
    """Audit entries: identity = the (HMAC'd) token accessor; action = 'operation path'."""

    name = "openbao-audit"
    newlines = True  # each line is JSON: its newline is whitespace (see logfiles.batches)

    def sniff(self, line: bytes) -> bool:
        """An entry with a request object and a type of request or response."""
        head = line[:4096]
        return b'"request"' in head and (b'"type":"request"' in head or b'"type":"response"' in head
                                         or b'"type": "re' in head)

    def parse(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext) -> list[UsageEvent]:
        """Events of response entries made with a token."""
        out: list[UsageEvent] = []
        for i, raw in enumerate(lines, first_line):
            try:
                entry = load_json(raw)
            except ValueError:
                ctx.bad(i, "invalid JSON", raw)
                continue
            ev = _event(entry, i, ctx)
            if ev is not None:
                out.append(ev)
        return out
