"""Organisation scans (`tokenward scan-org`): the run as a row, and each target's state and ref snapshot.

Revision ID: 0040
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create org_run and org_target."""
    op.create_table(
        "org_run",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("targets", sa.Integer, nullable=False),
        sa.Column("ruleset", sa.String(128), nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_org_run"),
    )
    op.create_table(
        "org_target",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(32), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("worker", sa.Text),
        sa.Column("scan_id", sa.String(32)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("blobs", sa.Integer),
        sa.Column("bytes", sa.BigInteger),
        sa.Column("findings", sa.Integer),
        sa.Column("tokens", sa.Integer),
        sa.Column("new_tokens", sa.Integer),
        sa.Column("seconds", sa.Float),
        sa.Column("refs", sa.Text),
        sa.Column("refs_digest", sa.String(64)),
        sa.ForeignKeyConstraint(["run_id"], ["org_run.run_id"], name="fk_org_target_run_id_org_run"),
        sa.PrimaryKeyConstraint("run_id", "target_id", name="pk_org_target"),
    )
    op.create_index("ix_org_target_target_id_state", "org_target", ["target_id", "state"])


def downgrade() -> None:
    """Drop org_target and org_run."""
    op.drop_index("ix_org_target_target_id_state", table_name="org_target")
    op.drop_table("org_target")
    op.drop_table("org_run")
