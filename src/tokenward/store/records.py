"""Frozen records that cross the inventory boundary: what the writer stores and what readers get."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TokenRecord:
    """What one scan learned about a token (never its plaintext)."""

    token_id: str
    provider: str
    kind: str
    preview: str
    public_id: str | None
    public_ids: tuple[tuple[str, str], ...]
    rule_ids: tuple[str, ...]
    confidence: str
    environment: str | None
    privilege: str | None
    severity: str


@dataclass(frozen=True)
class SourceRecord:
    """A repository, directory, log or export a token was found in."""

    source_id: str
    kind: str  # repo | file | log | export
    locator: str  # absolute path or URL


@dataclass(frozen=True)
class OccurrenceRecord:
    """One place a token occurs; occurrence_id is derived from content, so rescans add nothing."""

    occurrence_id: str
    token_id: str
    source_id: str
    source_kind: str
    origin_kind: str
    rule_id: str
    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    byte_offset: int
    blob_id: str | None = None
    commit_id: str | None = None
    author: str | None = None
    author_email: str | None = None
    committed_at: datetime | None = None
    in_head: bool | None = None
    extra: str | None = None  # JSON: git paths/refs, format details


@dataclass(frozen=True)
class Batch:
    """Tokens, sources and occurrences written in one transaction."""

    tokens: tuple[TokenRecord, ...]
    sources: tuple[SourceRecord, ...]
    occurrences: tuple[OccurrenceRecord, ...]


@dataclass(frozen=True)
class BatchStats:
    """What one batch changed."""

    new_tokens: int
    new_occurrences: int
    reopened: tuple[str, ...] = ()
    touched: tuple[str, ...] = ()  # tokens with a new occurrence (their owner may have changed)


@dataclass(frozen=True)
class ScanStart:
    """The scan record written before any finding: who, when, what, with which rules."""

    scan_id: str
    started_at: datetime
    actor: str
    host: str
    pid: int
    targets: tuple[str, ...]
    ruleset: str
    rules: int
    tool_version: str


@dataclass(frozen=True)
class ScanTotals:
    """The counts written when a scan completes."""

    blobs: int
    bytes: int
    findings: int
    tokens: int
    new_tokens: int
    new_occurrences: int
    errors: int
    seconds: float
    suppressed: dict[str, int] = field(default_factory=dict)
    skipped: tuple[tuple[str, str, str], ...] = ()  # (location, reason, severity)


@dataclass(frozen=True)
class TokenFilter:
    """Which tokens `inventory list` and `export` return."""

    provider: str | None = None
    status: str | None = None
    source_kind: str | None = None
    history_only: bool = False


@dataclass(frozen=True)
class TokenRow:
    """One token as listed: identity, classification, triage state and occurrence aggregates."""

    token_id: str
    provider: str
    kind: str
    preview: str
    public_id: str | None
    confidence: str
    environment: str | None
    privilege: str | None
    severity: str
    expires_at: datetime | None
    owner: str | None
    status: str
    status_changed_at: datetime | None
    first_seen: datetime
    last_seen: datetime
    occurrences: int
    sources: int
    source_kinds: tuple[str, ...]
    current: bool


@dataclass(frozen=True)
class OccurrenceRow:
    """One occurrence as shown by `inventory show` and exports."""

    occurrence_id: str
    token_id: str
    source_kind: str
    source: str
    origin_kind: str
    rule_id: str
    path: str
    line: int
    col: int
    blob_id: str | None
    commit_id: str | None
    author: str | None
    author_email: str | None
    committed_at: datetime | None
    in_head: bool | None
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class EventRow:
    """One audit-trail entry."""

    event_id: int
    token_id: str
    at: datetime
    actor: str
    action: str
    old_status: str | None
    new_status: str | None
    note: str | None
    scan_id: str | None


@dataclass(frozen=True)
class TokenDetail:
    """Everything the inventory knows about one token."""

    token: TokenRow
    rule_ids: tuple[str, ...]
    public_ids: tuple[tuple[str, str], ...]
    occurrences: tuple[OccurrenceRow, ...]
    events: tuple[EventRow, ...]

