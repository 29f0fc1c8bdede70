"""A dataset's versions: one per published load or write, each with its counts and author.

A version's rows live in the data table current when it was made and that table's history
(datastore.history). Versions of one column layout share a data table; a load that changes the
columns starts a new table and the old one stays, untouched, for the versions made in it, until
pruning drops the versions that reference it. The record of each version (dataset_versions)
says where its rows are, what its columns were and how it differed from the one before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from civicport.catalog.records import ColumnRecord, DatasetRecord
from civicport.catalog.store import DataState, get_dataset, utc
from civicport.datastore.history import highest_id, prune_history, rows_at_sql
from civicport.datastore.load import drop_data_table
from civicport.datastore.tables import ColumnSchema, TableSchema, history_table_name
from civicport.datastore.transactions import write_transaction
from civicport.datastore.writes import WriteCounts
from civicport.db.schema import dataset_versions, datasets
from civicport.errors import NotFound

OPERATIONS = ("create", "replace", "append", "upsert", "delete", "rollback")
# How a version number is written where people and programs name one (?version=3): ASCII
# digits only, and few enough that every database's integer holds it.
VERSION_NUMBER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Version:
    """One published state of a dataset's rows."""

    dataset_id: str
    version: int
    made_at: dt.datetime
    made_by: str
    operation: str
    rows_added: int
    rows_changed: int
    rows_removed: int
    row_count: int
    data_table: str
    history_table: str
    columns: tuple[ColumnRecord, ...]
    row_identifier: str | None
    detail: Mapping[str, Any]

    def schema(self) -> tuple[ColumnSchema, ...]:
        return tuple(
            ColumnSchema(c.field_name, c.soda_type, c.display_name, c.description)
            for c in self.columns
        )


