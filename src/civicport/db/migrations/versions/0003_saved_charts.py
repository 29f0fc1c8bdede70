"""datasets.charts: charts a publisher saves with a dataset

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Existing datasets get an empty list: no saved charts, the same pages as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("datasets", sa.Column("charts", sa.JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    op.drop_column("datasets", "charts")
