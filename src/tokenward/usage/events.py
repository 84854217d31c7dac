"""The records every usage log parser produces: one UsageEvent per authenticated request."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

from tokenward.errors import UsageError

# How an event names its token (the identity join maps each to an inventory token_id).
TOKEN_ID = "token_id"  # our HMAC of the plaintext (fingerprinted at parse time)
AWS_KEY_ID = "aws_key_id"  # AKIA…/ASIA… access key id (an identifier, not a secret)
GITHUB_HASHED = "github_hashed_token"  # base64 SHA-256 of the token
GITHUB_TOKEN_NUMBER = "github_token_id"  # GitHub's own numeric token id
VAULT_ACCESSOR = "vault_accessor"  # a plain accessor (audit device with hmac_accessor=false)
VAULT_HMAC = "vault_hmac"  # "hmac-sha256:…" of an accessor or client token, salted per audit device
EXTERNAL = "external_id"  # any other identifier a generic log names (a key name, a client id)
IDENT_KINDS = (TOKEN_ID, AWS_KEY_ID, GITHUB_HASHED, GITHUB_TOKEN_NUMBER, VAULT_ACCESSOR, VAULT_HMAC, EXTERNAL)


class UsageEvent(NamedTuple):
    """One request made with one token (a NamedTuple: immutable and cheap on the 10⁷-event path)."""

    at: float  # epoch seconds, UTC
    ident_kind: str
    ident: str
    provider: str  # aws | github | gitlab | vault | http | …
    ip: str | None
    agent: str | None  # raw User-Agent
    action: str | None  # IAM action, audit action or "METHOD /route"
    status: int  # HTTP-like status: 200 success, 401/403 denied, 4xx/5xx other failures
    line: int  # 1-based line of the log (for evidence)
    ref: str | None = None  # the provider's own event id (CloudTrail eventID, request id)
    preview: str | None = None  # redacted preview, when the parser saw the plaintext
    scopes: str | None = None  # granted scopes the log reports (GitHub token_scopes)


EventRow = tuple[Any, ...]
"""A UsageEvent, or its fields as a plain tuple in the same order (what parallel workers deal and ingest)."""


@dataclass(frozen=True)
class StorageViolation:
    """A token found where it must not be stored: e.g. in a URL, and so in every access log."""

    token_id: str
    preview: str
    kind: str  # "token-in-url"
    where: str
    detail: str


@dataclass
class ParseContext:
    """What a parser reports besides events: malformed lines (counted, never fatal) and violations."""

    source: str = "-"
    malformed: int = 0
    unattributed: int = 0  # well-formed records that name no token (console sessions, anonymous requests)
    split: bool = False  # parallel: lines dealt to the workers before decoding, each counts its own malformed ones
    examples: list[tuple[int, str]] = field(default_factory=list)
    violations: list[StorageViolation] = field(default_factory=list)
    _reported: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def bad(self, line: int, reason: str, raw: bytes | None = None) -> None:
        """Count one malformed line (the first few are kept with their reason); a line of whitespace only, when
        given, is blank, not malformed (the reader drops such lines only where it cuts empty ones too)."""
        if raw is not None and not raw.strip():
            return
        self.malformed += 1
        if len(self.examples) < 20:
            self.examples.append((line, reason))

    def violation(self, v: StorageViolation) -> None:
        """Report a storage violation once per token and kind."""
        if (v.token_id, v.kind) not in self._reported:
            self._reported.add((v.token_id, v.kind))
            self.violations.append(v)


DENIED = 403
FAILED = 500


def _aware(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


LEAP_SECOND = re.compile(r"([T ]\d\d:\d\d:)60(?=[.,]\d|Z|[+-]\d\d|$)")  # the seconds field of a leap second


def iso_seconds(text: str) -> float:
    """Epoch seconds of an ISO 8601 time in any zone (Z, ±hh:mm, ±hhmm; naive means UTC). A leap second
    ("23:59:60Z") is a real UTC second that datetime cannot hold: it reads as the next minute's first, as
    fast_iso_seconds reads it, rather than as an unreadable time that would drop its event."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        leap = LEAP_SECOND.sub(r"\g<1>59", text.strip(), count=1)
        if leap == text.strip():
            raise
        return iso_seconds(leap) + 1.0
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


SECONDS: dict[str, float] = {}  # time text -> epoch seconds: log records come many to a second


def cached_iso_seconds(text: str) -> float:
    """iso_seconds, remembered per distinct text (ValueError, never cached, for an unreadable time)."""
    at = SECONDS.get(text)
    if at is None:
        if len(SECONDS) >= 1 << 16:
            SECONDS.clear()
        at = SECONDS[text] = whole_seconds(text)
    return at