def version_instant(conn: sa.Connection, dataset_id: str | None, now: dt.datetime) -> dt.datetime:
    """The instant a new version of the dataset is stamped with: `now` to the millisecond (what
    SQLite stores), and later than the dataset's last version, so each version's rows can be
    told apart by their `_updated_at`."""
    instant = now.astimezone(dt.UTC).replace(microsecond=now.microsecond // 1000 * 1000)
    if dataset_id is None:
        return instant
    last = conn.execute(
        sa.select(sa.func.max(dataset_versions.c.made_at)).where(
            dataset_versions.c.dataset_id == dataset_id
        )
    ).scalar()
    if last is not None and instant <= utc(last):
        instant = utc(last) + dt.timedelta(milliseconds=1)
    return instant


def record_version(
    conn: sa.Connection,
    *,
    dataset_id: str,
    state: DataState,
    columns: Sequence[ColumnRecord],
    operation: str,
    counts: WriteCounts,
    made_by: str,
    detail: Mapping[str, Any] | None = None,
) -> Version:
    """Record the version a write just made (state.data_version, stamped state.data_updated_at),
    in the caller's transaction."""
    version = Version(
        dataset_id=dataset_id,
        version=state.data_version,
        made_at=state.data_updated_at,
        made_by=made_by,
        operation=operation,
        rows_added=counts.created,
        rows_changed=counts.updated,
        rows_removed=counts.deleted,
        row_count=state.row_count,
        data_table=state.data_table,
        history_table=history_table_name(state.data_table),
        columns=tuple(columns),
        row_identifier=state.row_identifier,
        detail=dict(detail or {}),
    )
    values = dataclasses.asdict(version)
    values["columns"] = [dataclasses.asdict(c) for c in columns]
    conn.execute(dataset_versions.insert().values(**values))
    return version


def list_versions(conn: sa.Connection, dataset_id: str) -> list[Version]:
    """The dataset's kept versions, newest first."""
    rows = conn.execute(
        sa.select(dataset_versions)
        .where(dataset_versions.c.dataset_id == dataset_id)
        .order_by(dataset_versions.c.version.desc())
    )
    return [_decode(row) for row in rows.mappings()]


def get_version(conn: sa.Connection, dataset_id: str, number: int) -> Version:
    """A kept version; NotFound saying which versions are kept otherwise."""
    row = (
        conn.execute(
            sa.select(dataset_versions).where(
                dataset_versions.c.dataset_id == dataset_id, dataset_versions.c.version == number
            )
        )
        .mappings()
        .first()
    )
    if row is not None:
        return _decode(row)
    kept = sorted(v.version for v in list_versions(conn, dataset_id))
    listed = f"versions {kept[0]} to {kept[-1]} are kept" if kept else "no version is kept"
    raise NotFound(f"Dataset '{dataset_id}' has no version {number}; {listed}")


def _decode(row: Mapping[str, Any]) -> Version:
    values = dict(row)
    values["made_at"] = utc(values["made_at"])
    values["columns"] = tuple(ColumnRecord(**c) for c in values["columns"])
    values["detail"] = dict(values["detail"] or {})
    return Version(**values)


def rows_at_select(version: Version, dialect: str) -> str:
    """A SELECT of the version's rows (system and data columns)."""
    return rows_at_sql(version.data_table, version.schema(), version.made_at, dialect)


def version_table_schema(record: DatasetRecord, version: Version, dialect: str) -> TableSchema:
    """What the SoQL compiler needs to read a version's rows: the dataset's own schema for the
    current version, else the version's columns over a SELECT of its rows then."""
    if version.version == record.data_version:
        return record.table_schema(dialect)
    columns = version.schema()
    return TableSchema(
        table_name=version.data_table,
        columns=columns,
        dialect=dialect,
        source_sql=rows_at_select(version, dialect),
    )


def next_row_id(conn: sa.Connection, dataset_id: str, current_table: str) -> int:
    """The `:id` a new row of the dataset gets: above every id its kept versions ever used, so
    an id never names two different rows, even after a rollback to an older table."""
    # Every write asks: the tables' names only, not the whole version records.
    kept = sa.select(dataset_versions.c.data_table).where(
        dataset_versions.c.dataset_id == dataset_id
    )
    tables = {current_table, *conn.execute(kept.distinct()).scalars()}
    return 1 + max(highest_id(conn, t) for t in tables)


def prune_versions(conn: sa.Connection, dataset: DatasetRecord, keep: int) -> list[str]:
    """Forget all but the newest `keep` versions of a dataset (at least the current one): their
    records, the history rows only they needed, and the tables no kept version uses. Returns the
    tables no longer needed, for the caller to drop once this commits (a reader may still be in
    one)."""
    versions = list_versions(conn, dataset.id)
    kept, dropped = versions[: max(keep, 1)], versions[max(keep, 1) :]
    if not dropped:
        return []
    oldest = kept[-1]
    conn.execute(
        dataset_versions.delete().where(
            dataset_versions.c.dataset_id == dataset.id,
            dataset_versions.c.version < oldest.version,
        )
    )
    in_use = {v.data_table for v in kept} | {dataset.data_table}
    for table in in_use:
        prune_history(conn, table, oldest.made_at)
    return sorted({v.data_table for v in dropped} - in_use)


def prune_all(engine: sa.Engine, keep: int) -> int:
    """prune_versions for every dataset, one transaction each; returns how many tables were
    dropped. The worker runs it daily with the keep_versions setting."""
    with engine.connect() as conn:
        ids = conn.execute(sa.select(datasets.c.id).order_by(datasets.c.id)).scalars().all()
    dropped = 0
    for dataset_id in ids:
        with write_transaction(engine) as conn:
            unused = prune_versions(conn, get_dataset(conn, dataset_id, for_update=True), keep)
        drop_tables(engine, unused)
        dropped += len(unused)
    return dropped


def forget_earlier_versions(conn: sa.Connection, dataset: DatasetRecord) -> list[str]:
    """Keep only the current version and empty the current table's history: after a privacy
    decision rewrote the rows, the earlier versions still hold what it removed. Returns the
    tables to drop after the commit, as prune_versions."""
    unused = prune_versions(conn, dataset, 1)
    history = history_table_name(dataset.data_table)
    if sa.inspect(conn).has_table(history):
        conn.exec_driver_sql(f'DELETE FROM "{history}"')
    return unused


def drop_tables(engine: sa.Engine, tables: Sequence[str]) -> None:
    """Drop data tables (with their history, full-text and summary tables) nothing points at."""
    if not tables:
        return
    with write_transaction(engine) as conn:
        for table in tables:
            drop_data_table(conn, history_table_name(table))
            drop_data_table(conn, table)
