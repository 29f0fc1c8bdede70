"""A dataset's summary table is written with its rows: every import leaves it in step."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_table
from civicport.catalog.store import get_dataset
from civicport.datastore.summary import summary_table_name
from civicport.soql.compiler import compile_query
from civicport.soql.params import SodaParams

COLUMNS = [("case_id", "text"), ("kind", "text"), ("days", "number"), ("open", "checkbox")]
META = DatasetMetadata(title="Service requests", audience="public")
KINDS = ("Pothole", "Graffiti", "Streetlight")
BY_KIND = SodaParams(
    select="kind, count(*) AS n, sum(days) AS total, avg(days) AS mean, max(days) AS top",
    group="kind",
    order="kind",
)


def cases(start: int, stop: int) -> list[tuple[Any, ...]]:
    return [(f"C{i}", KINDS[i % 3], i, i % 2 == 0) for i in range(start, stop)]


def answers(engine: sa.Engine, dataset_id: str, *, summaries: bool) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        schema = get_dataset(conn, dataset_id).table_schema(conn.dialect.name, summaries=summaries)
        compiled = compile_query(BY_KIND, schema)
        used = schema.summary is not None and schema.summary.table_name in compiled.sql
        assert used == summaries
        rows = conn.exec_driver_sql(compiled.sql, compiled.params).fetchall()
    return [tuple(float(v) if not isinstance(v, str) else v for v in row) for row in rows]


def assert_in_step(engine: sa.Engine, dataset_id: str) -> list[tuple[Any, ...]]:
    from_summary = answers(engine, dataset_id, summaries=True)
    from_rows = answers(engine, dataset_id, summaries=False)
    assert from_summary == [pytest.approx(row) for row in from_rows]
    return from_rows


@pytest.fixture
def created(engine, table) -> str:
    parsed = table(COLUMNS, cases(0, 120))
    return import_table(
        engine, parsed, metadata=META, dataset_id="summ-0001", row_identifier="case_id"
    ).dataset_id


def dimensions(engine: sa.Engine, dataset_id: str) -> tuple[str, ...] | None:
    with engine.connect() as conn:
        return get_dataset(conn, dataset_id).summary_dimensions


def test_create_builds_a_summary_by_the_category_columns(engine, created) -> None:
    assert dimensions(engine, created) == ("open", "kind")
    rows = assert_in_step(engine, created)
    assert [(kind, n) for kind, n, *_ in rows] == [
        ("Graffiti", 40),
        ("Pothole", 40),
        ("Streetlight", 40),
    ]


def test_append_and_upsert_keep_the_summary_in_step(engine, table, created) -> None:
    import_table(
        engine, table(COLUMNS, cases(120, 180)), metadata=None, dataset_id=created, mode="append"
    )
    assert {k: n for k, n, *_ in assert_in_step(engine, created)}["Pothole"] == 60
    changed = [("C0", "Graffiti", 1000, True), ("C500", "Pothole", 7, False)]
    import_table(engine, table(COLUMNS, changed), metadata=None, dataset_id=created, mode="upsert")
    rows = {kind: rest for kind, *rest in assert_in_step(engine, created)}
    assert rows["Pothole"][0] == 60  # C0 left, C500 came
    assert rows["Graffiti"][3] == 1000


def test_a_replace_keeps_the_summary_in_step(engine, table, created) -> None:
    with engine.connect() as conn:
        old_table = get_dataset(conn, created).data_table
    import_table(
        engine, table(COLUMNS, cases(0, 60)), metadata=None, dataset_id=created, mode="replace"
    )
    assert [n for _, n, *_ in assert_in_step(engine, created)] == [20, 20, 20]
    with engine.connect() as conn:  # same columns: applied to the same table, as a diff
        assert get_dataset(conn, created).data_table == old_table
        assert sa.inspect(conn).has_table(summary_table_name(old_table))


def test_a_summary_that_grows_too_large_is_dropped(engine, table, created) -> None:
    # 120 new kinds: one summary row per few data rows is no longer worth keeping.
    many = [(f"N{i}", f"kind {i}", i, True) for i in range(120)]
    import_table(engine, table(COLUMNS, many), metadata=None, dataset_id=created, mode="append")
    assert dimensions(engine, created) is None
    with engine.connect() as conn:
        record = get_dataset(conn, created)
        assert not sa.inspect(conn).has_table(summary_table_name(record.data_table))
    answers(engine, created, summaries=False)


def test_small_tables_get_no_summary(engine, table) -> None:
    result = import_table(engine, table(COLUMNS, cases(0, 8)), metadata=META)
    assert dimensions(engine, result.dataset_id) is None


def test_dimensions_are_sampled_in_row_order_not_index_order(engine, table) -> None:
    # 150 codes, one of them on 10,000 rows: the code index starts with 10,000 equal values,
    # but the first rows of the table show every code, too many for a dimension.
    rows = [
        (f"C{i}", "A" if i % 6 else f"code {i % 900 // 6}", i, i % 2 == 0) for i in range(12_000)
    ]
    result = import_table(engine, table(COLUMNS, rows), metadata=META)
    assert dimensions(engine, result.dataset_id) == ("open",)
