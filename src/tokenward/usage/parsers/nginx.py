"""nginx / Apache access logs: combined (plus extra quoted fields) and JSON log_format lines."""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from typing import Any

from tokenward.usage.events import TOKEN_ID, ParseContext, UsageEvent, any_seconds
from tokenward.usage.parsers.access import TokenReader, header_secret, route
from tokenward.usage.parsers.interface import ParserOptions, as_text, load_json, path_get

_Q = r'"((?:[^"\\]|\\.)*)"'
COMBINED = re.compile(r'^(\S+) \S+ (\S+) \[([^\]]+)\] ' + _Q + r' (\d{3}) (\S+)(?: ' + _Q + " " + _Q + r")?(.*)$")
EXTRA = re.compile(_Q)
MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                      "Dec"), 1)}
JSON_FIELDS = {
    "time": ("time_iso8601", "time", "@timestamp", "timestamp", "time_local", "msec"),
    "ip": ("remote_addr", "client_ip", "ip", "x_forwarded_for", "http_x_forwarded_for"),
    "agent": ("http_user_agent", "user_agent", "agent"),
    "status": ("status", "response_status", "status_code"),
    "token": ("http_authorization", "authorization", "token", "http_x_api_key", "api_key"),
}


def clf_seconds(text: str) -> float:
    """Epoch seconds of a common-log time '10/Oct/2000:13:55:36 -0700'."""
    day, mon, rest = text.split("/", 2)
    year, hh, mm, tail = rest.split(":", 3)
    ss, _, zone = tail.partition(" ")
    base = calendar.timegm((int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss[:2]), 0, 0, 0))
    if not zone or zone[0] not in "+-":
        return float(base)
    offset = int(zone[1:3]) * 3600 + int(zone[3:5]) * 60
    return float(base - offset if zone[0] == "+" else base + offset)


def split_request(request: str) -> tuple[str, str]:
    """(method, target) of a request line 'GET /path?q HTTP/1.1'."""
    parts = request.split(" ")
    return (parts[0].upper(), parts[1]) if len(parts) >= 2 else ("?", request or "/")


class AccessLogParser:
    """Combined/common access logs; the token comes from an extra quoted field or the URL."""

    name = "nginx"

    def __init__(self, options: ParserOptions = ParserOptions()) -> None:
        self.tokens = TokenReader(options.fingerprinter)
        field = options.token_field or "extra:1"
        self.extra_index = int(field.split(":", 1)[1]) - 1 if field.startswith("extra:") else 0
        self.provider = options.provider
        self._clock = ("", 0.0)

    def sniff(self, line: bytes) -> bool:
        """A combined or common log line."""
        return COMBINED.match(line[:8192].decode("utf-8", "replace")) is not None

    def _seconds(self, text: str) -> float:
        if self._clock[0] != text:
            self._clock = (text, clf_seconds(text))
        return self._clock[1]

    def _token(self, extra: str, target: str, line: int, ctx: ParseContext) -> tuple[str, str] | None:
        fields = EXTRA.findall(extra)
        secret = header_secret(fields[self.extra_index]) if len(fields) > self.extra_index else None
        in_url = self.tokens.from_url(target, line, ctx)
        return (self.tokens.identify(secret) if secret else None) or in_url

    def parse(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext) -> list[UsageEvent]:
        """Events of lines that carry a token."""
        out: list[UsageEvent] = []
        for i, raw in enumerate(lines, first_line):
            m = COMBINED.match(raw.decode("utf-8", "replace"))
            if m is None:
                ctx.bad(i, "not a combined/common log line", raw)
                continue
            ip, _user, when, request, status, _size, _ref, agent, extra = m.groups()
            method, target = split_request(request)
            ident = self._token(extra or "", target, i, ctx)
            if ident is None:
                ctx.unattributed += 1
                continue
            try:
                at = self._seconds(when)
            except (ValueError, KeyError, IndexError):
                ctx.bad(i, "unreadable [time]")
                continue
            out.append(UsageEvent(at, TOKEN_ID, ident[0], self.provider, ip, None if agent in (None, "-") else agent,
                                  f"{method} {route(target)}", int(status), i, preview=ident[1]))
        return out


def _first(rec: dict[str, Any], names: Sequence[str], override: str | None = None) -> Any:
    if override:
        return path_get(rec, override)
    return next((rec[n] for n in names if rec.get(n) not in (None, "", "-")), None)


class JsonAccessLogParser:
    """nginx `log_format … escape=json` lines (and similar JSON access logs)."""

    name = "nginx-json"

    def __init__(self, options: ParserOptions = ParserOptions()) -> None:
        self.tokens = TokenReader(options.fingerprinter)
        self.token_field = options.token_field
        self.provider = options.provider

    def sniff(self, line: bytes) -> bool:
        """A JSON object with a request line or URI, a status and a client address."""
        head = line[:4096]
        return head.lstrip().startswith(b"{") and (b'"request"' in head or b'"request_uri"' in head) and (
            b'"remote_addr"' in head or b'"status"' in head)

    def _event(self, rec: dict[str, Any], i: int, ctx: ParseContext) -> UsageEvent | None:
        request = as_text(rec.get("request"))
        method, target = split_request(request) if request else (
            str(rec.get("request_method") or "?").upper(), str(rec.get("request_uri") or rec.get("uri") or "/"))
        header = as_text(_first(rec, JSON_FIELDS["token"], self.token_field))
        secret = header_secret(header) if header else None
        in_url = self.tokens.from_url(target, i, ctx)
        ident = (self.tokens.identify(secret) if secret else None) or in_url
        if ident is None:
            ctx.unattributed += 1
            return None
        stamp = _first(rec, JSON_FIELDS["time"])
        at = clf_seconds(stamp) if isinstance(stamp, str) and "/" in stamp else any_seconds(stamp)
        status = _first(rec, JSON_FIELDS["status"])
        return UsageEvent(at, TOKEN_ID, ident[0], self.provider, as_text(_first(rec, JSON_FIELDS["ip"])),
                          as_text(_first(rec, JSON_FIELDS["agent"])), f"{method} {route(target)}",
                          int(status) if status is not None else 200, i, preview=ident[1])

    def parse(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext) -> list[UsageEvent]:
        """Events of lines that carry a token."""
        out: list[UsageEvent] = []
        for i, raw in enumerate(lines, first_line):
            try:
                rec = load_json(raw)
                ev = self._event(rec, i, ctx) if isinstance(rec, dict) else None
            except (ValueError, TypeError, KeyError, IndexError, OverflowError):
                ctx.bad(i, "invalid JSON access log line", raw)
                continue
            if ev is not None:
                out.append(ev)
            elif not isinstance(rec, dict):
                ctx.bad(i, "not a JSON object")
        return out
