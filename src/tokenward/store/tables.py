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

source_cursor = Table(
    "source_cursor", metadata,
    Column("source", Text, primary_key=True),  # a live source: scheme://host (slack://acme, s3://bucket)
    Column("stream", Text, primary_key=True),  # within it: a channel id, a prefix, a JQL query, an image tag
    Column("cursor", Text, nullable=False),  # where the next incremental read starts (ts, updated, digest…)
    Column("scan_id", String(32)),  # the scan that read up to here
    Column("updated_at", UtcDateTime, nullable=False),
)

# -- the served dashboard (tokenward serve): users, their API keys (hashed) and browser sessions --------------

ROLES = ("read", "triage", "admin")

web_user = Table(
    "web_user", metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("key_id", String(16), nullable=False),  # the public half of the API key: finds the row to verify
    Column("key_hash", Text, nullable=False),  # argon2id of the whole key; the key itself is never stored
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Index(None, "name", unique=True),
    Index(None, "key_id", unique=True),
)

web_session = Table(
    "web_session", metadata,
    Column("session_hash", String(64), primary_key=True),  # sha256 of the cookie value (never the value)
    Column("user_id", Integer, ForeignKey("web_user.user_id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "user_id"),
)

# -- organisation scans (tokenward scan-org): a run of many repositories, each target's state and refs ------

ORG_RUN_STATUSES = ("running", "complete", "failed")
ORG_TARGET_STATES = ("pending", "running", "done", "failed", "skipped")

org_run = Table(
    "org_run", metadata,
    Column("run_id", String(32), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("status", String(16), nullable=False),
    Column("actor", Text, nullable=False),
    Column("targets", Integer, nullable=False),
    Column("ruleset", String(128), nullable=False),  # the cache key: rule-set digest and fingerprint key check
    Column("options", Text, nullable=False),  # JSON: what --resume needs to submit the same tasks again
)

org_target = Table(
    "org_target", metadata,
    Column("run_id", String(32), ForeignKey("org_run.run_id"), primary_key=True),
    Column("target_id", String(32), primary_key=True),  # digest of the target (a URL or an absolute path)
    Column("target", Text, nullable=False),
    Column("position", Integer, nullable=False),  # order in the run's target list
    Column("state", String(16), nullable=False),
    Column("reason", Text),  # why it failed or was skipped
    Column("attempts", Integer, nullable=False),
    Column("worker", Text),  # the Dask worker that last ran it
    Column("scan_id", String(32)),  # the inventory scan record of this target's scan
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("blobs", Integer),
    Column("bytes", BigInteger),
    Column("findings", Integer),
    Column("tokens", Integer),
    Column("new_tokens", Integer),
    Column("seconds", Float),
    Column("refs", Text),  # JSON {ref: commit} as listed before the fetch (never newer than what was scanned)
    Column("refs_digest", String(64)),
    Index(None, "target_id", "state"),  # the last finished snapshot of a target, across runs
)

# -- credential rotation (tokenward rotate): one row per dual-phase rotation, its state and non-secret refs ----

ROTATION_STATES = ("planned", "new-issued", "consumers-switched", "old-revoked", "rolled-back", "failed")

rotation = Table(
    "rotation", metadata,
    Column("rotation_id", String(32), primary_key=True),
    Column("token_id", String(64), ForeignKey("token.token_id"), nullable=False),
    Column("backend", String(32), nullable=False),  # openbao-kv | openbao-db | aws-iam
    Column("target", Text, nullable=False),  # where the secret lives (mount/path#field, secret id…), never a value
    Column("state", String(32), nullable=False),
    Column("old_ref", Text),  # the credential being replaced: KV version, lease id, access key id (public)
    Column("new_ref", Text),  # the replacement, same kinds of reference
    Column("overlap_seconds", Integer, nullable=False),  # both credentials work this long after the switch
    Column("grace_seconds", Integer, nullable=False),  # a revoked-but-kept credential (AWS Inactive) is deleted after
    Column("actor", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("switched_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("purged_at", UtcDateTime),
    Column("reason", Text),  # why it rolled back or failed
    Index(None, "token_id", "state"),
)

# -- usage monitoring state (tokenward monitor): baselines, read offsets, alerts, identities -------------

usage_profile = Table(
    "usage_profile", metadata,
    Column("token_id", String(64), primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
usage_file = Table(
    "usage_file", metadata,
    Column("file_id", Integer, primary_key=True, autoincrement=True),
    Column("head_hash", String(64), nullable=False),
    Column("head_len", Integer, nullable=False),
    Column("first_hash", String(64), nullable=False),
    Column("device", BigInteger, nullable=False),
    Column("inode", BigInteger, nullable=False),
    Column("path", Text, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "first_hash"),
    Index(None, "device", "inode"),
)
usage_alert = Table(
    "usage_alert", metadata,
    Column("alert_id", String(16), primary_key=True),
    Column("token_id", String(64), nullable=False),
    Column("detector", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("key", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
    Column("count", Integer, nullable=False),
    Column("data", Text, nullable=False),
    Index(None, "token_id"),
)
usage_ident = Table(
    "usage_ident", metadata,
    Column("kind", String(32), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column("token_id", String(64), nullable=False),
)
usage_token = Table(
    "usage_token", metadata,
    Column("token_id", String(64), primary_key=True),
    Column("declared", Boolean, nullable=False),
    Column("honeytoken", Boolean, nullable=False),
    Column("granted", Text),  # comma-separated scopes or actions granted (import, verification, logs)
    Column("note", Text),
)
usage_violation = Table(
    "usage_violation", metadata,
    Column("token_id", String(64), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("preview", Text, nullable=False),
    Column("where", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("first_at", UtcDateTime, nullable=False),
)

# -- what importers report (declared tokens: manifest, providers, secrets managers) — never a secret ----

declared_token = Table(
    "declared_token", metadata,
    Column("origin", String(32), primary_key=True),
    Column("external_id", String(512), primary_key=True),
    Column("source", Text, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("provider", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("token_id", String(64)),
    Column("public_ids", Text, nullable=False),
    Column("links", Text, nullable=False),
    Column("name", Text), Column("service", Text), Column("function", Text), Column("owner", Text),
    Column("purpose", String(16)),
    Column("allowed_scopes", Text),
    Column("scopes", Text, nullable=False),
    Column("max_age_days", Integer),
    Column("storage", Text), Column("environment", String(32)), Column("privilege", String(16)),
    Column("created_at", UtcDateTime), Column("expires_at", UtcDateTime), Column("last_used_at", UtcDateTime),
    Column("last_used_detail", Text),
    Column("active", Boolean),
    Column("location", Text), Column("preview", Text), Column("line", Integer),
    Column("details", Text, nullable=False),
    Index("ix_declared_token_token_id", "token_id"),
)

import_run = Table(
    "import_run", metadata,
    Column("origin", String(32), primary_key=True),
    Column("source", Text, primary_key=True),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("records", Integer, nullable=False),
    Column("notes", Text, nullable=False),
)
