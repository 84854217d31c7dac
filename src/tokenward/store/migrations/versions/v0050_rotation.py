"""Credential rotation (`tokenward rotate`): one row per dual-phase rotation with its persisted state.

Revision ID: 0050
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create rotation."""
    op.create_table(
        "rotation",
        sa.Column("rotation_id", sa.String(32), nullable=False),
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("old_ref", sa.Text),
        sa.Column("new_ref", sa.Text),
        sa.Column("overlap_seconds", sa.Integer, nullable=False),
        sa.Column("grace_seconds", sa.Integer, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("switched_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("purged_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text),
        sa.ForeignKeyConstraint(["token_id"], ["token.token_id"], name="fk_rotation_token_id_token"),
        sa.PrimaryKeyConstraint("rotation_id", name="pk_rotation"),
    )
    op.create_index("ix_rotation_token_id_state", "rotation", ["token_id", "state"])


def downgrade() -> None:
    """Drop rotation."""
    op.drop_index("ix_rotation_token_id_state", table_name="rotation")
    op.drop_table("rotation")
