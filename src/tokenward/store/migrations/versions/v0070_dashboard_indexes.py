"""Dashboard speed: token.severity_rank (generated from severity) and one index per inventory sort.

The served inventory sorts 10^5 tokens by severity (a rank), dates, provider, status, owner or occurrence
count, then newest first, then token id. Each sort gets an index in that order, so a page is an index walk
instead of a sort of the whole table; the provider and status indexes become those sort indexes. The
event table gets (action, token_id, event_id) for the newest verdict per token. No row is changed; the new
column is the database's to compute from severity, for existing rows and for every writer after.

Revision ID: 0070
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0070"
down_revision = "0060"
branch_labels = None
depends_on = None

# Written out here, not imported from tables.py: a migration must not change when the code does.
SEVERITIES = ("critical", "high", "medium", "low")
SORTS = ("severity_rank", "first_seen", "provider", "status", "occurrences")


RANK = "CASE severity {} ELSE {} END".format(" ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITIES)),
                                              len(SEVERITIES))


def upgrade() -> None:
    """Add the generated severity_rank; build the sort indexes; drop the indexes they replace."""
    # SQLite adds only a VIRTUAL generated column to a table with rows (its index stores the values);
    # PostgreSQL computes a STORED one for every existing row here
    stored = op.get_bind().dialect.name == "postgresql"
    op.add_column("token", sa.Column("severity_rank", sa.Integer, sa.Computed(RANK, persisted=stored)))
    newest = sa.text("last_seen DESC")
    for name in SORTS:
        op.create_index(f"ix_token_{name}_sort", "token", [sa.text(name), newest, sa.text("token_id")])
    op.create_index("ix_token_owner_sort", "token",
                    [sa.text("coalesce(owner, '')"), newest, sa.text("token_id"), sa.text("owner")])
    op.create_index("ix_token_last_seen_sort", "token", ["last_seen", "token_id"])
    op.drop_index("ix_token_status", table_name="token")
    op.drop_index("ix_token_provider", table_name="token")
    op.create_index("ix_event_action_token_id_event_id", "event", ["action", "token_id", "event_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE token")  # the planner picks among seven indexes: give it statistics now
        op.execute("ANALYZE event")


def downgrade() -> None:
    """Back to 0060's indexes and columns."""
    op.drop_index("ix_event_action_token_id_event_id", table_name="event")
    op.create_index("ix_token_provider", "token", ["provider"])
    op.create_index("ix_token_status", "token", ["status"])
    for name in (*SORTS, "owner", "last_seen"):
        op.drop_index(f"ix_token_{name}_sort", table_name="token")
    op.drop_column("token", "severity_rank")
