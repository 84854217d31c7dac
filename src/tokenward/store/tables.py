"""The inventory schema (SQLAlchemy Core), identical for SQLite and PostgreSQL.

Migrations in store/migrations/versions build exactly this schema; a test compares the two.
No column ever holds a plaintext secret: tokens are known by token_id (HMAC), public ids and
a redacted preview.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
STATUSES = ("open", "false-positive", "accepted-risk", "revoked", "rotated")
SOURCE_KINDS = ("repo", "file", "log", "export")
SEVERITIES = ("critical", "high", "medium", "low")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC (naive UTC for SQLite, which keeps no zone)."""
        if value is None:
            return None
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach UTC to naive values."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(naming_convention=NAMING)

meta = Table(
    "meta", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

token = Table(
    "token", metadata,
    Column("token_id", String(64), primary_key=True),
    Column("provider", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("preview", Text, nullable=False),
    Column("public_id", Text),
    Column("confidence", String(16), nullable=False),
    Column("environment", String(16)),
    Column("privilege", String(16)),
    Column("severity", String(16), nullable=False),
    Column("expires_at", UtcDateTime),
    Column("owner", Text),
    Column("status", String(32), nullable=False, server_default="open"),
    Column("status_changed_at", UtcDateTime),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("first_scan_id", String(32)),
    Column("last_scan_id", String(32)),
    Column("occurrences", Integer, nullable=False, server_default="0"),
    Column("sources", Integer, nullable=False, server_default="0"),
    Column("source_kinds", String(64), nullable=False, server_default=""),
    Column("current", Boolean, nullable=False, server_default=false()),
    Index(None, "status"),
    Index(None, "provider"),
)

token_rule = Table(
    "token_rule", metadata,
    Column("token_id", String(64), ForeignKey("token.token_id"), primary_key=True),
    Column("rule_id", String(128), primary_key=True),
    sqlite_with_rowid=False,
)

token_public_id = Table(
    "token_public_id", metadata,
    Column("token_id", String(64), ForeignKey("token.token_id"), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "name", "value"),
    sqlite_with_rowid=False,
)

source = Table(
    "source", metadata,
    Column("source_id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("locator", Text, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
)

occurrence = Table(
    "occurrence", metadata,
    Column("occurrence_id", String(32), primary_key=True),
    Column("token_id", String(64), ForeignKey("token.token_id"), nullable=False),
    Column("source_id", String(32), ForeignKey("source.source_id"), nullable=False),
    Column("source_kind", String(16), nullable=False),
    Column("origin_kind", String(32), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("path", Text, nullable=False),
    Column("line", Integer, nullable=False),
    Column("col", Integer, nullable=False),
    Column("end_line", Integer, nullable=False),
    Column("end_col", Integer, nullable=False),
    Column("byte_offset", Integer, nullable=False),
    Column("blob_id", String(64)),
    Column("commit_id", String(64)),
    Column("author", Text),
    Column("author_email", Text),
    Column("committed_at", UtcDateTime),
    Column("in_head", Boolean),
    Column("extra", Text),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("first_scan_id", String(32), nullable=False),
    Column("last_scan_id", String(32), nullable=False),
    Index(None, "token_id"),
)

scan = Table(
    "scan", metadata,
    Column("scan_id", String(32), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("status", String(16), nullable=False),
    Column("actor", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("targets", Text, nullable=False),
    Column("ruleset", String(64), nullable=False),
    Column("rules", Integer, nullable=False),
    Column("tool_version", String(32), nullable=False),
    Column("blobs", Integer),
    Column("bytes", BigInteger),
    Column("findings", Integer),
    Column("tokens", Integer),
    Column("new_tokens", Integer),
    Column("new_occurrences", Integer),
    Column("errors", Integer),
    Column("seconds", Float),
    Column("suppressed", Text),
    Column("skipped", Text),
    Index(None, "status"),
)

scanned_blob = Table(
    "scanned_blob", metadata,
    Column("source_id", String(32), primary_key=True),  # the repository (blobs replay into it alone)
    Column("ruleset", String(128), primary_key=True),  # rule-set digest (and key check) the scan used
    Column("blob_id", String(64), primary_key=True),
    Column("scan_id", String(32), nullable=False),
    Column("scanned_at", UtcDateTime, nullable=False),
    Column("findings", Text),  # JSON lines of plaintext-free findings (sources.blobcache.finding_record)
)

event = Table(
    "event", metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("token_id", String(64), ForeignKey("token.token_id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("old_status", String(32)),
    Column("new_status", String(32)),
    Column("note", Text),
    Column("scan_id", String(32)),
    Index(None, "token_id"),
)
