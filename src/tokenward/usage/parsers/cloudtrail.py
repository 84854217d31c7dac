"""AWS CloudTrail: JSON files with a Records array (as delivered to S3) or one record per line."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import msgspec

from tokenward.usage.events import (
    AWS_KEY_ID,
    DENIED,
    FAILED,
    SECONDS,
    ParseContext,
    UsageEvent,
    cached_iso_seconds,
)
from tokenward.usage.parsers.interface import ParserOptions, as_text, json_records

DENIED_CODES = ("AccessDenied", "Unauthorized", "Forbidden", "AuthFailure", "InvalidClientTokenId",
                "SignatureDoesNotMatch", "ExpiredToken", "InvalidAccessKeyId", "NotAuthorized")
# eventSource host -> IAM service prefix, where the two differ
SERVICE_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "elasticloadbalancing": "elasticloadbalancing",
                  "es": "es", "logs": "logs", "execute-api": "execute-api"}


def iam_action(event_source: str, event_name: str) -> str:
    """The IAM action of a CloudTrail record: 's3.amazonaws.com' + 'GetObject' -> 's3:GetObject'."""
    service = event_source.split(".", 1)[0]
    return f"{SERVICE_PREFIX.get(service, service)}:{event_name}"


@lru_cache(maxsize=4096)
def _action(event_source: str, event_name: str) -> str:
    return iam_action(event_source, event_name)


def _status(error_code: Any) -> int:
    if not error_code:
        return 200
    code = str(error_code)
    return DENIED if any(d in code for d in DENIED_CODES) else FAILED if "Internal" in code else 400


def _ip(value: Any) -> str | None:
    text = as_text(value)
    if text is None or text == "AWS Internal" or text.endswith(".amazonaws.com"):
        return None  # a service acting on the caller's behalf, not a network address
    return text


def _event(rec: Any, line: int, ctx: ParseContext) -> UsageEvent | None:
    if not isinstance(rec, dict) or "eventTime" not in rec or "eventSource" not in rec:
        ctx.bad(line, "not a CloudTrail record (no eventTime/eventSource)")
        return None
    who = rec.get("userIdentity")
    key = who.get("accessKeyId") if isinstance(who, dict) else None
    if not key:
        ctx.unattributed += 1
        return None
    try:
        at = cached_iso_seconds(str(rec["eventTime"]))
    except ValueError:
        ctx.bad(line, "unreadable eventTime")
        return None
    return UsageEvent(at, AWS_KEY_ID, str(key), "aws", _ip(rec.get("sourceIPAddress")), as_text(rec.get("userAgent")),
                      iam_action(str(rec["eventSource"]), str(rec.get("eventName", "?"))),
                      _status(rec.get("errorCode")), line, as_text(rec.get("eventID")))


class _Who(msgspec.Struct, gc=False):
    """userIdentity: only the access key is used."""

    accessKeyId: str | None = None


class _Record(msgspec.Struct, gc=False):
    """The fields of a CloudTrail record the monitor uses (the rest is skipped unparsed)."""

    eventTime: str | msgspec.UnsetType = msgspec.UNSET
    eventSource: str | msgspec.UnsetType = msgspec.UNSET
    eventName: str = "?"
    userIdentity: _Who | None = None
    sourceIPAddress: str | None = None
    userAgent: str | None = None
    errorCode: str | None = None
    eventID: str | None = None


class _Document(_Record, gc=False):
    """A line: a delivered document with Records, or one record (JSON lines)."""

    Records: list[_Record] | msgspec.UnsetType = msgspec.UNSET


_DECODE = msgspec.json.Decoder(_Document).decode


SHARED: dict[str, str] = {}  # one string object per distinct access key and user agent


def _fast_events(doc: _Document, line: int, ctx: ParseContext, shares: list[list[Any] | None], k: int) -> None:
    """Append the events of a typed document (the same results _event gives for the same records) to shares:
    a key whose last character's code is j mod len(shares) goes to shares[j] (see monitor.in_shard), as a
    UsageEvent when j is k, else as a plain EventRow; keys of a share that is None are skipped.

    Keys and agents repeat from record to record: each is made one shared string (SHARED), so a worker's spool
    writes it once per batch and the baselines' lookups find it by identity. A key's agent is compared with the
    one it had last (AGENT_OF) before it is looked up: comparing costs less than hashing a user agent."""
    new, event, unset, seconds = tuple.__new__, UsageEvent, msgspec.UNSET, SECONDS.get
    if len(SHARED) > 1 << 16:
        SHARED.clear()
        AGENT_OF.clear()
    shared, last_agent, n = SHARED.setdefault, AGENT_OF.get, len(shares)
    unattributed = 0
    for rec in doc.Records if doc.Records is not unset else (doc,):
        source, stamp = rec.eventSource, rec.eventTime
        if source is unset or stamp is unset:
            ctx.bad(line, "not a CloudTrail record (no eventTime/eventSource)")
            continue
        who = rec.userIdentity
        key = who.accessKeyId if who is not None else None
        if not key:
            unattributed += 1
            continue
        j = ord(key[-1]) % n
        dest = shares[j]
        if dest is None:
            continue  # another worker's key: not worth building an event for
        at = seconds(stamp)
        if at is None:
            at = _seconds(stamp, line, ctx)
            if at is None:
                continue
        ip, code, agent = rec.sourceIPAddress, rec.errorCode, rec.userAgent
        if ip and (ip == "AWS Internal" or ip.endswith(".amazonaws.com")):
            ip = None  # a service acting on the caller's behalf (as _ip says)
        key = shared(key, key)
        if agent:
            known = last_agent(key)
            agent = known if known == agent else _agent(key, agent)
        row = (at, AWS_KEY_ID, key, "aws", ip or None, agent or None, _action(source, rec.eventName),
               _status(code) if code else 200, line, rec.eventID or None, None, None)
        dest.append(new(event, row) if j == k else row)
    ctx.unattributed += unattributed


AGENT_OF: dict[str, str] = {}  # shared key -> the shared agent of its last record


def _agent(key: str, agent: str) -> str:
    """The shared string of agent, remembered as key's last."""
    agent = AGENT_OF[key] = SHARED.setdefault(agent, agent)
    return agent