MINUTES: dict[str, float] = {}  # 'YYYY-MM-DDTHH:MM' -> epoch seconds (UTC), for fast parsing of Z times


def whole_seconds(text: str) -> float:
    """iso_seconds, for the 'YYYY-MM-DDTHH:MM:SSZ' form (CloudTrail's) with one datetime parse per minute: the
    minute's epoch seconds plus whole seconds, exactly what the full parse gives (both are whole numbers)."""
    if len(text) == 20 and text[19] == "Z" and text[16] == ":":
        second = text[17:19]
        if second.isascii() and second.isdigit() and second < "60":
            base = MINUTES.get(text[:16])
            return (minute_of(text) if base is None else base) + int(second)
    return iso_seconds(text)


def minute_of(text: str) -> float:
    """Epoch seconds of the minute of a 'YYYY-MM-DDTHH:MM:…Z' time (cached in MINUTES)."""
    if len(MINUTES) > 20_000:
        MINUTES.clear()
    base = MINUTES[text[:16]] = iso_seconds(text[:16] + ":00+00:00")
    return base


def fast_iso_seconds(text: str) -> float:
    """iso_seconds for the common 'YYYY-MM-DDTHH:MM:SS[.fff]Z' form, one datetime parse per minute."""
    if len(text) >= 20 and text[-1] == "Z" and text[16] == ":":
        return (MINUTES.get(text[:16]) or minute_of(text)) + second_of(text)
    return any_seconds(text)


def second_of(text: str) -> float:
    """The seconds of a 'YYYY-MM-DDTHH:MM:SS[.fff]Z' time; ValueError unless 0 <= s < 61 (float() also reads
    'nan' and 'inf', which would reach the reports as times no datetime can hold)."""
    second = float(text[17:-1])
    if not 0.0 <= second < 61.0:
        raise ValueError("seconds out of range")
    return second


LATEST_EPOCH_NS = 253_402_300_800e9  # 10000-01-01T00:00:00Z in nanoseconds: no epoch number reaches it
SECONDS_SPAN = 1e11  # an epoch number above this is in milliseconds, microseconds or nanoseconds


def any_seconds(value: object) -> float:
    """Epoch seconds of an ISO string, an RFC 2822 date, or epoch seconds/milliseconds/nanoseconds."""
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int | float):
        v = float(value)
        if not 0.0 <= v < LATEST_EPOCH_NS:  # NaN, infinities, before 1970, beyond year 9999 in nanoseconds
            raise ValueError("time out of range")
        while v > SECONDS_SPAN:  # milliseconds, microseconds or nanoseconds
            v /= 1000.0
        return v
    if isinstance(value, str):
        text = value.strip()
        if text.replace(".", "", 1).isdigit():
            return any_seconds(float(text))
        try:
            return iso_seconds(text)
        except ValueError:
            return _aware(parsedate_to_datetime(text))
    raise ValueError("not a time")


def utc(seconds: float) -> datetime:
    """An aware UTC datetime from epoch seconds."""
    return datetime.fromtimestamp(seconds, UTC)


def iso(seconds: float) -> str:
    """ISO 8601 UTC ('2025-01-02T03:04:05Z') of epoch seconds."""
    return utc(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


MAX_AGE_SECONDS = 200 * 366 * 86400  # a duration or --since further back than this is a typo


def duration(text: str, option: str = "duration") -> float:
    """Seconds of a duration like 30m, 24h, 7d, 2w; UsageError (one line) when it is not one."""
    m = _RELATIVE.match(text.strip())
    if not m:
        raise UsageError(f"{option}: not a duration: {text!r} (e.g. 30m, 1h, 2d, 1w)")
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds > MAX_AGE_SECONDS:
        raise UsageError(f"{option}: {text!r} is more than 200 years")
    return float(seconds)


def parse_since(text: str, now: datetime | None = None) -> float:
    """--since: an ISO time, or a relative age like 30m, 24h, 7d, 2w; UsageError (one line) when it is neither."""
    if _RELATIVE.match(text.strip()):
        base = now or datetime.now(UTC)
        try:
            return (base - timedelta(seconds=duration(text, "--since"))).timestamp()
        except OverflowError:
            raise UsageError(f"--since: {text!r} is too far back") from None
    try:
        return any_seconds(text)
    except (ValueError, OverflowError, TypeError, IndexError):
        raise UsageError(f"--since: not a time or a duration: {text!r} "
                         "(e.g. 2025-01-31, 2025-01-31T12:00:00Z, 24h, 7d)") from None
