"""catalog: datasets and their columns

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(9), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("category", sa.Text),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("department", sa.Text),
        sa.Column("publisher", sa.Text),
        sa.Column("contact_name", sa.Text),
        sa.Column("contact_email", sa.Text),
        sa.Column("license_id", sa.Text),
        sa.Column("license_name", sa.Text),
        sa.Column("license_url", sa.Text),
        sa.Column("audience", sa.String(16), nullable=False, server_default="private"),
        sa.Column("update_frequency", sa.Text),
        sa.Column("spatial", sa.Text),
        sa.Column("temporal", sa.Text),
        sa.Column("source_link", sa.Text),
        sa.Column("attribution", sa.Text),
        sa.Column("attribution_link", sa.Text),
        sa.Column("custom_fields", sa.JSON, nullable=False),
        sa.Column("row_identifier", sa.Text),
        sa.Column("data_table", sa.Text, nullable=False),
        sa.Column("data_version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("row_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("ids_dense", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("min_row_id", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("view_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
    )
    op.create_table(
        "dataset_columns",
        sa.Column("dataset_id", sa.String(9), nullable=False),
        sa.Column("field_name", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("soda_type", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("position", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name="fk_dataset_columns_dataset_id_datasets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "field_name", name="pk_dataset_columns"),
    )


def downgrade() -> None:
    op.drop_table("dataset_columns")
    op.drop_table("datasets")
