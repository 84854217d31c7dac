"""Generic JSON lines: one request per line, fields named by a mapping (config `usage.mapping`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tokenward.usage.events import (
    IDENT_KINDS,
    MINUTES,
    TOKEN_ID,
    ParseContext,
    UsageEvent,
    any_seconds,
    minute_of,
)
from tokenward.usage.parsers.access import TokenReader, header_secret
from tokenward.usage.parsers.interface import ParserOptions, as_text, json_loads, load_json, path_get

DEFAULT_MAPPING = {
    "at": "ts", "token": "token", "token_id": "token_id", "aws_key_id": "aws_key_id",
    "github_hashed_token": "github_hashed_token", "vault_accessor": "vault_accessor", "external_id": "key_id",
    "ip": "ip", "agent": "user_agent", "action": "action", "status": "status", "provider": "provider",
    "ref": "id", "scopes": "scopes",
}
TIME_FALLBACKS = ("time", "timestamp", "@timestamp")
FIELDS = frozenset(DEFAULT_MAPPING)


def mapping_with(overrides: Mapping[str, str]) -> dict[str, str]:
    """The default mapping with overrides applied; ValueError names an unknown field."""
    unknown = sorted(set(overrides) - FIELDS)
    if unknown:
        raise ValueError(f"unknown usage field(s) {', '.join(unknown)} (known: {', '.join(sorted(FIELDS))})")
    return {**DEFAULT_MAPPING, **overrides}


class JsonLinesParser:
    """JSON lines with a token (raw, fingerprinted and dropped) or a token identifier per line."""

    name = "jsonl"

    def __init__(self, options: ParserOptions = ParserOptions()) -> None:
        self.map = mapping_with(options.mapping)
        self.tokens = TokenReader(options.fingerprinter)
        self.provider = options.provider
        self.idents = [(kind, self.map[kind]) for kind in IDENT_KINDS if kind in self.map]
        self.flat = all("." not in p for p in self.map.values())
        self.shard = options.shard
        self.sharded = options.shard is not None and self.flat  # the monitor need not filter these events again

    def sniff(self, line: bytes) -> bool:
        """A JSON object naming a token or token identifier under the mapped names."""
        head = line[:4096]
        keys = [self.map["token"], *(p for _, p in self.idents)]
        return head.lstrip().startswith(b"{") and any(f'"{k.rsplit(".", 1)[-1]}"'.encode() in head for k in keys)

    def _get(self, rec: dict[str, Any], name: str) -> Any:
        path = self.map[name]
        return rec.get(path) if self.flat else path_get(rec, path)

    def _ident(self, rec: dict[str, Any]) -> tuple[str, str, str | None] | None:
        for kind, _ in self.idents:
            value = self._get(rec, kind)
            if value:
                return kind, str(value), None
        raw = self._get(rec, "token")
        secret = header_secret(raw) if isinstance(raw, str) else None
        found = self.tokens.identify(secret) if secret else None
        return (TOKEN_ID, found[0], found[1]) if found else None

    def _at(self, rec: dict[str, Any]) -> float:
        stamp = self._get(rec, "at")
        if stamp is None:
            stamp = next((rec[f] for f in TIME_FALLBACKS if f in rec), None)
        return any_seconds(stamp)

    def _event(self, rec: dict[str, Any], i: int, ctx: ParseContext) -> UsageEvent | None:
        ident = self._ident(rec)
        if ident is None:
            ctx.unattributed += 1
            return None
        status = self._get(rec, "status")
        status, ip, agent, action = _coerce(status, self._get(rec, "ip"), self._get(rec, "agent"),
                                            self._get(rec, "action"))
        return UsageEvent(self._at(rec), ident[0], ident[1], as_text(self._get(rec, "provider")) or self.provider,
                          ip, agent, action, status, i,
                          as_text(self._get(rec, "ref")), ident[2], as_text(self._get(rec, "scopes")))

    def parse(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext) -> list[UsageEvent]:
        """Events of lines that name a token."""
        if not self.flat:
            return self._parse_nested(lines, first_line, ctx)
        out: list[UsageEvent] = []
        append, provider = out.append, self.provider
        m = self.map
        k_at, k_id, k_ip, k_agent, k_action = m["at"], m["token_id"], m["ip"], m["agent"], m["action"]
        k_status, k_provider, k_ref, k_scopes = m["status"], m["provider"], m["ref"], m["scopes"]
        key, shard = f'"{k_id}"'.encode(), self.shard
        after, k, n = len(key) + 2, *(shard or (0, 1))
        minutes, new, event_of = MINUTES, tuple.__new__, UsageEvent
        for i, raw in enumerate(lines, first_line):
            if shard is not None:  # skip other workers' lines before decoding: last char of the id, mod n
                pos = raw.find(key)
                if pos >= 0:
                    start = raw.find(b'"', pos + after - 2)
                    if 0 <= start - pos <= after:
                        end = raw.find(b'"', start + 1)
                        if end > start + 1 and raw[end - 1] % n != k and raw[end - 2] != 92:
                            continue
            try:
                rec = json_loads(raw)
                ident = rec.get(k_id)
                pv = None
                if type(ident) is str and ident:
                    kind = TOKEN_ID
                else:
                    found = self._ident(rec)
                    if found is None:
                        ctx.unattributed += 1
                        continue
                    kind, ident, pv = found
                    if shard is not None and ord(ident[-1]) % n != k:
                        continue
                at = rec.get(k_at)
                if type(at) is str and len(at) >= 20 and at[-1] == "Z" and at[16] == ":":
                    base = minutes.get(at[:16])  # 'YYYY-MM-DDTHH:MM:SS.fffZ': one datetime parse per minute
                    at = (minute_of(at) if base is None else base) + float(at[17:-1])
                elif type(at) is not float:
                    at = self._at(rec)
                status = rec.get(k_status, 200)
                ip, agent, action = rec.get(k_ip), rec.get(k_agent), rec.get(k_action)
                if type(status) is not int or not (type(ip) is str and type(agent) is str and type(action) is str) \
                        or "?" in action:
                    status, ip, agent, action = _coerce(status, ip, agent, action)
                append(new(event_of, (at, kind, ident, rec.get(k_provider) or provider, ip, agent, action, status, i,
                                      rec.get(k_ref), pv, rec.get(k_scopes))))
            except (ValueError, TypeError, AttributeError, OverflowError):
                ctx.bad(i, "invalid JSON or unreadable field")
        return out

    def _parse_nested(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext) -> list[UsageEvent]:
        out: list[UsageEvent] = []
        for i, raw in enumerate(lines, first_line):
            try:
                ev = self._event(load_json(raw), i, ctx)
            except (ValueError, TypeError, AttributeError, OverflowError):
                ctx.bad(i, "invalid JSON or unreadable field")
                continue
            if ev is not None:
                out.append(ev)
        return out


def _coerce(status: Any, ip: Any, agent: Any, action: Any) -> tuple[int, str | None, str | None, str | None]:
    """Types fixed, and a query string cut from the action (it may carry a token; it is never stored)."""
    act = as_text(action)
    return (200 if status is None else int(status)), as_text(ip), as_text(agent), act.split("?", 1)[0] if act else act
