"""Catalog workflows: the one place the CLI, the API and the demo change datasets.

An import runs in one write transaction (datastore.transactions): a failure at any point leaves
the catalog and the data tables exactly as they were. A replace loads a new generation table
and points the dataset at it in the same transaction, so readers see the old rows until the
commit and the new ones after; the old table is dropped once the swap is committed.
The two halves of a replace are public (stage_rows, apply_staged) for catalog.drafts, whose
drafts keep staged rows in a table of their own until an approval applies them.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from civicport.catalog import store
from civicport.catalog.ids import is_dataset_id, new_dataset_id
from civicport.catalog.records import (
    AUDIENCES,
    CHART_AGGREGATES,
    CHART_KINDS,
    ColumnRecord,
    DatasetMetadata,
    DatasetRecord,
    SavedChart,
)
from civicport.datastore.convert import convert_columns
from civicport.datastore.load import (
    build_indexes,
    create_data_table,
    create_key_index,
    drop_data_table,
    insert_columns,
    insert_rows,
    parallel_sorting,
)
from civicport.datastore.summary import choose_dimensions, write_summary
from civicport.datastore.tables import SYSTEM_COLUMNS, ColumnSchema, data_table_name
from civicport.datastore.transactions import write_transaction
from civicport.datastore.types import NUMBER_TYPES, SODA_TYPES
from civicport.datastore.writes import (
    DELETED,
    WriteCounts,
    append_rows,
    check_key_column,
    check_keys,
    id_range,
    upsert_rows,
)
from civicport.datastore.writes import delete_rows as delete_stored_rows
from civicport.errors import Conflict, InvalidUpload, NotFound
from civicport.ingest.points import PointSource, add_points, point_field_name
from civicport.ingest.records import ColumnSpec, ParsedTable, ReadOptions
from civicport.privacy.decisions import Choice, Given
from civicport.privacy.guard import GuardedTable, guard_table, record_guarded

MODES = ("create", "replace", "append", "upsert")
# A checkbox column of this name in an upserted table marks the rows to delete (by identifier).
DELETED_FIELD = ":deleted"


@dataclass(frozen=True)
class ImportResult:
    """What one import did."""

    dataset_id: str
    mode: str
    rows_created: int
    rows_updated: int
    rows_deleted: int
    row_count: int


def import_file(
    engine: sa.Engine,
    path: Path,
    *,
    metadata: DatasetMetadata | None,
    dataset_id: str | None = None,
    mode: str = "create",
    row_identifier: str | None = None,
    type_overrides: Mapping[str, str] | None = None,
    points: Sequence[PointSource] = (),
    progress: Callable[[int], None] | None = None,
    owner_id: int | None = None,
    privacy_decisions: Mapping[str, Choice] | None = None,
    decided_by: str | None = None,
    read_options: ReadOptions | None = None,
) -> ImportResult:
    """Read a file (any format of docs/formats.md) and import it; see import_table.

    When adding to an existing dataset (append, upsert) the file's columns are read as the
    dataset's types, so '00123' stays text if the column is text. `points` adds point columns
    built from latitude and longitude columns (see ingest.points). `read_options` picks a
    workbook's sheet or a GIS file's layer and bounds how large an archive may unpack.

    >>> import_file(engine, Path("permits.csv"), metadata=DatasetMetadata(title="Permits"))
    ... # doctest: +SKIP
    """
    # Imported here: readers pull in heavy format libraries the rest of the service never needs.
    from civicport.ingest.reader import read_file
    from civicport.ingest.workers import paused_gc

    _check_mode(mode)
    overrides = dict(type_overrides or {})
    if mode in ("append", "upsert") and dataset_id:
        with engine.connect() as conn:
            existing = store.get_dataset(conn, dataset_id)
        derived = {point_field_name(p) for p in points}
        existing_types = {
            c.field_name: c.soda_type for c in existing.columns if c.field_name not in derived
        }
        overrides = existing_types | overrides
    with paused_gc():
        table = add_points(
            read_file(path, type_overrides=overrides or None, options=read_options), points
        )
        return import_table(
            engine,
            table,
            metadata=metadata,
            dataset_id=dataset_id,
            mode=mode,
            row_identifier=row_identifier,
            progress=progress,
            owner_id=owner_id,
            privacy_decisions=privacy_decisions,
            decided_by=decided_by,
        )


def import_table(
    engine: sa.Engine,
    table: ParsedTable,
    *,
    metadata: DatasetMetadata | None,
    dataset_id: str | None = None,
    mode: str = "create",
    row_identifier: str | None = None,
    progress: Callable[[int], None] | None = None,
    owner_id: int | None = None,
    privacy_decisions: Mapping[str, Choice] | None = None,
    decided_by: str | None = None,
) -> ImportResult:
    """Import a parsed table.

    - create: a new dataset (id minted unless given); `metadata` is required.
    - replace: the dataset's rows become exactly these (its columns may change).
    - append: these rows are added after the existing ones.
    - upsert: rows whose row-identifier value exists are updated, the others added.
    `metadata` and `owner_id` (the account creating it) are only used by create (metadata
    edits are a separate workflow).
    Every mode passes the privacy guard (privacy.guard): the rows are scanned, the dataset's
    decisions and `privacy_decisions` (column → choice, made by `decided_by`, kept for later
    loads) are applied to them, and a load that would leave a public dataset with personal data
    unresolved is refused (PrivacyUnresolved, a Conflict) with nothing changed.
    Raises InvalidUpload (bad data or arguments), NotFound (no such dataset), Conflict (id taken).
    """
    _check_mode(mode)
    now = dt.datetime.now(dt.UTC)
    given = _given(privacy_decisions, decided_by)
    if mode == "create":
        if metadata is None:
            raise InvalidUpload("A new dataset needs metadata, at least a title")
        return _create(
            engine, table, metadata, dataset_id, row_identifier, now, progress, owner_id, given
        )
    if not dataset_id:
        raise InvalidUpload(f"Mode '{mode}' needs the id of an existing dataset")
    if mode == "replace":
        return _replace(engine, table, dataset_id, row_identifier, now, progress, given)
    return _change(engine, table, dataset_id, mode, row_identifier, now, progress, given)


def _given(choices: Mapping[str, Choice] | None, decided_by: str | None) -> Given | None:
    if not choices:
        return None
    if not decided_by:
        raise ValueError("privacy_decisions need decided_by: who made them")
    return Given(dict(choices), decided_by)


def _guard(
    conn: sa.Connection,
    about: DatasetRecord | DatasetMetadata,
    table: ParsedTable,
    given: Given | None,
    *,
    whole: bool,
) -> GuardedTable:
    """The privacy guard for a load into a dataset (its record, or a new one's metadata)."""
    return guard_table(
        conn,
        about.id if isinstance(about, DatasetRecord) else None,
        table,
        category=about.category,
        decisions=given,
        whole=whole,
        public=about.audience == "public",
    )


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise InvalidUpload(f"Unknown import mode '{mode}'; use one of {', '.join(MODES)}")


def _create(
    engine: sa.Engine,
    table: ParsedTable,
    metadata: DatasetMetadata,
    dataset_id: str | None,
    row_identifier: str | None,
    now: dt.datetime,
    progress: Callable[[int], None] | None,
    owner_id: int | None,
    given: Given | None,
) -> ImportResult:
    _check_metadata(metadata)
    if dataset_id is not None and not is_dataset_id(dataset_id):
        raise InvalidUpload(
            f"'{dataset_id}' is not a dataset id: use two groups of four lowercase letters "
            "or digits joined by a dash, like abcd-1234"
        )
    with write_transaction(engine) as conn:
        dataset_id = dataset_id or _unused_id(conn)
        if store.dataset_exists(conn, dataset_id):
            raise Conflict(f"Dataset '{dataset_id}' already exists")
        guarded = _guard(conn, metadata, table, given, whole=True)
        table = guarded.table  # dropped columns gone, hashed ones text
        columns = _schema(table.columns, row_identifier)
        _check_charts(metadata.charts, columns)
        state = _load_generation(
            conn,
            dataset_id,
            1,
            columns,
            table,
            row_identifier,
            first_id=1,
            now=now,
            progress=progress,
        )
        store.insert_dataset(
            conn,
            dataset_id=dataset_id,
            metadata=metadata,
            state=state,
            columns=_column_records(table.columns),
            now=now,
            owner_id=owner_id,
        )
        record_guarded(conn, dataset_id, guarded)
    return ImportResult(dataset_id, "create", state.row_count, 0, 0, state.row_count)


def _replace(
    engine: sa.Engine,
    table: ParsedTable,
    dataset_id: str,
    row_identifier: str | None,
    now: dt.datetime,
    progress: Callable[[int], None] | None,
    given: Given | None = None,
) -> ImportResult:
    with write_transaction(engine) as conn:
        old = store.get_dataset(conn, dataset_id, for_update=True)
        guarded = _guard(conn, old, table, given, whole=True)
        staged = stage_rows(
            conn, old, guarded.table, row_identifier=row_identifier, now=now, progress=progress
        )
        apply_staged(conn, old, staged)
        record_guarded(conn, dataset_id, guarded)
    # After the commit: readers that started before it may still be reading the old table.
    with write_transaction(engine) as conn:
        drop_data_table(conn, old.data_table)
    count = staged.state.row_count
    return ImportResult(dataset_id, "replace", count, 0, old.row_count, count)


@dataclass(frozen=True)
class StagedRows:
    """Rows loaded into a table of their own and checked, not yet the dataset's: what a
    replace, or the approval of a draft with new data, points the dataset at (apply_staged)."""

    state: store.DataState
    columns: tuple[ColumnRecord, ...]


def stage_rows(
    conn: sa.Connection,
    dataset: DatasetRecord,
    table: ParsedTable,
    *,
    now: dt.datetime,
    row_identifier: str | None = None,
    draft: bool = False,
    progress: Callable[[int], None] | None = None,
) -> StagedRows:
    """Load `table` as the dataset's next rows without pointing the dataset at them.

    The rows go into the next generation's table, or with `draft` into a table whose name no
    generation can ever take (a draft's rows wait there until it is approved or discarded).
    New ids continue after the current ones, so an `:id` never names two different rows.
    `table` is what the privacy guard let through (privacy.guard.guard_table), as in _replace
    and catalog.editing.stage.
    """
    key = row_identifier or dataset.row_identifier
    columns = _schema(table.columns, key)
    _, high = id_range(conn, dataset.data_table)
    version = dataset.data_version + 1
    name = _draft_table_name(dataset.id) if draft else data_table_name(dataset.id, version)
    state = _load_generation(
        conn,
        dataset.id,
        version,
        columns,
        table,
        key,
        first_id=(high or 0) + 1,
        now=now,
        progress=progress,
        table_name=name,
    )
    return StagedRows(state, tuple(_column_records(table.columns)))


def apply_staged(conn: sa.Connection, dataset: DatasetRecord, staged: StagedRows) -> None:
    """Point the dataset at staged rows, in the caller's transaction (readers see them from its
    commit; the caller drops the old table after it). Conflict when the dataset's rows changed
    after these were staged (their ids could clash) or their table is gone."""
    if staged.state.data_version != dataset.data_version + 1:
        raise Conflict(
            f"The rows of dataset '{dataset.id}' changed after this data was prepared; "
            "upload it again"
        )
    if not sa.inspect(conn).has_table(staged.state.data_table):
        raise Conflict(f"The prepared data of dataset '{dataset.id}' is missing; upload it again")
    store.update_data_state(conn, dataset_id=dataset.id, state=staged.state)
    store.replace_columns(conn, dataset_id=dataset.id, columns=staged.columns)


def _draft_table_name(dataset_id: str) -> str:
    """'d_abcd_1234_draft_3f2a9c1e': generations end in _g<number>, so this never clashes with
    one, and the random part keeps a new draft's table apart from an old one's."""
    return f"d_{dataset_id.replace('-', '_')}_draft_{secrets.token_hex(4)}"


def check_metadata(metadata: DatasetMetadata, columns: Sequence[ColumnRecord]) -> None:
    """InvalidUpload unless `metadata` may describe a dataset with these columns: a title, a
    known audience, charts over columns it has."""
    _check_metadata(metadata)
    _check_charts(metadata.charts, [ColumnSchema(c.field_name, c.soda_type) for c in columns])


def update_metadata(
    conn: sa.Connection,
    dataset: DatasetRecord,
    metadata: DatasetMetadata,
    *,
    columns: Sequence[ColumnRecord],
    now: dt.datetime,
) -> None:
    """Replace the dataset's metadata (audience included) in the caller's transaction, checked
    against `columns`, the ones it will have once the transaction commits."""
    check_metadata(metadata, columns)
    store.update_metadata(conn, dataset_id=dataset.id, metadata=metadata, now=now)


def _load_generation(
    conn: sa.Connection,
    dataset_id: str,
    version: int,
    columns: list[ColumnSchema],
    table: ParsedTable,
    key: str | None,
    *,
    first_id: int,
    now: dt.datetime,
    progress: Callable[[int], None] | None,
    table_name: str | None = None,
) -> store.DataState:
    """Create a new data table (`table_name`, by default the generation's), fill it, check its
    keys and index it."""
    name = table_name or data_table_name(dataset_id, version)
    create_data_table(conn, name, columns)
    if table.column_batches is not None:
        finish = functools.partial(convert_columns, columns, conn.dialect.name)
        stored = table.column_batches(finish)
        count = insert_columns(
            conn, name, columns, stored, first_id=first_id, now=now, progress=progress
        )
    else:
        count = insert_rows(
            conn, name, columns, table.rows, first_id=first_id, now=now, progress=progress
        )
    if key:
        check_keys(conn, name, key, first_id=first_id)
    with parallel_sorting(conn):
        build_indexes(conn, name, columns, unique=key)
        dimensions = choose_dimensions(conn, name, columns, count)
        summarized = write_summary(conn, name, columns, dimensions, count)
    return store.DataState(
        data_table=name,
        data_version=version,
        row_count=count,
        ids_dense=True,
        min_row_id=first_id,
        data_updated_at=now,
        row_identifier=key,
        summary_dimensions=tuple(dimensions) if summarized else None,
    )


def _change(
    engine: sa.Engine,
    table: ParsedTable,
    dataset_id: str,
    mode: str,
    row_identifier: str | None,
    now: dt.datetime,
    progress: Callable[[int], None] | None,
    given: Given | None = None,
) -> ImportResult:
    """Append or upsert into the current table, in place."""
    with write_transaction(engine) as conn:
        dataset = store.get_dataset(conn, dataset_id, for_update=True)
        guarded = _guard(conn, dataset, table, given, whole=False)
        table = guarded.table
        columns = _matching_columns(dataset, table.columns)
        _, high = id_range(conn, dataset.data_table)
        first_id = (high or 0) + 1
        key = dataset.row_identifier
        if mode == "append":
            counts = append_rows(
                conn,
                dataset.data_table,
                columns,
                table.rows,
                now=now,
                first_id=first_id,
                progress=progress,
            )
        else:
            key = _upsert_key(conn, dataset, row_identifier)
            counts = upsert_rows(
                conn,
                dataset.data_table,
                columns,
                table.rows,
                key=key,
                now=now,
                first_id=first_id,
                progress=progress,
            )
        state = _state_after(conn, dataset, counts, now, key)
        store.update_data_state(conn, dataset_id=dataset_id, state=state)
        record_guarded(conn, dataset_id, guarded)
    return ImportResult(
        dataset_id, mode, counts.created, counts.updated, counts.deleted, state.row_count
    )


def write_rows(engine: sa.Engine, dataset_id: str, tables: Sequence[ParsedTable]) -> ImportResult:
    """Upsert several tables into a dataset in ONE transaction (all or nothing): matched on its
    row identifier, or appended when it has none. A checkbox column named DELETED_FIELD marks
    rows to delete by identifier. Tables are applied in order; each may carry its own subset of
    the dataset's columns (only those change in updated rows). This is the Producer API's write.
    Each table passes the privacy guard: the dataset's decisions apply to its rows, and a write
    bringing unresolved personal data into a public dataset is refused (PrivacyUnresolved).
    """
    now = dt.datetime.now(dt.UTC)
    total = WriteCounts()
    with write_transaction(engine) as conn:
        dataset = store.get_dataset(conn, dataset_id, for_update=True)
        key = dataset.row_identifier
        for incoming in tables:
            guarded = _guard(conn, dataset, incoming, None, whole=False)
            record_guarded(conn, dataset_id, guarded)  # the next table's guard sees its findings
            table = guarded.table
            columns = _matching_columns(dataset, table.columns)
            _, high = id_range(conn, dataset.data_table)
            first_id = (high or 0) + 1
            if key:
                counts = upsert_rows(
                    conn, dataset.data_table, columns, table.rows,
                    key=key, now=now, first_id=first_id,
                )  # fmt: skip
            elif DELETED in columns:
                raise InvalidUpload(
                    f"Dataset '{dataset_id}' has no row identifier, so rows cannot be deleted "
                    "by one",
                    code="soda.row.delete-without-primary-key",
                )
            else:
                counts = append_rows(
                    conn, dataset.data_table, columns, table.rows, now=now, first_id=first_id
                )
            total = WriteCounts(
                total.created + counts.created,
                total.updated + counts.updated,
                total.deleted + counts.deleted,
            )
        state = _state_after(conn, dataset, total, now, key)
        store.update_data_state(conn, dataset_id=dataset_id, state=state)
    mode = "upsert" if key else "append"
    return ImportResult(
        dataset_id, mode, total.created, total.updated, total.deleted, state.row_count
    )


def delete_rows(
    engine: sa.Engine, dataset_id: str, keys: Sequence[object], *, by_row_id: bool = False
) -> list[int]:
    """Delete the rows whose row-identifier value is one of `keys` (Python values of the key
    column's type), or whose system id is, with `by_row_id`. Returns the deleted rows' ids;
    the dataset's version moves only when something was deleted."""
    now = dt.datetime.now(dt.UTC)
    with write_transaction(engine) as conn:
        dataset = store.get_dataset(conn, dataset_id, for_update=True)
        key = None
        if not by_row_id:
            if not dataset.row_identifier:
                raise InvalidUpload(
                    f"Dataset '{dataset_id}' has no row identifier: name rows by their :id",
                    code="soda.row.delete-without-primary-key",
                )
            key = dataset.table_schema(conn.dialect.name).column(dataset.row_identifier)
            if key is None:  # the catalog names a column the table lacks: never written so
                raise NotFound(f"Dataset '{dataset_id}' has no column {dataset.row_identifier}")
        deleted = delete_stored_rows(conn, dataset.data_table, key, list(keys))
        if deleted:
            counts = WriteCounts(deleted=len(deleted))
            state = _state_after(conn, dataset, counts, now, dataset.row_identifier)
            store.update_data_state(conn, dataset_id=dataset_id, state=state)
    return deleted


def _upsert_key(conn: sa.Connection, dataset: DatasetRecord, row_identifier: str | None) -> str:
    """The column an upsert matches rows on; declares it (with its unique index) if new."""
    key = dataset.row_identifier
    if key and row_identifier and row_identifier != key:
        raise InvalidUpload(
            f"Dataset '{dataset.id}' identifies rows by '{key}', not '{row_identifier}'"
        )
    if key:
        return key
    if not row_identifier:
        raise InvalidUpload(
            f"Dataset '{dataset.id}' has no row identifier: name the column that identifies rows"
        )
    schema = dataset.table_schema(conn.dialect.name)
    check_key_column(schema.columns, row_identifier)
    check_keys(conn, dataset.data_table, row_identifier, first_id=dataset.min_row_id)
    create_key_index(conn, dataset.data_table, row_identifier)
    return row_identifier


def _state_after(
    conn: sa.Connection,
    dataset: DatasetRecord,
    counts: WriteCounts,
    now: dt.datetime,
    key: str | None,
) -> store.DataState:
    row_count = dataset.row_count + counts.created - counts.deleted
    dimensions = _refresh_summary(conn, dataset, row_count)
    low, high = id_range(conn, dataset.data_table)
    dense = row_count == 0 or (low is not None and high is not None and high - low + 1 == row_count)
    return store.DataState(
        data_table=dataset.data_table,
        data_version=dataset.data_version + 1,
        row_count=row_count,
        ids_dense=dense,
        min_row_id=low if low is not None else dataset.min_row_id,
        data_updated_at=now,
        row_identifier=key,
        summary_dimensions=dimensions,
    )


def _refresh_summary(
    conn: sa.Connection, dataset: DatasetRecord, row_count: int
) -> tuple[str, ...] | None:
    """Recompute the summary after rows changed in place; its dimensions, or None if the
    dataset has none (any more: a summary grown too large is dropped)."""
    dimensions = dataset.summary_dimensions
    if not dimensions:
        return None
    columns = dataset.table_schema(conn.dialect.name).columns
    with parallel_sorting(conn):
        kept = write_summary(conn, dataset.data_table, columns, dimensions, row_count)
    return dimensions if kept else None


def _unused_id(conn: sa.Connection) -> str:
    while True:
        candidate = new_dataset_id()
        if not store.dataset_exists(conn, candidate):
            return candidate


def _check_metadata(metadata: DatasetMetadata) -> None:
    if not metadata.title.strip():
        raise InvalidUpload("A dataset needs a title")
    if metadata.audience not in AUDIENCES:
        raise InvalidUpload(
            f"Unknown audience '{metadata.audience}'; use one of {', '.join(AUDIENCES)}"
        )


def _check_charts(charts: Sequence[SavedChart], columns: Sequence[ColumnSchema]) -> None:
    """Each saved chart names a known kind and aggregate, and columns the dataset has (a number
    column for anything but a count)."""
    types = {c.field_name: c.soda_type for c in columns}
    for chart in charts:
        if chart.kind not in CHART_KINDS:
            raise InvalidUpload(f"Chart '{chart.title}': unknown kind '{chart.kind}'; use one of "
                                + ", ".join(CHART_KINDS))  # fmt: skip
        if chart.aggregate not in CHART_AGGREGATES:
            raise InvalidUpload(f"Chart '{chart.title}': unknown aggregate '{chart.aggregate}'; "
                                "use one of " + ", ".join(CHART_AGGREGATES))  # fmt: skip
        if chart.x not in types:
            raise InvalidUpload(f"Chart '{chart.title}': the data has no column '{chart.x}'")
        needs_number = chart.aggregate != "count"
        if needs_number and (chart.y not in types or types[chart.y] not in NUMBER_TYPES):
            raise InvalidUpload(
                f"Chart '{chart.title}': '{chart.aggregate}' needs a number column as y"
            )


def _schema(specs: Sequence[ColumnSpec], key: str | None) -> list[ColumnSchema]:
    """The columns of a new table, checked: known types, no clashing or reserved names."""
    if not specs:
        raise InvalidUpload("The data has no columns")
    taken = set(SYSTEM_COLUMNS.values())
    columns = []
    for spec in specs:
        if spec.soda_type not in SODA_TYPES:
            raise InvalidUpload(f"Column '{spec.field_name}' has unknown type '{spec.soda_type}'")
        column = ColumnSchema(spec.field_name, spec.soda_type, spec.display_name, spec.description)
        clash = taken.intersection(column.physical)
        if not spec.field_name or clash:
            raise InvalidUpload(
                f"Column name '{spec.field_name}' is empty, repeated or reserved; rename it"
            )
        taken.update(column.physical)
        columns.append(column)
    if key:
        check_key_column(columns, key)
    return columns


def _column_records(specs: Sequence[ColumnSpec]) -> list[ColumnRecord]:
    return [
        ColumnRecord(s.field_name, s.display_name or s.field_name, s.soda_type, s.description, i)
        for i, s in enumerate(specs)
    ]


def _matching_columns(dataset: DatasetRecord, specs: Sequence[ColumnSpec]) -> list[ColumnSchema]:
    """The dataset's columns in the upload's order; InvalidUpload if the upload does not fit."""
    schema = dataset.table_schema("")
    columns: list[ColumnSchema] = []
    for spec in specs:
        column = DELETED if spec.field_name == DELETED_FIELD else schema.column(spec.field_name)
        if column is None:
            raise InvalidUpload(
                f"Column '{spec.field_name}' is not in dataset '{dataset.id}'",
                code="soda.row.column-not-found",
            )
        if column.soda_type != spec.soda_type:
            raise InvalidUpload(
                f"Column '{spec.field_name}' is {column.soda_type} in dataset '{dataset.id}' "
                f"but {spec.soda_type} in the upload",
                code="soda.column.maltyped",
            )
        if column in columns:
            raise InvalidUpload(f"Column '{spec.field_name}' appears twice in the upload")
        columns.append(column)
    if not columns:
        raise InvalidUpload("The data has no columns")
    return columns
