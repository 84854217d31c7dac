"""Users, API keys (argon2id hashes) and browser sessions of the served dashboard (`tokenward serve`).

Revision ID: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create web_user and web_session."""
    op.create_table(
        "web_user",
        sa.Column("user_id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("user_id", name="pk_web_user"),
    )
    op.create_index("ix_web_user_name", "web_user", ["name"], unique=True)
    op.create_index("ix_web_user_key_id", "web_user", ["key_id"], unique=True)
    op.create_table(
        "web_session",
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name="pk_web_session"),
        sa.ForeignKeyConstraint(["user_id"], ["web_user.user_id"], name="fk_web_session_user_id_web_user"),
    )
    op.create_index("ix_web_session_user_id", "web_session", ["user_id"])


def downgrade() -> None:
    """Drop web_session and web_user."""
    op.drop_table("web_session")
    op.drop_table("web_user")
