"""publishing: dataset owners and collaborators, approvers, drafts, privacy findings and decisions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

Adds two nullable or defaulted columns (datasets.owner_id, users.can_approve) and new tables:
existing datasets keep their rows and metadata, have no owner (their department's publishers
and the admins manage them) and no recorded findings until their next scan.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _dataset_key() -> sa.Column[str]:
    return sa.Column(
        "dataset_id",
        sa.String(9),
        sa.ForeignKey("datasets.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.add_column("datasets", sa.Column("owner_id", sa.Integer))
    op.add_column(
        "users",
        sa.Column("can_approve", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "dataset_collaborators",
        _dataset_key(),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.PrimaryKeyConstraint("dataset_id", "user_id", name="pk_dataset_collaborators"),
    )
    op.create_index("ix_dataset_collaborators_user_id", "dataset_collaborators", ["user_id"])
    op.create_table(
        "dataset_drafts",
        _dataset_key(),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("metadata", sa.JSON),
        sa.Column("data_table", sa.Text),
        sa.Column("columns", sa.JSON),
        sa.Column("data_state", sa.JSON),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("dataset_id", name="pk_dataset_drafts"),
    )
    op.create_table(
        "privacy_findings",
        _dataset_key(),
        sa.Column("field_name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "field_name", "kind", name="pk_privacy_findings"),
    )
    op.create_table(
        "privacy_decisions",
        _dataset_key(),
        sa.Column("field_name", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kinds", sa.JSON, nullable=False, server_default="[]"),
        sa.Column("salt", sa.Text, nullable=False),
        sa.Column("applied", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("dataset_id", "field_name", name="pk_privacy_decisions"),
    )


def downgrade() -> None:
    op.drop_table("privacy_decisions")
    op.drop_table("privacy_findings")
    op.drop_table("dataset_drafts")
    op.drop_index("ix_dataset_collaborators_user_id", table_name="dataset_collaborators")
    op.drop_table("dataset_collaborators")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("can_approve")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("owner_id")
