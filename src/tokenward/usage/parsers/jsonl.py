"""Generic JSON lines: one request per line, fields named by a mapping (config `usage.mapping`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Annotated, Any

import msgspec

from tokenward.usage.events import (
    AWS_KEY_ID,
    IDENT_KINDS,
    MINUTES,
    SECONDS_SPAN,
    TOKEN_ID,
    ParseContext,
    UsageEvent,
    any_seconds,
    minute_of,
    second_of,
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


I64 = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]  # orjson reads larger integers as floats
Scalar = str | I64 | float | bool | None  # values msgspec and orjson read alike; any other: the general path


def typed_decoder(mapping: Mapping[str, str]) -> Callable[[bytes], Any] | None:
    """A msgspec decoder of a flat JSON object whose every key is a mapped name and every value a scalar, into a
    struct with our field names (status: UNSET when absent, which means 200); None when two fields share a key.

    Unknown keys are refused rather than skipped: msgspec does not check what it skips (invalid UTF-8, an
    out-of-range number) where orjson refuses the line, and the two must agree on every line they both read.
    One decoder per mapping, shared by every parser (each file has one): a struct type and its decoder are
    ~7 KB, and a run over a tree of JSON lines makes a parser per file.
    """
    return _typed_decoder(tuple(mapping.items()))


@lru_cache(maxsize=16)
def _typed_decoder(items: tuple[tuple[str, str], ...]) -> Callable[[bytes], Any] | None:
    mapping = dict(items)
    if len(set(mapping.values())) != len(mapping):
        return None
    fields = [(name, Scalar | msgspec.UnsetType, msgspec.UNSET) if name == "status" else (name, Scalar, None)
              for name in mapping]
    line = msgspec.defstruct("Line", fields, rename=dict(mapping), gc=False, forbid_unknown_fields=True)
    return msgspec.json.Decoder(line).decode


def mapping_with(overrides: Mapping[str, str]) -> dict[str, str]:
    """The default mapping with overrides applied; ValueError names an unknown field."""
    unknown = sorted(set(overrides) - FIELDS)
    if unknown:
        raise ValueError(f"unknown usage field(s) {', '.join(unknown)} (known: {', '.join(sorted(FIELDS))})")
    return {**DEFAULT_MAPPING, **overrides}


class JsonLinesParser:
    """JSON lines with a token (raw, fingerprinted and dropped) or a token identifier per line."""

    name = "jsonl"
    newlines = True  # each line is JSON: its newline is whitespace (see logfiles.batches)

    def __init__(self, options: ParserOptions = ParserOptions()) -> None:
        self.map = mapping_with(options.mapping)
        self.tokens = TokenReader(options.fingerprinter)
        self.provider = options.provider
        self.idents = [(kind, self.map[kind]) for kind in IDENT_KINDS if kind in self.map]
        self.flat = all("." not in p for p in self.map.values())
        self.shard = options.shard
        self.sharded = options.shard is not None and self.flat  # the monitor need not filter these events again
        self.typed = typed_decoder(self.map) if self.flat else None
        self.misses = self.tried = 0  # lines the typed decoder refused, and lines of the batches before

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

    def _typed_ident(self, r: Any) -> tuple[str, str, str | None] | None:
        """_ident of a typed line (the same kinds in the same order)."""
        for kind, _ in self.idents:
            value = getattr(r, kind)
            if value:
                return kind, str(value), None
        raw = r.token
        secret = header_secret(raw) if isinstance(raw, str) else None
        found = self.tokens.identify(secret) if secret else None
        return (TOKEN_ID, found[0], found[1]) if found else None

    def _missed(self, position: int) -> Callable[[bytes], Any] | None:
        """Count a line the typed decoder refused; stop trying it on a log where most lines are refused (extra
        keys in every line, say: each would be decoded twice)."""
        self.misses += 1
        if self.misses > 64 and self.misses * 2 > self.tried + position + 1:
            self.typed = None
        return self.typed

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
        """Events of lines that name a token.

        A line whose keys are all mapped and whose values are all scalars is decoded once, by msgspec into a
        struct of the mapped fields; any other line (an extra key, a nested value, an integer orjson would
        read as a float, invalid JSON, ...) goes through orjson as before, which reports what is wrong with it.

        With a shard (k, n), every worker decodes every line and keeps its own tokens' events; a line malformed
        before its token is known is counted by worker 0 only, one malformed after by the worker of its token:
        each malformed line is counted by exactly one worker (ctx.split says so). (Telling a line's worker from
        its bytes before decoding costs as much as msgspec's decoding, once it is done safely.)
        """
        if not self.flat:
            return self._parse_nested(lines, first_line, ctx)
        out: list[UsageEvent] = []
        append, provider, typed, general = out.append, self.provider, self.typed, self._general
        k, n = self.shard or (0, 0)
        ctx.split = ctx.split or n > 0
        minutes, new, event_of, unset = MINUTES, tuple.__new__, UsageEvent, msgspec.UNSET
        for i, raw in enumerate(lines, first_line):
            counts = k == 0  # a line malformed before its token is known: worker 0's to count
            try:
                r = typed(raw) if typed is not None else None
            except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
                r = None
                typed = self._missed(i - first_line)
            if r is None or r.at is None:  # no time under its mapped name: the general path tries the others
                general(raw, i, ctx, out, counts)
                continue
            try:
                kind, pv = TOKEN_ID, None
                if not (type(ident := r.token_id) is str and ident):
                    if not ident and type(ident := r.aws_key_id) is str and ident:  # _typed_ident's next kind
                        kind = AWS_KEY_ID
                    elif (found := self._typed_ident(r)) is not None:
                        kind, ident, pv = found
                    else:
                        ctx.unattributed += 1
                        continue
                if n and ord(ident[-1]) % n != k:
                    continue
                counts = True
                at = r.at
                if type(at) is str and len(at) >= 20 and at[-1] == "Z" and at[16] == ":":
                    base = minutes.get(at[:16])
                    at = (minute_of(at) if base is None else base) + second_of(at)
                elif type(at) is not float or not 0.0 <= at <= SECONDS_SPAN:  # milliseconds, NaN, out of range
                    at = any_seconds(at)
                status, ip, agent, action = r.status, r.ip, r.agent, r.action
                if status is unset:
                    status = 200
                if type(status) is not int or not (type(ip) is str and type(agent) is str and type(action) is str) \
                        or "?" in action:
                    status, ip, agent, action = _coerce(status, ip, agent, action)
                append(new(event_of, (at, kind, ident, r.provider or provider, ip, agent, action, status, i,
                                      r.ref, pv, r.scopes)))
            except (ValueError, TypeError, AttributeError, OverflowError):
                if counts:
                    ctx.bad(i, "invalid JSON or unreadable field", raw)
        self.tried += len(lines)
        return out

    def _general(self, raw: bytes, i: int, ctx: ParseContext, out: list[UsageEvent], counts: bool = True) -> None:
        """The event of one line decoded by orjson into a dict (any shape; what is wrong is reported, by this
        worker when counts or once the line's token is known to be this worker's)."""
        m, shard, known = self.map, self.shard, False
        try:
            rec = json_loads(raw)
            ident = rec.get(m["token_id"])
            pv = None
            if type(ident) is str and ident:
                kind = TOKEN_ID
            else:
                found = self._ident(rec)
                if found is None:
                    ctx.unattributed += 1
                    return
                kind, ident, pv = found
            if shard is not None and ord(ident[-1]) % shard[1] != shard[0]:
                return
            known = True
            at = rec.get(m["at"])
            if type(at) is str and len(at) >= 20 and at[-1] == "Z" and at[16] == ":":
                base = MINUTES.get(at[:16])  # 'YYYY-MM-DDTHH:MM:SS.fffZ': one datetime parse per minute
                at = (minute_of(at) if base is None else base) + second_of(at)
            elif type(at) is not float or not 0.0 <= at <= SECONDS_SPAN:
                at = self._at(rec)
            status = rec.get(m["status"], 200)
            ip, agent, action = rec.get(m["ip"]), rec.get(m["agent"]), rec.get(m["action"])
            if type(status) is not int or not (type(ip) is str and type(agent) is str and type(action) is str) \
                    or "?" in action:
                status, ip, agent, action = _coerce(status, ip, agent, action)
            out.append(UsageEvent(at, kind, ident, rec.get(m["provider"]) or self.provider, ip, agent, action, status,
                                  i, rec.get(m["ref"]), pv, rec.get(m["scopes"])))
        except (ValueError, TypeError, AttributeError, OverflowError):
            if known or counts:
                ctx.bad(i, "invalid JSON or unreadable field", raw)

    def _parse_nested(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext) -> list[UsageEvent]:
        out: list[UsageEvent] = []
        for i, raw in enumerate(lines, first_line):
            try:
                ev = self._event(load_json(raw), i, ctx)
            except (ValueError, TypeError, AttributeError, OverflowError):
                ctx.bad(i, "invalid JSON or unreadable field", raw)
                continue
            if ev is not None:
                out.append(ev)
        return out


def _coerce(status: Any, ip: Any, agent: Any, action: Any) -> tuple[int, str | None, str | None, str | None]:
    """Types fixed, and a query string cut from the action (it may carry a token; it is never stored)."""
    act = as_text(action)
    return (200 if status is None else int(status)), as_text(ip), as_text(agent), act.split("?", 1)[0] if act else act
