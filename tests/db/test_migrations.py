"""Migrations upgrade a database that already holds datasets without losing any of it."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_table
from civicport.catalog.store import get_dataset
from civicport.db.migrate import alembic_config, upgrade
from civicport.db.schema import metadata
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.soql.compiler import compile_query
from civicport.soql.params import SodaParams


def test_upgrade_from_0001_keeps_datasets_and_rows(engine) -> None:
    columns = [ColumnSpec("kind", "Kind", "text"), ColumnSpec("days", "Days", "number")]
    rows = [(("Pothole", "Graffiti")[i % 2], i) for i in range(100)]
    table = ParsedTable(columns=columns, rows=iter(rows))
    meta = DatasetMetadata(title="Requests", audience="public")
    import_table(engine, table, metadata=meta, dataset_id="migr-0001")
    # Back to the first schema, as a database from before summaries would be...
    command.downgrade(alembic_config(engine), "0001")
    # ...and forward again.
    upgrade(engine)

    with engine.connect() as conn:
        record = get_dataset(conn, "migr-0001")
        assert record.charts == ()  # 0003: no saved charts before it existed
        assert (record.title, record.row_count, record.summary_dimensions) == (
            "Requests",
            100,
            None,
        )
        params = SodaParams(select="kind, count(*) AS n, sum(days) AS total", group="kind")
        compiled = compile_query(params, record.table_schema(conn.dialect.name))
        answer = sorted(tuple(r) for r in conn.exec_driver_sql(compiled.sql, compiled.params))
    assert [(kind, n, int(total)) for kind, n, total in answer] == [
        ("Graffiti", 50, 2500),
        ("Pothole", 50, 2450),
    ]


def test_migrations_build_the_schema_the_code_declares(engine) -> None:
    # Tables, columns and indexes (types vary by dialect and are left to the migrations).
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    assert differences == []
