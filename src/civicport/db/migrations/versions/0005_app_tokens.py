"""app_tokens: the tokens developers register to read the API above the anonymous limit

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

A new table only: existing data is untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_tokens",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("app_name", sa.Text, nullable=False),
        sa.Column("contact_email", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("token", name="pk_app_tokens"),
    )


def downgrade() -> None:
    op.drop_table("app_tokens")
