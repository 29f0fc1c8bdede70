"""Catalog rows in and out: keyword-only functions taking a Connection, returning records."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from civicport.catalog.records import ColumnRecord, DatasetMetadata, DatasetRecord, SavedChart
from civicport.catalog.search import has_charts, is_map
from civicport.db.schema import dataset_collaborators, dataset_columns, datasets
from civicport.errors import NotFound


@dataclass(frozen=True)
class DataState:
    """Where a dataset's current rows are and what the catalog records about them."""

    data_table: str
    data_version: int
    row_count: int
    ids_dense: bool
    min_row_id: int
    data_updated_at: dt.datetime
    row_identifier: str | None
    summary_dimensions: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Facets:
    """How many matching datasets carry each category, tag, department and type ("table" or
    "map"), most frequent first."""

    categories: list[tuple[str, int]]
    tags: list[tuple[str, int]]
    departments: list[tuple[str, int]]
    types: list[tuple[str, int]]


def get_dataset(conn: sa.Connection, dataset_id: str, *, for_update: bool = False) -> DatasetRecord:
    """The dataset with this id. NotFound if there is none.

    `for_update` locks its row until the transaction ends (PostgreSQL; SQLite writers are
    serialized by BEGIN IMMEDIATE already), so concurrent writes to one dataset queue up.
    """
    query = sa.select(datasets).where(datasets.c.id == dataset_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"Dataset '{dataset_id}' not found")
    return _records(conn, [row])[0]


def dataset_exists(conn: sa.Connection, dataset_id: str) -> bool:
    query = sa.select(datasets.c.id).where(datasets.c.id == dataset_id)
    return conn.execute(query).first() is not None


def dataset_page(
    conn: sa.Connection,
    where: sa.ColumnElement[bool],
    order: Sequence[sa.ColumnElement[Any]],
    *,
    limit: int,
    offset: int,
) -> list[DatasetRecord]:
    """The datasets matching `where` (catalog.search), in `order`, from `offset` on."""
    rows = conn.execute(
        sa.select(datasets)
        .where(where)
        .order_by(*order)
        .limit(max(limit, 0))
        .offset(max(offset, 0))
    ).all()
    return _records(conn, rows)


def matching_facets(conn: sa.Connection, where: sa.ColumnElement[bool]) -> tuple[Facets, int]:
    """Facets over the datasets matching `where` (catalog.search), and how many match: one
    pass over their categories, departments, tags and types."""
    # Tags as JSON text, parsed here by orjson: several times faster than the JSON type's own
    # decoding, which dominated this pass.
    tags_json = sa.cast(datasets.c.tags, sa.Text)
    query = sa.select(datasets.c.category, datasets.c.department, tags_json, is_map(), has_charts())
    rows = conn.execute(query.where(where)).all()
    categories = Counter(row.category for row in rows if row.category)
    departments = Counter(row.department for row in rows if row.department)
    tags = Counter(tag for row in rows for tag in set(orjson.loads(row[2] or "[]")))
    # A dataset is a map or a table, and also a chart when it has saved charts.
    types = Counter("map" if row[3] else "table" for row in rows)
    types.update("chart" for row in rows if row[4])
    facets = Facets(
        categories=_ranked(categories),
        tags=_ranked(tags),
        departments=_ranked(departments),
        types=_ranked(types),
    )
    return facets, len(rows)


def count_matching(conn: sa.Connection, where: sa.ColumnElement[bool]) -> int:
    """How many datasets match `where` (catalog.search)."""
    query = sa.select(sa.func.count()).select_from(datasets).where(where)
    return int(conn.execute(query).scalar_one())


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0].lower()))


def count_view(conn: sa.Connection, dataset_id: str) -> None:
    """Count one view of a dataset page (for the "most viewed" sort). One UPDATE, and no
    metadata timestamp moves: a view is not a change to the dataset."""
    conn.execute(
        datasets.update()
        .where(datasets.c.id == dataset_id)
        .values(view_count=datasets.c.view_count + 1)
    )


def view_count(conn: sa.Connection, dataset_id: str) -> int:
    """How many times the dataset's page has been viewed, as of now (records cached by their
    stamp do not follow it: a view is not a change to the dataset)."""
    query = sa.select(datasets.c.view_count).where(datasets.c.id == dataset_id)
    return int(conn.execute(query).scalar_one_or_none() or 0)


def insert_dataset(
    conn: sa.Connection,
    *,
    dataset_id: str,
    metadata: DatasetMetadata,
    state: DataState,
    columns: Sequence[ColumnRecord],
    now: dt.datetime,
    owner_id: int | None = None,
) -> None:
    """Add a dataset's catalog row and its columns."""
    conn.execute(
        datasets.insert().values(
            id=dataset_id,
            **_metadata_values(metadata),
            **asdict(state),
            owner_id=owner_id,
            created_at=now,
            metadata_updated_at=now,
        )
    )
    _insert_columns(conn, dataset_id, columns)


def update_metadata(
    conn: sa.Connection, *, dataset_id: str, metadata: DatasetMetadata, now: dt.datetime
) -> None:
    """Replace a dataset's metadata, audience included, and move its metadata time."""
    conn.execute(
        datasets.update()
        .where(datasets.c.id == dataset_id)
        .values(**_metadata_values(metadata), metadata_updated_at=now)
    )