def _seconds(stamp: str, line: int, ctx: ParseContext) -> float | None:
    """The epoch seconds of a record's eventTime not met before (None, counted as malformed, when unreadable)."""
    try:
        return cached_iso_seconds(stamp)
    except ValueError:
        ctx.bad(line, "unreadable eventTime")
        return None


class CloudTrailParser:
    """CloudTrail records: identity = userIdentity.accessKeyId, action = IAM action."""

    name = "cloudtrail"
    newlines = True  # each line is JSON: its newline is whitespace (see logfiles.batches)

    def __init__(self, options: ParserOptions = ParserOptions()) -> None:
        self.shard = options.shard
        self.sharded = options.shard is not None  # both decoders keep only this worker's keys

    def sniff(self, line: bytes) -> bool:
        """A Records document or a single record with eventSource and eventTime."""
        head = line[:4096]
        return b'"eventSource"' in head and (b'"Records"' in head or b'"eventVersion"' in head)

    def parse(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext) -> list[UsageEvent]:
        """Events of every keyed record in lines (only this worker's keys, when sharded).

        Each line is decoded once into typed structs holding only the fields used; a line whose fields have
        unexpected types (or that is not valid JSON) goes through the general decoder, which reports it.
        """
        out: list[UsageEvent] = []
        k, n = self.shard or (0, 1)
        shares: list[list[Any] | None] = [None] * n
        shares[k] = out
        _decode(lines, first_line, ctx, shares, k)
        return out

    def parse_shares(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext, n: int) -> list[list[Any]]:
        """(a parallel worker decoding a file for all n) The events of lines dealt to n workers by their key (see
        monitor.in_shard), order kept, each a plain EventRow (the decoding worker's own share too): the others'
        are spooled, and Monitor.ingest takes rows (a UsageEvent costs ~0.2 µs to build, and only the rare event
        that wakes a detector needs one)."""
        shares: list[list[Any]] = [[] for _ in range(n)]
        _decode(lines, first_line, ctx, list(shares), -1)
        return shares


def _decode(lines: Sequence[bytes], first_line: int, ctx: ParseContext, shares: list[list[Any] | None],
            k: int) -> None:
    """Deal the events of lines into shares as _fast_events does, through the general decoder where the typed
    one refuses a line."""
    for i, raw in enumerate(lines, first_line):
        try:
            doc = _DECODE(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            for n, rec in json_records((raw,), i, ctx, _unwrap):
                if ev := _event(rec, n, ctx):
                    _deal(ev, shares, k)
            continue
        _fast_events(doc, i, ctx, shares, k)


def _deal(ev: UsageEvent, shares: list[list[Any] | None], k: int) -> None:
    """Append ev to the share its key belongs to (a UsageEvent in share k, else an EventRow); none when that is
    None."""
    j = ord(ev.ident[-1]) % len(shares)  # the general decoder gives no event without a key
    dest = shares[j]
    if dest is not None:
        dest.append(ev if j == k else tuple(ev))


def in_shard(ident: str, shard: tuple[int, int]) -> bool:
    """True when ident belongs to worker shard[0] of shard[1] (the rule of monitor.in_shard)."""
    return ord(ident[-1]) % shard[1] == shard[0] if ident else shard[0] == 0


def _unwrap(doc: Any) -> Any:
    """The records of a CloudTrail document: its Records list, or the document itself (JSON lines)."""
    return doc.get("Records") if isinstance(doc, dict) and "Records" in doc else doc
