"""automation: dataset versions, sources and schedules, sync runs, load rules

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

New tables, and two nullable columns on datasets. Every existing dataset gets its first
version, describing the rows it holds now (they were all stamped by its last load), so it can
be rolled back to once newer loads arrive.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civicport.datastore.history import create_history_table
from civicport.datastore.tables import ColumnSchema

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("datasets", sa.Column("load_rules", sa.JSON))
    op.add_column("datasets", sa.Column("overdue_alerted_at", sa.DateTime(timezone=True)))
    versions = op.create_table(
        "dataset_versions",
        sa.Column(
            "dataset_id",
            sa.String(9),
            sa.ForeignKey("datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("made_by", sa.Text, nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("rows_added", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rows_changed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rows_removed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("data_table", sa.Text, nullable=False),
        sa.Column("history_table", sa.Text, nullable=False),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("row_identifier", sa.Text),
        sa.Column("detail", sa.JSON, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("dataset_id", "version", name="pk_dataset_versions"),
    )
    op.create_table(
        "dataset_sources",
        sa.Column(
            "dataset_id",
            sa.String(9),
            sa.ForeignKey("datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("query", sa.Text),
        sa.Column("headers", sa.JSON, nullable=False, server_default="{}"),
        sa.Column("options", sa.JSON, nullable=False, server_default="{}"),
        sa.Column("schedule", sa.Text),
        sa.Column("mode", sa.String(16), nullable=False, server_default="replace"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("next_run_at", sa.DateTime(timezone=True)),
        sa.Column("webhook_url", sa.Text),
        sa.Column("max_attempts", sa.Integer, nullable=False, server_default="3"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", name="pk_dataset_sources"),
    )
    op.create_index("ix_dataset_sources_next_run_at", "dataset_sources", ["next_run_at"])
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("dataset_id", sa.String(9)),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("rows_added", sa.BigInteger),
        sa.Column("rows_changed", sa.BigInteger),
        sa.Column("rows_removed", sa.BigInteger),
        sa.Column("version", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("warnings", sa.JSON, nullable=False, server_default="[]"),
        sa.Column("worker", sa.Text),
        sa.Column("job", sa.JSON, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
    )
    op.create_index("ix_sync_runs_dataset_id", "sync_runs", ["dataset_id"])
    op.create_index("ix_sync_runs_status", "sync_runs", ["status"])
    _first_versions(versions)


def _first_versions(versions: sa.Table) -> None:
    """Version N (the dataset's data_version) for each existing dataset, as its rows are now,
    and the (empty) history table its next writes fill."""
    conn = op.get_bind()
    datasets = sa.table(
        "datasets",
        *(sa.column(n) for n in ("id", "data_version", "row_count")),
        sa.column("data_updated_at", sa.DateTime(timezone=True)),
        sa.column("data_table"),
        sa.column("row_identifier"),
    )
    columns = sa.table(
        "dataset_columns",
        *(sa.column(n) for n in ("dataset_id", "field_name", "display_name", "soda_type")),
        sa.column("description"),
        sa.column("position"),
    )
    described: dict[str, list[dict[str, object]]] = {}
    for row in conn.execute(sa.select(columns).order_by(columns.c.position)).mappings():
        described.setdefault(row["dataset_id"], []).append(
            {k: row[k] for k in ("field_name", "display_name", "soda_type", "description")}
            | {"position": row["position"]}
        )
    for row in conn.execute(sa.select(datasets)).mappings():
        schema = [
            ColumnSchema(c["field_name"], str(c["soda_type"])) for c in described.get(row["id"], [])
        ]
        create_history_table(conn, row["data_table"], schema)
        op.bulk_insert(
            versions,
            [
                {
                    "dataset_id": row["id"],
                    "version": row["data_version"],
                    "made_at": row["data_updated_at"],
                    "made_by": "migration",
                    "operation": "create",
                    "row_count": row["row_count"],
                    "data_table": row["data_table"],
                    "history_table": row["data_table"] + "_h",
                    "columns": described.get(row["id"], []),
                    "row_identifier": row["row_identifier"],
                    "rows_added": row["row_count"],
                    "detail": {},
                }
            ],
        )


def downgrade() -> None:
    # History tables stay (unused by older code, harmless); their rows are the only copy of the
    # superseded data, so a downgrade keeps them.
    op.drop_index("ix_sync_runs_status", table_name="sync_runs")
    op.drop_index("ix_sync_runs_dataset_id", table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_index("ix_dataset_sources_next_run_at", table_name="dataset_sources")
    op.drop_table("dataset_sources")
    op.drop_table("dataset_versions")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("overdue_alerted_at")
        batch.drop_column("load_rules")
