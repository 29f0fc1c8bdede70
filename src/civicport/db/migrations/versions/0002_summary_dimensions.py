"""datasets.summary_dimensions: the columns a dataset's summary table groups by

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Existing datasets get NULL (no summary) and keep answering every query from their rows; their
next replace builds a summary if one is worth having.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER TABLE on both databases: SQLite adds (and, since 3.35, drops) a column in
    # place, without the copy of the table a batch migration makes.
    op.add_column("datasets", sa.Column("summary_dimensions", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("datasets", "summary_dimensions")
