"""OpenTelemetry log records (OTLP/JSON, as the collector's file exporter writes: one request per line)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from tokenward.usage.events import IDENT_KINDS, TOKEN_ID, ParseContext, UsageEvent, any_seconds
from tokenward.usage.parsers.access import TokenReader, header_secret, route
from tokenward.usage.parsers.interface import ParserOptions, as_text, load_json

IP_KEYS = ("client.address", "net.peer.ip", "http.client_ip", "source.address")
AGENT_KEYS = ("user_agent.original", "http.user_agent")
METHOD_KEYS = ("http.request.method", "http.method")
ROUTE_KEYS = ("http.route", "url.path", "http.target")
STATUS_KEYS = ("http.response.status_code", "http.status_code")
TOKEN_KEYS = ("http.request.header.authorization", "http.request.header.x-api-key")
IDENT_KEYS = {TOKEN_ID: ("tokenward.token_id", "token.id"), "aws_key_id": ("aws.access_key_id",),
              "github_hashed_token": ("github.hashed_token",), "vault_accessor": ("vault.accessor",),
              "external_id": ("enduser.id", "token.name")}


def _value(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    for kind in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if kind in v:
            return v[kind]
    array = v.get("arrayValue", {}).get("values") if isinstance(v.get("arrayValue"), dict) else None
    return _value(array[0]) if array else None


def attributes(items: Any) -> dict[str, Any]:
    """OTLP [{'key': k, 'value': {'stringValue': v}}] as {k: v}."""
    if not isinstance(items, list):
        return {}
    return {a["key"]: _value(a.get("value")) for a in items if isinstance(a, dict) and "key" in a}


def records(doc: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(record, merged attributes) of every log record in an ExportLogsServiceRequest document."""
    for rl in doc.get("resourceLogs", []) if isinstance(doc, dict) else []:
        resource = attributes(rl.get("resource", {}).get("attributes"))
        for sl in rl.get("scopeLogs", []):
            for rec in sl.get("logRecords", []):
                yield rec, {**resource, **attributes(rec.get("attributes"))}


def _pick(attrs: dict[str, Any], keys: Sequence[str]) -> Any:
    return next((attrs[k] for k in keys if attrs.get(k) not in (None, "")), None)


class OtelLogParser:
    """OTLP JSON log records; HTTP semantic-convention attributes, token from an id or auth header."""

    name = "otel"
    newlines = True  # each line is JSON: its newline is whitespace (see logfiles.batches)

    def __init__(self, options: ParserOptions = ParserOptions()) -> None:
        self.tokens = TokenReader(options.fingerprinter)
        self.provider = options.provider
        self.token_key = options.token_field

    def sniff(self, line: bytes) -> bool:
        """An OTLP logs document."""
        return b'"resourceLogs"' in line[:4096]

    def _ident(self, attrs: dict[str, Any]) -> tuple[str, str, str | None] | None:
        for kind in IDENT_KINDS:
            value = _pick(attrs, IDENT_KEYS.get(kind, ()))
            if value:
                return kind, str(value), None
        raw = _pick(attrs, (self.token_key,) if self.token_key else TOKEN_KEYS)
        secret = header_secret(str(raw)) if raw else None
        found = self.tokens.identify(secret) if secret else None
        return (TOKEN_ID, found[0], found[1]) if found else None

    def _event(self, rec: dict[str, Any], attrs: dict[str, Any], i: int, ctx: ParseContext) -> UsageEvent | None:
        ident = self._ident(attrs)
        if ident is None:
            ctx.unattributed += 1
            return None
        at = any_seconds(int(rec.get("timeUnixNano") or rec.get("observedTimeUnixNano") or 0))
        method, path = _pick(attrs, METHOD_KEYS), _pick(attrs, ROUTE_KEYS)
        action = f"{str(method).upper()} {route(str(path))}" if method and path else as_text(attrs.get("event.name"))
        status = _pick(attrs, STATUS_KEYS)
        return UsageEvent(at, ident[0], ident[1], str(attrs.get("tokenward.provider") or self.provider),
                          as_text(_pick(attrs, IP_KEYS)), as_text(_pick(attrs, AGENT_KEYS)), action,
                          int(status) if status is not None else 200, i, as_text(rec.get("spanId")) or None, ident[2])

    def parse(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext) -> list[UsageEvent]:
        """Events of every token-attributed log record."""
        out: list[UsageEvent] = []
        for i, raw in enumerate(lines, first_line):
            try:
                for rec, attrs in records(load_json(raw)):
                    ev = self._event(rec, attrs, i, ctx)
                    if ev is not None:
                        out.append(ev)
            except (ValueError, TypeError, AttributeError, KeyError, OverflowError):
                ctx.bad(i, "invalid OTLP JSON", raw)
        return out
