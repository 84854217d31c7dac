"""Initial inventory schema: tokens, sources, occurrences, scans, scanned blobs, append-only events.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NO_CHANGE = "event is append-only"


def _meta_and_token() -> None:
    op.create_table(
        "meta",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_meta"),
    )
    op.create_table(
        "token",
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("preview", sa.Text, nullable=False),
        sa.Column("public_id", sa.Text),
        sa.Column("confidence", sa.String(16), nullable=False),
        sa.Column("environment", sa.String(16)),
        sa.Column("privilege", sa.String(16)),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("owner", sa.Text),
        sa.Column("status", sa.String(32), nullable=False, server_default="open"),
        sa.Column("status_changed_at", TS),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("first_scan_id", sa.String(32)),
        sa.Column("last_scan_id", sa.String(32)),
        sa.Column("occurrences", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sources", sa.Integer, nullable=False, server_default="0"),
        sa.Column("source_kinds", sa.String(64), nullable=False, server_default=""),
        sa.Column("current", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("token_id", name="pk_token"),
    )
    op.create_index("ix_token_status", "token", ["status"])
    op.create_index("ix_token_provider", "token", ["provider"])


def _token_children() -> None:
    op.create_table(
        "token_rule",
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["token.token_id"], name="fk_token_rule_token_id_token"),
        sa.PrimaryKeyConstraint("token_id", "rule_id", name="pk_token_rule"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "token_public_id",
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["token.token_id"], name="fk_token_public_id_token_id_token"),
        sa.PrimaryKeyConstraint("token_id", "name", name="pk_token_public_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_token_public_id_name_value", "token_public_id", ["name", "value"])


def _sources_and_occurrences() -> None:
    op.create_table(
        "source",
        sa.Column("source_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("locator", sa.Text, nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.PrimaryKeyConstraint("source_id", name="pk_source"),
    )
    op.create_table(
        "occurrence",
        sa.Column("occurrence_id", sa.String(32), nullable=False),
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(32), nullable=False),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("origin_kind", sa.String(32), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        *[sa.Column(c, sa.Integer, nullable=False) for c in ("line", "col", "end_line", "end_col", "byte_offset")],
        sa.Column("blob_id", sa.String(64)),
        sa.Column("commit_id", sa.String(64)),
        sa.Column("author", sa.Text),
        sa.Column("author_email", sa.Text),
        sa.Column("committed_at", TS),
        sa.Column("in_head", sa.Boolean),
        sa.Column("extra", sa.Text),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("first_scan_id", sa.String(32), nullable=False),
        sa.Column("last_scan_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["token.token_id"], name="fk_occurrence_token_id_token"),
        sa.ForeignKeyConstraint(["source_id"], ["source.source_id"], name="fk_occurrence_source_id_source"),
        sa.PrimaryKeyConstraint("occurrence_id", name="pk_occurrence"),
    )
    op.create_index("ix_occurrence_token_id", "occurrence", ["token_id"])


def _scans() -> None:
    op.create_table(
        "scan",
        sa.Column("scan_id", sa.String(32), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("targets", sa.Text, nullable=False),
        sa.Column("ruleset", sa.String(64), nullable=False),
        sa.Column("rules", sa.Integer, nullable=False),
        sa.Column("tool_version", sa.String(32), nullable=False),
        sa.Column("blobs", sa.Integer),
        sa.Column("bytes", sa.BigInteger),
        *[sa.Column(c, sa.Integer) for c in ("findings", "tokens", "new_tokens", "new_occurrences", "errors")],
        sa.Column("seconds", sa.Float),
        sa.Column("suppressed", sa.Text),
        sa.Column("skipped", sa.Text),
        sa.PrimaryKeyConstraint("scan_id", name="pk_scan"),
    )
    op.create_index("ix_scan_status", "scan", ["status"])
    op.create_table(
        "scanned_blob",
        sa.Column("source_id", sa.String(32), nullable=False),
        sa.Column("ruleset", sa.String(128), nullable=False),
        sa.Column("blob_id", sa.String(64), nullable=False),
        sa.Column("scan_id", sa.String(32), nullable=False),
        sa.Column("scanned_at", TS, nullable=False),
        sa.Column("findings", sa.Text),
        sa.PrimaryKeyConstraint("source_id", "ruleset", "blob_id", name="pk_scanned_blob"),
    )


def _events() -> None:
    op.create_table(
        "event",
        sa.Column("event_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("old_status", sa.String(32)),
        sa.Column("new_status", sa.String(32)),
        sa.Column("note", sa.Text),
        sa.Column("scan_id", sa.String(32)),
        sa.ForeignKeyConstraint(["token_id"], ["token.token_id"], name="fk_event_token_id_token"),
        sa.PrimaryKeyConstraint("event_id", name="pk_event"),
    )
    op.create_index("ix_event_token_id", "event", ["token_id"])
    _append_only()


def _append_only() -> None:
    # The audit trail is enforced by the database itself, not only by the code that writes it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN RAISE EXCEPTION '{NO_CHANGE}'; END $$")
        op.execute("CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event "
                   "FOR EACH ROW EXECUTE FUNCTION event_append_only()")
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER event_no_{action.lower()} BEFORE {action} ON event "
                   f"BEGIN SELECT RAISE(ABORT, '{NO_CHANGE}'); END")


def upgrade() -> None:
    """Create the whole schema."""
    _meta_and_token()
    _token_children()
    _sources_and_occurrences()
    _scans()
    _events()


def downgrade() -> None:
    """Drop everything (there is no older schema)."""
    for name in ("event", "scanned_blob", "scan", "occurrence", "source", "token_public_id", "token_rule",
                 "token", "meta"):
        op.drop_table(name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS event_append_only()")
