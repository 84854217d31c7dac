"""Live-source cursors: where each stream (Slack channel, S3 prefix, JQL query, image tag) was read up to.

Revision ID: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create source_cursor."""
    op.create_table(
        "source_cursor",
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("stream", sa.Text, nullable=False),
        sa.Column("cursor", sa.Text, nullable=False),
        sa.Column("scan_id", sa.String(32)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "stream", name="pk_source_cursor"),
    )


def downgrade() -> None:
    """Drop source_cursor."""
    op.drop_table("source_cursor")
