"""Catalog workflows: the one place the CLI, the API and the demo change datasets.

An import runs in one write transaction (datastore.transactions): a failure at any point leaves
the catalog and the data tables exactly as they were. A replace loads a new generation table
and points the dataset at it in the same transaction, so readers see the old rows until the
commit and the new ones after; the old table is dropped once the swap is committed.
The two halves of a replace are public (stage_rows, apply_staged) for catalog.drafts, whose
drafts keep staged rows in a table of their own until an approval applies them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from civicport.catalog.versions import (
    drop_tables,
    forget_earlier_versions,
    next_row_id,
    record_version,
    version_instant,
)
from civicport.datastore.convert import convert_columns
from civicport.datastore.history import create_history_table
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
from civicport.datastore.tables import (
    SYSTEM_COLUMNS,
    ColumnSchema,
    data_table_name,
    stage_table_name,
)
from civicport.datastore.transactions import write_transaction
from civicport.datastore.types import NUMBER_TYPES, SODA_TYPES
from civicport.datastore.writes import (
    DELETED,
    WriteCounts,
    append_rows,
    apply_append,
    apply_replace_by_content,
    apply_upsert,
    check_key_column,
    check_keys,
    id_range,
    key_stage,
    upsert_rows,
)
from civicport.datastore.writes import delete_rows as delete_stored_rows
from civicport.errors import Conflict, InvalidUpload, NotFound
from civicport.ingest.checks import (
    CheckReport,
    LoadRules,
    Previous,
    check_load,
    load_boundary,
    raise_if_blocked,
)
from civicport.ingest.points import PointSource, add_points, point_field_name
from civicport.ingest.records import ColumnSpec, ParsedTable, ReadOptions
from civicport.privacy.decisions import Choice, Given, is_pending
from civicport.privacy.guard import GuardedTable, guard_table, record_guarded
from civicport.privacy.store import decisions as kept_decisions

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
    version: int = 0  # the version the import made (catalog.versions)
    rows_unchanged: int = 0  # rows named by identifier whose values were already those
    warnings: tuple[str, ...] = ()  # what the load checks noticed without refusing it


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
    made_by: str = "cli",
) -> ImportResult:
    """Read a file (any format of docs/formats.md) and import it; see import_table.

    When loading into an existing dataset (replace, append, upsert) the file's columns are read
    as the dataset's types, so '00123' stays text if the column is text, and a value that does
    not fit is refused, emptied or turns its column to text as the dataset's load rules say.
    `points` adds point columns built from latitude and longitude columns (see ingest.points).
    `read_options` picks a workbook's sheet or a GIS file's layer and bounds how large an
    archive may unpack.

    >>> import_file(engine, Path("permits.csv"), metadata=DatasetMetadata(title="Permits"))
    ... # doctest: +SKIP
    """
    # Imported here: readers pull in heavy format libraries the rest of the service never needs.
    from civicport.ingest.reader import read_file
    from civicport.ingest.workers import paused_gc

    _check_mode(mode)
    options = read_options or ReadOptions()
    if mode in ("replace", "append", "upsert") and dataset_id:
        with engine.connect() as conn:
            existing = store.get_dataset(conn, dataset_id)
        derived = {point_field_name(p) for p in points}
        options = dataclasses.replace(
            options,
            dataset_types={
                c.field_name: c.soda_type for c in existing.columns if c.field_name not in derived
            },
            type_policy=LoadRules.from_json(existing.load_rules).type_policy,
        )
    with paused_gc():
        table = add_points(
            read_file(path, type_overrides=type_overrides or None, options=options), points
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
            made_by=made_by,
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
    made_by: str = "cli",
) -> ImportResult:
    """Import a parsed table as a new version of the dataset (catalog.versions), made by
    `made_by` (an account's email, "cli", "api" or "sync").

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
    Every load is staged first and checked (ingest.checks: the dataset's load rules); a check
    set to block refuses it (LoadRejected, an InvalidUpload) with nothing changed.
    Raises InvalidUpload (bad data or arguments), NotFound (no such dataset), Conflict (id taken).
    """
    _check_mode(mode)
    load = _Load(table, row_identifier, progress, _given(privacy_decisions, decided_by), made_by)
    if mode == "create":
        if metadata is None:
            raise InvalidUpload("A new dataset needs metadata, at least a title")
        return _create(engine, load, metadata, dataset_id, owner_id)
    if not dataset_id:
        raise InvalidUpload(f"Mode '{mode}' needs the id of an existing dataset")
    if mode == "replace":
        return _replace(engine, load, dataset_id)
    return _change(engine, load, dataset_id, mode)


@dataclass(frozen=True)
class _Load:
    """What one import brings, whatever its mode."""

    table: ParsedTable
    row_identifier: str | None
    progress: Callable[[int], None] | None
    given: Given | None
    made_by: str


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
    load: _Load,
    metadata: DatasetMetadata,
    dataset_id: str | None,
    owner_id: int | None,
) -> ImportResult:
    _check_metadata(metadata)
    if dataset_id is not None and not is_dataset_id(dataset_id):
        raise InvalidUpload(
            f"'{dataset_id}' is not a dataset id: use two groups of four lowercase letters "
            "or digits joined by a dash, like abcd-1234"
        )
    with write_transaction(engine) as conn:
        now = version_instant(conn, None, dt.datetime.now(dt.UTC))
        dataset_id = dataset_id or _unused_id(conn)
        if store.dataset_exists(conn, dataset_id):
            raise Conflict(f"Dataset '{dataset_id}' already exists")
        guarded = _guard(conn, metadata, load.table, load.given, whole=True)
        table = guarded.table  # dropped columns gone, hashed ones text
        columns = _schema(table.columns, load.row_identifier)
        _check_charts(metadata.charts, columns)
        name = data_table_name(dataset_id, 1)
        count = _fill(conn, name, columns, table, first_id=1, now=now, progress=load.progress)
        report = _checks(conn, name, columns, count, None, load.row_identifier, None, whole=True)
        count -= report.dropped_rows
        if load.row_identifier:
            check_keys(conn, name, load.row_identifier)
        state = index_table(conn, name, 1, columns, count, load.row_identifier, now)
        create_history_table(conn, name, columns)
        records = _column_records(table.columns)
        store.insert_dataset(
            conn,
            dataset_id=dataset_id,
            metadata=metadata,
            state=state,
            columns=records,
            now=now,
            owner_id=owner_id,
        )
        record_guarded(conn, dataset_id, guarded)
        counts = WriteCounts(created=count)
        version = _new_version(conn, dataset_id, state, records, "create", counts, load)
    return _result(
        dataset_id, "create", counts, state, version, (*table.warnings, *report.warnings)
    )


def _replace(engine: sa.Engine, load: _Load, dataset_id: str) -> ImportResult:
    """Make the dataset's rows exactly the loaded ones. With the same columns, the load is
    applied as a diff (rows matched by the row identifier, or by content without one), so
    unchanged rows keep their `:id` and `:updated_at`; with other columns, the rows go into a
    table of their own and the old one stays for the versions made in it."""
    with write_transaction(engine) as conn:
        old = store.get_dataset(conn, dataset_id, for_update=True)
        now = version_instant(conn, dataset_id, dt.datetime.now(dt.UTC))
        rewrites = _rewrites_rows(conn, dataset_id, load.given)
        guarded = _guard(conn, old, load.table, load.given, whole=True)
        table = guarded.table
        key = load.row_identifier or old.row_identifier
        columns = _schema(table.columns, key)
        if same_layout(old, columns, key):
            counts, state, report = _apply_replace(conn, old, columns, table, key, now, load)
            warnings = (*table.warnings, *report.warnings)
            store.update_data_state(conn, dataset_id=dataset_id, state=state)
            records = list(old.columns)
        else:
            staged = stage_rows(
                conn, old, table, row_identifier=key, now=now, progress=load.progress
            )
            warnings = staged.warnings
            state, records = staged.state, list(staged.columns)
            counts = WriteCounts(created=state.row_count, deleted=old.row_count)
            _point_at(conn, old, staged)
        record_guarded(conn, dataset_id, guarded)
        version = _new_version(conn, dataset_id, state, records, "replace", counts, load)
        unused = (
            forget_earlier_versions(conn, store.get_dataset(conn, dataset_id)) if rewrites else []
        )
    drop_tables(engine, unused)
    return _result(dataset_id, "replace", counts, state, version, warnings)


def _rewrites_rows(conn: sa.Connection, dataset_id: str, given: Given | None) -> bool:
    """Whether a full load drops, hashes or generalizes what the dataset's stored rows still
    hold: a decision given with it, or one kept and not applied yet. The earlier versions then
    hold that personal data and are forgotten (catalog.versions.forget_earlier_versions)."""
    if given is not None and any(c.action != "accept" for c in given.choices.values()):
        return True
    return any(is_pending(d) for d in kept_decisions(conn, dataset_id))


def same_layout(dataset: DatasetRecord, columns: Sequence[ColumnSchema], key: str | None) -> bool:
    """Whether these columns and row identifier fit the dataset's current table as it is
    (names and types; order aside): rows of that shape are applied to it as a diff."""
    current = {(c.field_name, c.soda_type) for c in dataset.columns}
    return key == dataset.row_identifier and current == {
        (c.field_name, c.soda_type) for c in columns
    }


def _apply_replace(
    conn: sa.Connection,
    old: DatasetRecord,
    columns: list[ColumnSchema],
    table: ParsedTable,
    key: str | None,
    now: dt.datetime,
    load: _Load,
) -> tuple[WriteCounts, store.DataState, CheckReport]:
    """A replace with unchanged columns, applied as a diff to the current table."""
    stage, count = _stage(conn, old, columns, table, now, load.progress)
    report = _checks(conn, stage, columns, count, old, key, old.load_rules, whole=True)
    if key:  # after the checks, which refuse or drop repeated identifiers as the rules say
        key_stage(conn, stage, key)
    first_id = next_row_id(conn, old.id, old.data_table)
    if key:
        counts = apply_upsert(
            conn, old.data_table, stage, columns,
            key=key, now=now, first_id=first_id, table_columns=columns, remove_missing=True,
        )  # fmt: skip
    else:
        counts = apply_replace_by_content(
            conn, old.data_table, stage, columns, now=now, first_id=first_id
        )
    drop_data_table(conn, stage)
    return counts, state_after(conn, old, counts, now, key), report


def _stage(
    conn: sa.Connection,
    dataset: DatasetRecord,
    columns: list[ColumnSchema],
    table: ParsedTable,
    now: dt.datetime,
    progress: Callable[[int], None] | None,
) -> tuple[str, int]:
    """Load incoming rows into a scratch table beside the dataset's (ids from 1, in upload
    order) for the checks (then key_stage). Returns its name and how many rows it holds. Also
    makes sure the current table has its history."""
    create_history_table(conn, dataset.data_table, dataset.table_schema("").columns)
    stage = stage_table_name(dataset.data_table)
    drop_data_table(conn, stage)
    count = _fill(conn, stage, columns, table, first_id=1, now=now, progress=progress)
    return stage, count


@dataclass(frozen=True)
class StagedRows:
    """Rows loaded into a table of their own and checked, not yet the dataset's: what a
    replace that changes the columns, or the approval of a draft with new data, points the
    dataset at (apply_staged)."""

    state: store.DataState
    columns: tuple[ColumnRecord, ...]
    # What the load checks noticed (they ran against the dataset's current rows when staged).
    warnings: tuple[str, ...] = ()


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
    New ids continue after every id the dataset used, so an `:id` never names two rows.
    `table` is what the privacy guard let through (privacy.guard.guard_table), as in _replace
    and catalog.editing.stage. The rows pass the dataset's load checks against its current
    rows (LoadRejected otherwise) before they are indexed.
    """
    key = row_identifier or dataset.row_identifier
    columns = _schema(table.columns, key)
    first_id = next_row_id(conn, dataset.id, dataset.data_table)
    version = dataset.data_version + 1
    name = _draft_table_name(dataset.id) if draft else data_table_name(dataset.id, version)
    count = _fill(conn, name, columns, table, first_id=first_id, now=now, progress=progress)
    report = _checks(conn, name, columns, count, dataset, key, dataset.load_rules, whole=True)
    count -= report.dropped_rows
    if key:
        check_keys(conn, name, key, first_id=first_id)
    state = index_table(conn, name, version, columns, count, key, now)
    warnings = (*table.warnings, *report.warnings)
    return StagedRows(state, tuple(_column_records(table.columns)), warnings)


def apply_staged(
    conn: sa.Connection, dataset: DatasetRecord, staged: StagedRows, *, made_by: str
) -> None:
    """Point the dataset at staged rows as its next version, in the caller's transaction
    (readers see them from its commit; the old table stays for the versions made in it).
    Conflict when the dataset's rows changed after these were staged (their ids could clash)
    or their table is gone."""
    now = version_instant(conn, dataset.id, staged.state.data_updated_at)
    state = dataclasses.replace(staged.state, data_updated_at=now)
    _point_at(conn, dataset, dataclasses.replace(staged, state=state))
    counts = WriteCounts(created=state.row_count, deleted=dataset.row_count)
    record_version(
        conn, dataset_id=dataset.id, state=state, columns=staged.columns,
        operation="replace", counts=counts, made_by=made_by,
    )  # fmt: skip


def _point_at(conn: sa.Connection, dataset: DatasetRecord, staged: StagedRows) -> None:
    if staged.state.data_version != dataset.data_version + 1:
        raise Conflict(
            f"The rows of dataset '{dataset.id}' changed after this data was prepared; "
            "upload it again"
        )
    if not sa.inspect(conn).has_table(staged.state.data_table):
        raise Conflict(f"The prepared data of dataset '{dataset.id}' is missing; upload it again")
    columns = [ColumnSchema(c.field_name, c.soda_type) for c in staged.columns]
    create_history_table(conn, staged.state.data_table, columns)
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


def _fill(
    conn: sa.Connection,
    name: str,
    columns: list[ColumnSchema],
    table: ParsedTable,
    *,
    first_id: int,
    now: dt.datetime,
    progress: Callable[[int], None] | None,
) -> int:
    """Create the data table `name` and stream the table's rows into it; returns the count."""
    create_data_table(conn, name, columns)
    if table.column_batches is not None:
        finish = functools.partial(convert_columns, columns, conn.dialect.name)
        stored = table.column_batches(finish)
        return insert_columns(
            conn, name, columns, stored, first_id=first_id, now=now, progress=progress
        )
    return insert_rows(
        conn, name, columns, table.rows, first_id=first_id, now=now, progress=progress
    )


def index_table(
    conn: sa.Connection,
    name: str,
    version: int,
    columns: Sequence[ColumnSchema],
    count: int,
    key: str | None,
    now: dt.datetime,
) -> store.DataState:
    """Index a freshly filled table of `count` rows (its key checked already) and summarize
    it: the state it gives the dataset as version `version`."""
    with parallel_sorting(conn):
        build_indexes(conn, name, columns, unique=key)
        dimensions = choose_dimensions(conn, name, columns, count)
        summarized = write_summary(conn, name, columns, dimensions, count)
    dense, first = _row_ids(conn, name, count)
    return store.DataState(
        data_table=name,
        data_version=version,
        row_count=count,
        ids_dense=dense,
        min_row_id=first or 1,
        data_updated_at=now,
        row_identifier=key,
        summary_dimensions=tuple(dimensions) if summarized else None,
    )


def _row_ids(conn: sa.Connection, table: str, count: int) -> tuple[bool, int | None]:
    """Whether the table's `_id`s are exactly consecutive (see datasets.ids_dense), and the
    lowest (None when it is empty)."""
    low, high = id_range(conn, table)
    return count == 0 or (low is not None and high is not None and high - low + 1 == count), low


def _checks(
    conn: sa.Connection,
    staged: str,
    columns: Sequence[ColumnSchema],
    count: int,
    previous: DatasetRecord | None,
    key: str | None,
    rules: Mapping[str, Any] | None,
    *,
    whole: bool,
) -> CheckReport:
    """Run the load checks on staged rows; LoadRejected when one set to block fails."""
    before = None
    if previous is not None:
        before = Previous(
            previous.data_table, previous.table_schema("").columns, previous.row_count
        )
    # db.engine.make_engine hands the city_boundary setting down as an execution option.
    boundary = conn.get_execution_options().get("city_boundary")
    report = check_load(
        conn,
        staged_table=staged,
        columns=columns,
        row_count=count,
        previous=before,
        key=key,
        rules=LoadRules.from_json(rules),
        boundary=load_boundary(Path(boundary) if boundary else None),
        now=dt.datetime.now(dt.UTC),
        whole=whole,
    )
    raise_if_blocked(report)
    return report


def _new_version(
    conn: sa.Connection,
    dataset_id: str,
    state: store.DataState,
    columns: Sequence[ColumnRecord],
    operation: str,
    counts: WriteCounts,
    load: _Load,
) -> int:
    detail = {"source": load.table.source_name} if load.table.source_name else {}
    record_version(
        conn, dataset_id=dataset_id, state=state, columns=columns, operation=operation,
        counts=counts, made_by=load.made_by, detail=detail,
    )  # fmt: skip
    return state.data_version


def _result(
    dataset_id: str,
    mode: str,
    counts: WriteCounts,
    state: store.DataState,
    version: int,
    warnings: Sequence[str],
) -> ImportResult:
    return ImportResult(
        dataset_id, mode, counts.created, counts.updated, counts.deleted, state.row_count,
        version, rows_unchanged=counts.unchanged, warnings=tuple(warnings),
    )  # fmt: skip


def _change(engine: sa.Engine, load: _Load, dataset_id: str, mode: str) -> ImportResult:
    """Append or upsert: staged, checked, then applied to the current table in place."""
    with write_transaction(engine) as conn:
        dataset = store.get_dataset(conn, dataset_id, for_update=True)
        now = version_instant(conn, dataset_id, dt.datetime.now(dt.UTC))
        guarded = _guard(conn, dataset, load.table, load.given, whole=False)
        table = guarded.table
        columns = _matching_columns(dataset, table.columns)
        key = dataset.row_identifier
        if mode == "upsert":
            key = _upsert_key(conn, dataset, load.row_identifier)
        stage, count = _stage(conn, dataset, columns, table, now, load.progress)
        report = _checks(conn, stage, columns, count, dataset, key, dataset.load_rules, whole=False)
        if key and mode == "upsert":  # after the checks, as in _apply_replace
            key_stage(conn, stage, key)
        first_id = next_row_id(conn, dataset_id, dataset.data_table)
        if mode == "append":
            counts = apply_append(conn, dataset.data_table, stage, columns, first_id=first_id)
        else:
            counts = apply_upsert(
                conn, dataset.data_table, stage, columns, key=str(key), now=now,
                first_id=first_id, table_columns=dataset.table_schema("").columns,
            )  # fmt: skip
        drop_data_table(conn, stage)
        state = state_after(conn, dataset, counts, now, key)
        store.update_data_state(conn, dataset_id=dataset_id, state=state)
        record_guarded(conn, dataset_id, guarded)
        version = _new_version(conn, dataset_id, state, dataset.columns, mode, counts, load)
    return _result(dataset_id, mode, counts, state, version, (*table.warnings, *report.warnings))


def write_rows(
    engine: sa.Engine, dataset_id: str, tables: Sequence[ParsedTable], *, made_by: str = "api"
) -> ImportResult:
    """Upsert several tables into a dataset in ONE transaction (all or nothing) and one
    version: matched on its row identifier, or appended when it has none. A checkbox column
    named DELETED_FIELD marks rows to delete by identifier. Tables are applied in order; each
    may carry its own subset of the dataset's columns (only those change in updated rows). This
    is the Producer API's write. Each table passes the privacy guard: the dataset's decisions
    apply to its rows, and a write bringing unresolved personal data into a public dataset is
    refused (PrivacyUnresolved).
    """
    total = WriteCounts()
    with write_transaction(engine) as conn:
        dataset = store.get_dataset(conn, dataset_id, for_update=True)
        now = version_instant(conn, dataset_id, dt.datetime.now(dt.UTC))
        key = dataset.row_identifier
        every_column = dataset.table_schema(conn.dialect.name).columns
        create_history_table(conn, dataset.data_table, every_column)
        for incoming in tables:
            guarded = _guard(conn, dataset, incoming, None, whole=False)
            record_guarded(conn, dataset_id, guarded)  # the next table's guard sees its findings
            table = guarded.table
            columns = _matching_columns(dataset, table.columns)
            first_id = next_row_id(conn, dataset_id, dataset.data_table)
            if key:
                counts = upsert_rows(
                    conn, dataset.data_table, columns, table.rows,
                    key=key, now=now, first_id=first_id, table_columns=every_column,
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
                total.unchanged + counts.unchanged,
            )
        state = state_after(conn, dataset, total, now, key)
        store.update_data_state(conn, dataset_id=dataset_id, state=state)
        mode = "upsert" if key else "append"
        record_version(
            conn, dataset_id=dataset_id, state=state, columns=dataset.columns,
            operation=mode, counts=total, made_by=made_by,
        )  # fmt: skip
    return ImportResult(
        dataset_id, mode, total.created, total.updated, total.deleted, state.row_count,
        state.data_version, rows_unchanged=total.unchanged,
    )  # fmt: skip


def delete_rows(
    engine: sa.Engine,
    dataset_id: str,
    keys: Sequence[object],
    *,
    by_row_id: bool = False,
    made_by: str = "api",
) -> list[int]:
    """Delete the rows whose row-identifier value is one of `keys` (Python values of the key
    column's type), or whose system id is, with `by_row_id`. Returns the deleted rows' ids;
    a new version is made only when something was deleted."""
    with write_transaction(engine) as conn:
        dataset = store.get_dataset(conn, dataset_id, for_update=True)
        now = version_instant(conn, dataset_id, dt.datetime.now(dt.UTC))
        schema = dataset.table_schema(conn.dialect.name)
        key = None
        if not by_row_id:
            if not dataset.row_identifier:
                raise InvalidUpload(
                    f"Dataset '{dataset_id}' has no row identifier: name rows by their :id",
                    code="soda.row.delete-without-primary-key",
                )
            key = schema.column(dataset.row_identifier)
            if key is None:  # the catalog names a column the table lacks: never written so
                raise NotFound(f"Dataset '{dataset_id}' has no column {dataset.row_identifier}")
        create_history_table(conn, dataset.data_table, schema.columns)
        deleted = delete_stored_rows(
            conn, dataset.data_table, schema.columns, key, list(keys), now=now
        )
        if deleted:
            counts = WriteCounts(deleted=len(deleted))
            state = state_after(conn, dataset, counts, now, dataset.row_identifier)
            store.update_data_state(conn, dataset_id=dataset_id, state=state)
            record_version(
                conn, dataset_id=dataset_id, state=state, columns=dataset.columns,
                operation="delete", counts=counts, made_by=made_by,
            )  # fmt: skip
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


def state_after(
    conn: sa.Connection,
    dataset: DatasetRecord,
    counts: WriteCounts,
    now: dt.datetime,
    key: str | None,
) -> store.DataState:
    """The dataset's state after rows changed in its current table (summary refreshed)."""
    row_count = dataset.row_count + counts.created - counts.deleted
    dimensions = _refresh_summary(conn, dataset, row_count)
    dense, low = _row_ids(conn, dataset.data_table, row_count)
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
