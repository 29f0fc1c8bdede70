"""Rolling a dataset back to one of its kept versions, in one step and one transaction.

The rollback is itself a new version: the rows of the chosen version become current again, and
everything in between stays in the history, so a rollback can be undone by another. Rows come
back with their own `:id` and `:created_at`; those that differ from the current ones get a new
`:updated_at`, so "what changed since" stays true for clients following the dataset.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civicport.catalog import store
from civicport.catalog.records import DatasetRecord
from civicport.catalog.service import ImportResult, index_table, same_layout, state_after
from civicport.catalog.versions import (
    Version,
    get_version,
    record_version,
    rows_at_select,
    version_instant,
)
from civicport.datastore.history import SYSTEM_NAMES, create_history_table, data_names, stamp
from civicport.datastore.load import (
    create_data_table,
    drop_data_table,
)
from civicport.datastore.tables import data_table_name, q, stage_table_name
from civicport.datastore.transactions import write_transaction
from civicport.datastore.writes import WriteCounts, apply_upsert
from civicport.errors import Conflict


def roll_back(engine: sa.Engine, dataset_id: str, number: int, *, made_by: str) -> ImportResult:
    """Make version `number` of the dataset current again, as a new version. NotFound when the
    version is not kept; Conflict when it is the current one."""
    with write_transaction(engine) as conn:
        dataset = store.get_dataset(conn, dataset_id, for_update=True)
        target = get_version(conn, dataset_id, number)
        if number == dataset.data_version:
            raise Conflict(f"Version {number} of dataset '{dataset_id}' is already the current one")
        now = version_instant(conn, dataset_id, dt.datetime.now(dt.UTC))
        if _same_table(dataset, target):
            counts, state = _restore_in_place(conn, dataset, target, now)
        else:
            counts, state = _restore_as_table(conn, dataset, target, now)
            store.replace_columns(conn, dataset_id=dataset_id, columns=target.columns)
        store.update_data_state(conn, dataset_id=dataset_id, state=state)
        record_version(
            conn, dataset_id=dataset_id, state=state, columns=target.columns,
            operation="rollback", counts=counts, made_by=made_by, detail={"to": number},
        )  # fmt: skip
    return ImportResult(
        dataset_id, "rollback", counts.created, counts.updated, counts.deleted,
        state.row_count, state.data_version,
    )  # fmt: skip


def _same_table(dataset: DatasetRecord, target: Version) -> bool:
    return target.data_table == dataset.data_table and same_layout(
        dataset, target.schema(), target.row_identifier
    )


def _restore_in_place(
    conn: sa.Connection, dataset: DatasetRecord, target: Version, now: dt.datetime
) -> tuple[WriteCounts, store.DataState]:
    """Apply the target version's rows to the current table as a diff keyed on `:id`."""
    columns = list(target.schema())
    create_history_table(conn, dataset.data_table, columns)
    stage = stage_table_name(dataset.data_table)
    drop_data_table(conn, stage)
    create_data_table(conn, stage, columns)
    _copy_version(conn, target, stage, now)
    counts = apply_upsert(
        conn, dataset.data_table, stage, columns,
        key="_id", now=now, first_id=0, table_columns=columns, remove_missing=True,
    )  # fmt: skip
    drop_data_table(conn, stage)
    return counts, state_after(conn, dataset, counts, now, target.row_identifier)


def _restore_as_table(
    conn: sa.Connection, dataset: DatasetRecord, target: Version, now: dt.datetime
) -> tuple[WriteCounts, store.DataState]:
    """Copy the target version's rows into a new table (its columns differ from today's)."""
    columns = list(target.schema())
    version = dataset.data_version + 1
    name = data_table_name(dataset.id, version)
    create_data_table(conn, name, columns)
    count = _copy_version(conn, target, name, now)
    create_history_table(conn, name, columns)
    state = index_table(conn, name, version, columns, count, target.row_identifier, now)
    return WriteCounts(created=count, deleted=dataset.row_count), state


def _copy_version(conn: sa.Connection, target: Version, into: str, now: dt.datetime) -> int:
    """Insert the target version's rows into the table `into`, stamped updated at `now`."""
    names = [*SYSTEM_NAMES, *data_names(target.schema())]
    listed = ", ".join(q(n) for n in names)
    selected = ", ".join(":now" if n == "_updated_at" else q(n) for n in names)
    return conn.execute(
        sa.text(
            f"INSERT INTO {q(into)} ({listed}) SELECT {selected} "
            f"FROM ({rows_at_select(target, conn.dialect.name)}) AS v"
        ),
        {"now": stamp(now, conn.dialect.name)},
    ).rowcount
