"""datasets.charts: charts a publisher saves with a dataset; an index on column types

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Existing datasets get an empty list: no saved charts, the same pages as before. The index on
dataset_columns.soda_type lets the catalog find its "map" datasets without scanning every column.
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
    op.create_index("ix_dataset_columns_soda_type", "dataset_columns", ["soda_type"])


def downgrade() -> None:
    op.drop_index("ix_dataset_columns_soda_type", table_name="dataset_columns")
    op.drop_column("datasets", "charts")
