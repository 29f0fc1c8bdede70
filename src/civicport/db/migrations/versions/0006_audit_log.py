"""audit_events: the audit log of who did what and when

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

A new table only: existing data is untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("dataset_id", sa.String(9)),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("client", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_dataset_id", "audit_events", ["dataset_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_dataset_id", table_name="audit_events")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