def _metadata_values(metadata: DatasetMetadata) -> dict[str, Any]:
    """Column values of `metadata`: JSON lists for its tags and (as dicts) its charts."""
    values = asdict(metadata)
    values["tags"] = list(metadata.tags)
    return values


def update_data_state(conn: sa.Connection, *, dataset_id: str, state: DataState) -> None:
    """Point the dataset at its current rows after a write (the commit makes it visible)."""
    conn.execute(datasets.update().where(datasets.c.id == dataset_id).values(**asdict(state)))


def set_load_rules(
    conn: sa.Connection, dataset_id: str, rules: dict[str, Any] | None, *, now: dt.datetime
) -> None:
    """Keep the dataset's load rules (ingest.checks.LoadRules as JSON; None: the defaults)."""
    conn.execute(
        datasets.update()
        .where(datasets.c.id == dataset_id)
        .values(load_rules=rules, metadata_updated_at=now)
    )


def replace_columns(
    conn: sa.Connection, *, dataset_id: str, columns: Sequence[ColumnRecord]
) -> None:
    """Record a new column list (a replace may change the schema)."""
    conn.execute(dataset_columns.delete().where(dataset_columns.c.dataset_id == dataset_id))
    _insert_columns(conn, dataset_id, columns)


def _insert_columns(conn: sa.Connection, dataset_id: str, columns: Sequence[ColumnRecord]) -> None:
    conn.execute(
        dataset_columns.insert(),
        [{"dataset_id": dataset_id, **asdict(column)} for column in columns],
    )


def _records(conn: sa.Connection, rows: Sequence[sa.Row[Any]]) -> list[DatasetRecord]:
    """Dataset rows → records, fetching all their columns in one query."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    by_dataset: dict[str, list[ColumnRecord]] = {i: [] for i in ids}
    for c in conn.execute(
        sa.select(dataset_columns)
        .where(dataset_columns.c.dataset_id.in_(ids))
        .order_by(dataset_columns.c.dataset_id, dataset_columns.c.position)
    ):
        by_dataset[c.dataset_id].append(
            ColumnRecord(c.field_name, c.display_name, c.soda_type, c.description, c.position)
        )
    collaborators: dict[str, set[int]] = {i: set() for i in ids}
    for dataset_id, user_id in conn.execute(
        sa.select(dataset_collaborators.c.dataset_id, dataset_collaborators.c.user_id).where(
            dataset_collaborators.c.dataset_id.in_(ids)
        )
    ):
        collaborators[dataset_id].add(user_id)
    return [
        _record(row, tuple(by_dataset[row.id]), frozenset(collaborators[row.id])) for row in rows
    ]


def set_collaborators(
    conn: sa.Connection, dataset_id: str, user_ids: Sequence[int], now: dt.datetime
) -> None:
    """Make `user_ids` the dataset's collaborators. Moves the metadata time, so cached records
    (auth.policy) see the change at once."""
    conn.execute(
        dataset_collaborators.delete().where(dataset_collaborators.c.dataset_id == dataset_id)
    )
    if user_ids:
        conn.execute(
            dataset_collaborators.insert(),
            [{"dataset_id": dataset_id, "user_id": u} for u in sorted(set(user_ids))],
        )
    conn.execute(
        datasets.update().where(datasets.c.id == dataset_id).values(metadata_updated_at=now)
    )


def _record(
    row: sa.Row[Any], columns: tuple[ColumnRecord, ...], collaborators: frozenset[int]
) -> DatasetRecord:
    values = row._asdict()
    values["tags"] = tuple(values["tags"] or ())
    values["custom_fields"] = dict(values["custom_fields"] or {})
    values["charts"] = tuple(SavedChart(**chart) for chart in values["charts"] or ())
    values["ids_dense"] = bool(values["ids_dense"])
    if values["summary_dimensions"] is not None:
        values["summary_dimensions"] = tuple(values["summary_dimensions"])
    for name in ("created_at", "metadata_updated_at", "data_updated_at"):
        values[name] = utc(values[name])
    if values["overdue_alerted_at"] is not None:
        values["overdue_alerted_at"] = utc(values["overdue_alerted_at"])
    return DatasetRecord(**values, columns=columns, collaborators=collaborators)


def utc(value: dt.datetime) -> dt.datetime:
    """A stored time as aware UTC."""
    # SQLite hands back the naive UTC value we stored; PostgreSQL an aware one in its timezone.
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


_STAMP_SQL = {
    "sqlite": "SELECT data_version, metadata_updated_at, audience FROM datasets WHERE id = ?",
    "postgresql": "SELECT data_version, metadata_updated_at, audience FROM datasets WHERE id = %s",
}


def dataset_stamp(conn: sa.Connection, dataset_id: str) -> tuple[Any, ...] | None:
    """What changes whenever a dataset's record does (its data version, metadata time and
    audience), or None if there is no such dataset. One indexed row read in driver SQL: every
    API request pays for it, so a cached DatasetRecord is reused only while it is current.
    """
    row = conn.exec_driver_sql(_STAMP_SQL[conn.dialect.name], (dataset_id,)).first()
    return None if row is None else tuple(row)
