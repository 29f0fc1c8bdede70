"""catalog.service imports on both backends: create, replace, append, upsert, and failures."""

from __future__ import annotations

import datetime as dt
import gc
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from civicport.catalog.browse import CatalogQuery, search_catalog
from civicport.catalog.records import DatasetMetadata, SavedChart
from civicport.catalog.service import import_file, import_table
from civicport.catalog.store import get_dataset
from civicport.errors import Conflict, InvalidUpload, NotFound
from civicport.ingest.reader import read_file

COLUMNS = [("case_id", "text"), ("kind", "text"), ("days", "number"), ("open", "checkbox")]
META = DatasetMetadata(title="Service requests", tags=("311",), audience="public")


def cases(start: int, stop: int, kind: str = "Pothole") -> list[tuple[Any, ...]]:
    return [(f"C{i}", kind, i, i % 2 == 0) for i in range(start, stop)]


@pytest.fixture
def created(engine, table) -> str:
    """A 3-row dataset abcd-1234 identified by case_id."""
    parsed = table(COLUMNS, cases(1, 4))
    return import_table(
        engine, parsed, metadata=META, dataset_id="abcd-1234", row_identifier="case_id"
    ).dataset_id


def get(engine, dataset_id):
    with engine.connect() as conn:
        return get_dataset(conn, dataset_id)


def test_create_stores_rows_catalog_and_columns(engine, table, rows_of):
    parsed = table(
        COLUMNS + [("opened", "floating_timestamp"), ("where", "point")],
        [
            (
                "C1",
                "Pothole",
                Decimal("2.5"),
                True,
                dt.datetime(2024, 1, 2, 3, 4, 5),
                (-72.6, 41.7),
            ),
            ("C2", None, 7, False, None, None),
        ],
    )
    seen: list[int] = []
    result = import_table(engine, parsed, metadata=META, progress=seen.append)

    assert result.mode == "create"
    assert result.rows_created == 2
    assert result.row_count == 2
    assert seen == [2]
    record = get(engine, result.dataset_id)
    assert record.title == "Service requests"
    assert record.tags == ("311",)
    assert record.audience == "public"
    assert record.data_version == 1
    assert (record.row_count, record.ids_dense, record.min_row_id) == (2, True, 1)
    assert [c.field_name for c in record.columns] == [
        "case_id",
        "kind",
        "days",
        "open",
        "opened",
        "where",
    ]
    assert record.columns[1].display_name == "Kind"
    assert record.columns[5].position == 5
    assert record.created_at.tzinfo is not None
    assert abs(record.data_updated_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    schema = record.table_schema(engine.dialect.name)
    assert (
        schema.table_name == record.data_table == "d_" + result.dataset_id.replace("-", "_") + "_g1"
    )
    assert schema.fts_table == record.data_table + "_fts"

    first, second = rows_of(result.dataset_id)
    assert first["_id"] == 1
    assert second["_id"] == 2
    assert float(first["days"]) == 2.5
    assert bool(first["open"]) is True
    assert (first["where__lon"], first["where__lat"]) == (-72.6, 41.7)
    assert second["kind"] is None
    assert second["where__lat"] is None
    if engine.dialect.name == "sqlite":
        assert first["opened"] == "2024-01-02T03:04:05.000"
        assert first["_created_at"].endswith("Z")
        assert first["_created_at"] == first["_updated_at"]


def test_create_with_taken_or_malformed_id_is_refused(engine, table, created, data_tables):
    before = data_tables()
    with pytest.raises(Conflict, match="abcd-1234"):
        import_table(engine, table(COLUMNS, cases(1, 2)), metadata=META, dataset_id="abcd-1234")
    with pytest.raises(InvalidUpload, match="not a dataset id"):
        import_table(engine, table(COLUMNS, cases(1, 2)), metadata=META, dataset_id="ABCD-12")
    assert data_tables() == before
    assert get(engine, created).row_count == 3


@pytest.mark.parametrize(
    ("columns", "metadata", "message"),
    [
        (COLUMNS, DatasetMetadata(title="  "), "title"),
        (COLUMNS, DatasetMetadata(title="x", audience="everyone"), "audience"),
        ([("a", "text"), ("a", "text")], META, "repeated"),
        ([("_id", "number")], META, "reserved"),
        ([("a", "money")], META, "unknown type"),
    ],
)
def test_create_rejects_bad_metadata_and_columns(engine, table, columns, metadata, message):
    with pytest.raises(InvalidUpload, match=message):
        import_table(engine, table(columns, []), metadata=metadata)


def test_create_with_duplicate_row_identifier_names_both_rows(engine, table, data_tables):
    rows = cases(1, 5) + [("C2", "Graffiti", 9, True)]
    with pytest.raises(InvalidUpload, match=r"'C2' in rows 2 and 5"):
        import_table(engine, table(COLUMNS, rows), metadata=META, row_identifier="case_id")
    assert data_tables() == set()


def test_replace_swaps_rows_and_schema(engine, table, created, rows_of, data_tables):
    old = get(engine, created)
    parsed = table([("case_id", "text"), ("status", "text")], [("N1", "Open"), ("N2", "Closed")])

    result = import_table(engine, parsed, metadata=None, dataset_id=created, mode="replace")

    assert (result.rows_created, result.rows_deleted, result.row_count) == (2, 3, 2)
    new = get(engine, created)
    assert new.data_version == old.data_version + 1
    assert new.data_table != old.data_table
    assert [c.field_name for c in new.columns] == ["case_id", "status"]
    assert new.row_identifier == "case_id"
    # ids continue after the old ones so no `:id` is ever reused for another row
    assert [(r["_id"], r["status"]) for r in rows_of(created)] == [(4, "Open"), (5, "Closed")]
    assert (new.min_row_id, new.ids_dense) == (4, True)
    # The old columns' table stays for the version made in it, until pruning.
    assert old.data_table in data_tables()
    assert new.data_table in data_tables()


def test_append_continues_ids(engine, table, created, rows_of):
    result = import_table(
        engine, table(COLUMNS, cases(4, 6)), metadata=None, dataset_id=created, mode="append"
    )
    assert (result.rows_created, result.row_count) == (2, 5)
    record = get(engine, created)
    assert (record.row_count, record.ids_dense, record.data_version) == (5, True, 2)
    assert [r["_id"] for r in rows_of(created)] == [1, 2, 3, 4, 5]
    assert rows_of(created)[-1]["case_id"] == "C5"


def test_append_with_a_subset_of_columns_leaves_the_rest_null(engine, table, created, rows_of):
    import_table(
        engine,
        table([("kind", "text")], [("Graffiti",)]),
        metadata=None,
        dataset_id=created,
        mode="append",
    )
    last = rows_of(created)[-1]
    assert (last["kind"], last["case_id"], last["days"]) == ("Graffiti", None, None)


@pytest.mark.parametrize(
    ("columns", "message"),
    [([("color", "text")], "not in dataset"), ([("days", "text")], "number in dataset")],
)
def test_append_rejects_columns_that_do_not_fit(engine, table, created, columns, message):
    with pytest.raises(InvalidUpload, match=message):
        import_table(
            engine, table(columns, [("x",)]), metadata=None, dataset_id=created, mode="append"
        )
    assert get(engine, created).data_version == 1


def test_append_to_unknown_dataset_is_not_found(engine, table):
    with pytest.raises(NotFound, match="Dataset 'zzzz-9999' not found"):
        import_table(
            engine,
            table(COLUMNS, cases(1, 2)),
            metadata=None,
            dataset_id="zzzz-9999",
            mode="append",
        )


def test_upsert_updates_existing_and_inserts_new(engine, table, created, rows_of):
    before = {r["case_id"]: r for r in rows_of(created)}
    upload = table([("case_id", "text"), ("days", "number")], [("C2", 20), ("C9", 90), ("C1", 10)])
    result = import_table(engine, upload, metadata=None, dataset_id=created, mode="upsert")

    assert (result.rows_created, result.rows_updated, result.rows_deleted) == (1, 2, 0)
    assert result.row_count == 4
    after = {r["case_id"]: r for r in rows_of(created)}
    assert int(after["C2"]["days"]) == 20
    assert after["C2"]["kind"] == "Pothole"
    assert int(after["C3"]["days"]) == 3
    assert after["C9"]["_id"] == 4
    assert after["C9"]["kind"] is None
    assert after["C2"]["_created_at"] == before["C2"]["_created_at"]
    assert after["C2"]["_updated_at"] >= before["C2"]["_updated_at"]
    assert after["C3"]["_updated_at"] == before["C3"]["_updated_at"]
    record = get(engine, created)
    assert (record.row_count, record.data_version, record.ids_dense) == (4, 2, True)


def test_upsert_with_duplicate_identifiers_applies_nothing(engine, table, created, rows_of):
    before = rows_of(created)
    upload = table(COLUMNS, [("C1", "a", 1, True), ("C7", "b", 2, True), ("C1", "c", 3, True)])
    with pytest.raises(InvalidUpload, match=r"'C1' in rows 1 and 3") as raised:
        import_table(engine, upload, metadata=None, dataset_id=created, mode="upsert")
    assert raised.value.data["blocking"] == ["Row identifier case_id repeats: 'C1' in rows 1 and 3"]
    assert rows_of(created) == before
    assert get(engine, created).data_version == 1


def test_upsert_without_identifier_value_is_refused(engine, table, created):
    upload = table(COLUMNS, [("C1", "a", 1, True), (None, "b", 2, True)])
    with pytest.raises(InvalidUpload, match="Row 2 has no value") as raised:
        import_table(engine, upload, metadata=None, dataset_id=created, mode="upsert")
    assert raised.value.code == "soda.row.primary-key-nonexistent-or-null"


def test_upsert_declares_a_row_identifier_when_the_dataset_has_none(engine, table, rows_of):
    dataset_id = import_table(engine, table(COLUMNS, cases(1, 3)), metadata=META).dataset_id
    upload = table(COLUMNS, [("C2", "Graffiti", 5, False)])
    with pytest.raises(InvalidUpload, match="no row identifier"):
        import_table(engine, upload, metadata=None, dataset_id=dataset_id, mode="upsert")

    upload = table(COLUMNS, [("C2", "Graffiti", 5, False)])
    result = import_table(
        engine,
        upload,
        metadata=None,
        dataset_id=dataset_id,
        mode="upsert",
        row_identifier="case_id",
    )
    assert (result.rows_created, result.rows_updated) == (0, 1)
    assert get(engine, dataset_id).row_identifier == "case_id"
    assert [r["kind"] for r in rows_of(dataset_id)] == ["Pothole", "Graffiti"]


def _failing_rows(count: int, fail_at: int) -> Iterator[tuple[Any, ...]]:
    for i, row in enumerate(cases(1, count + 1), start=1):
        if i == fail_at:
            raise InvalidUpload(f"Row {i}: cannot read 'days'")
        yield row


@pytest.mark.parametrize("mode", ["replace", "append", "upsert"])
def test_failure_mid_load_leaves_dataset_as_before(
    engine, table, created, rows_of, data_tables, mode
):
    before_rows, before_tables = rows_of(created), data_tables()
    before = get(engine, created)
    parsed = table(COLUMNS, _failing_rows(10_000, 5_000))
    with pytest.raises(InvalidUpload, match="Row 5000"):
        import_table(engine, parsed, metadata=None, dataset_id=created, mode=mode)
    assert rows_of(created) == before_rows
    assert get(engine, created) == before
    assert data_tables() == before_tables


def test_failure_mid_create_leaves_nothing(engine, table, data_tables):
    parsed = table(COLUMNS, _failing_rows(10_000, 5_000))
    with pytest.raises(InvalidUpload):
        import_table(engine, parsed, metadata=META, dataset_id="fail-0001")
    with pytest.raises(NotFound):
        get(engine, "fail-0001")
    assert data_tables() == set()


def test_readers_see_all_old_or_all_new_rows_during_replace(engine, table, created):
    import_table(
        engine,
        table(COLUMNS, cases(1, 3001, "old")),
        metadata=None,
        dataset_id=created,
        mode="replace",
    )
    seen: set[tuple[int, str, str]] = set()
    done = threading.Event()

    def read_until_done() -> None:
        while not done.is_set():
            with engine.connect() as conn:
                data_table = get_dataset(conn, created).data_table
                try:
                    count, low, high = conn.exec_driver_sql(
                        f'SELECT count(*), min(kind), max(kind) FROM "{data_table}"'
                    ).one()
                except sa.exc.DBAPIError:
                    # The old table was dropped between reading the catalog and the rows;
                    # a reader retries with the new pointer.
                    continue
            seen.add((count, low, high))

    reader = threading.Thread(target=read_until_done)
    reader.start()
    try:
        for _ in range(3):
            for kind, count in (("new", 5000), ("old", 3000)):
                import_table(
                    engine,
                    table(COLUMNS, cases(1, count + 1, kind)),
                    metadata=None,
                    dataset_id=created,
                    mode="replace",
                )
    finally:
        done.set()
        reader.join()
    assert seen <= {(3000, "old", "old"), (5000, "new", "new")}
    assert len(seen) == 2, "the reader should have seen both versions"


def _fts_ids(engine, dataset_id: str, word: str) -> list[int]:
    with engine.connect() as conn:
        record = get_dataset(conn, dataset_id)
        t = record.data_table
        if engine.dialect.name == "sqlite":
            sql = f'SELECT rowid FROM "{t}_fts" WHERE "{t}_fts" MATCH :w ORDER BY rowid'
        else:
            from civicport.datastore.fulltext import pg_document

            text_columns = [c.field_name for c in record.columns if c.soda_type == "text"]
            sql = (
                f'SELECT _id FROM "{t}" WHERE {pg_document(text_columns)} '
                f"@@ plainto_tsquery('english', :w) ORDER BY _id"
            )
        return list(conn.execute(sa.text(sql), {"w": word}).scalars())


def test_full_text_index_follows_create_append_and_upsert(engine, table, created):
    assert _fts_ids(engine, created, "potholes") == [1, 2, 3]  # stemmed
    import_table(
        engine,
        table(COLUMNS, [("C4", "Broken streetlight", 4, True)]),
        metadata=None,
        dataset_id=created,
        mode="append",
    )
    assert _fts_ids(engine, created, "broken") == [4]
    import_table(
        engine,
        table([("case_id", "text"), ("kind", "text")], [("C1", "Broken sign")]),
        metadata=None,
        dataset_id=created,
        mode="upsert",
    )
    assert _fts_ids(engine, created, "broken") == [1, 4]
    assert _fts_ids(engine, created, "pothole") == [2, 3]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            t = get_dataset(conn, created).data_table
            names = set(
                conn.exec_driver_sql(
                    f"SELECT indexname FROM pg_indexes WHERE tablename = '{t}'"
                ).scalars()
            )
        assert f"{t}_fts" in names


def test_unknown_mode_and_missing_id_are_refused(engine, table):
    with pytest.raises(InvalidUpload, match="Unknown import mode"):
        import_table(engine, table(COLUMNS, []), metadata=META, mode="merge")
    with pytest.raises(InvalidUpload, match="needs the id"):
        import_table(engine, table(COLUMNS, []), metadata=None, mode="append")


def test_import_file_reads_a_csv_end_to_end(engine, tmp_path, rows_of):
    pytest.importorskip("civicport.ingest.reader", reason="ingest's read_file has not landed yet")
    from civicport.catalog.service import import_file

    path = tmp_path / "permits.csv"
    path.write_text("permit_id,street,fee\nP-1,Main St,12.5\nP-2,Elm St,\n", encoding="utf-8")
    result = import_file(engine, path, metadata=META, row_identifier="permit_id")
    record = get(engine, result.dataset_id)
    assert [c.field_name for c in record.columns] == ["permit_id", "street", "fee"]
    assert [r["street"] for r in rows_of(result.dataset_id)] == ["Main St", "Elm St"]

    path.write_text("permit_id,street,fee\nP-2,Oak St,3\nP-3,Ash St,4\n", encoding="utf-8")
    upsert = import_file(engine, path, metadata=None, dataset_id=result.dataset_id, mode="upsert")
    assert (upsert.rows_updated, upsert.rows_created, upsert.row_count) == (1, 1, 3)


def test_a_large_load_through_worker_processes_stores_the_same_rows(engine, big_csv, rows_of):
    def load(parallel: bool) -> list[dict[str, Any]]:
        table = read_file(big_csv, parallel=parallel)
        assert (table.column_batches is not None) == parallel
        dataset_id = import_table(engine, table, metadata=META).dataset_id
        stamps = ("_created_at", "_updated_at")
        return [{k: v for k, v in row.items() if k not in stamps} for row in rows_of(dataset_id)]

    from_workers = load(parallel=True)
    assert len(from_workers) == 20_000
    assert from_workers == load(parallel=False)


def test_an_import_pauses_the_cyclic_gc_and_then_restores_it(engine, tmp_path) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("case_id,days\nC1,1\nC2,2\n", encoding="utf-8")
    bad.write_text("case_id,days\nC1,1,extra\n", encoding="utf-8")
    during: list[bool] = []
    import_file(engine, good, metadata=META, progress=lambda _rows: during.append(gc.isenabled()))
    assert during == [False]
    assert gc.isenabled()
    with pytest.raises(InvalidUpload):
        import_file(engine, bad, metadata=META)
    assert gc.isenabled()


@pytest.mark.parametrize(
    ("chart", "says"),
    [
        (SavedChart("A", "radar", "kind"), "unknown kind 'radar'"),
        (SavedChart("B", "bar", "nope"), "no column 'nope'"),
        (SavedChart("C", "bar", "kind", "median"), "unknown aggregate 'median'"),
        (SavedChart("D", "bar", "kind", "sum", "kind"), "needs a number column"),
    ],
)
def test_saved_charts_must_fit_the_data(engine, table, chart, says) -> None:
    parsed = table([("kind", "text"), ("days", "number")], [("a", 1)])
    with pytest.raises(InvalidUpload, match=says):
        import_table(engine, parsed, metadata=DatasetMetadata(title="T", charts=(chart,)))
    with engine.connect() as conn:
        assert search_catalog(conn, CatalogQuery(scope=None)).total == 0  # nothing half-made
