"""What the catalog hands to doors (API, CLI, pages): frozen records, never raw rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from civicport.datastore.fulltext import fts_table_name
from civicport.datastore.summary import measures, summary_table_name
from civicport.datastore.tables import ColumnSchema, SummarySchema, TableSchema

AUDIENCES = ("public", "internal", "private")
CHART_KINDS = ("bar", "line", "pie", "histogram")
CHART_AGGREGATES = ("count", "sum", "avg", "min", "max")


@dataclass(frozen=True)
class SavedChart:
    """A chart the publisher saved with a dataset: offered first on its chart tab, and what
    makes the dataset a "chart" in the catalog's type facet. `y` is the number column the
    aggregate reads (None for count)."""

    title: str
    kind: str
    x: str
    aggregate: str = "count"
    y: str | None = None


@dataclass(frozen=True)
class ColumnRecord:
    """One column of a dataset as published."""

    field_name: str
    display_name: str
    soda_type: str
    description: str
    position: int


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset's catalog entry and the state of its current rows."""

    id: str
    title: str
    description: str
    category: str | None
    tags: tuple[str, ...]
    department: str | None
    publisher: str | None
    contact_name: str | None
    contact_email: str | None
    license_id: str | None
    license_name: str | None
    license_url: str | None
    audience: str
    update_frequency: str | None
    spatial: str | None
    temporal: str | None
    source_link: str | None
    attribution: str | None
    attribution_link: str | None
    custom_fields: dict[str, Any]
    charts: tuple[SavedChart, ...]
    row_identifier: str | None
    data_table: str
    data_version: int
    row_count: int
    ids_dense: bool
    min_row_id: int
    summary_dimensions: tuple[str, ...] | None
    view_count: int
    created_at: dt.datetime
    metadata_updated_at: dt.datetime
    data_updated_at: dt.datetime
    columns: tuple[ColumnRecord, ...]
    owner_id: int | None = None  # the account that created it (None: the command line)
    collaborators: frozenset[int] = frozenset()  # accounts that share the owner's rights
    load_rules: dict[str, Any] | None = None  # ingest.checks.LoadRules as JSON; None: defaults
    overdue_alerted_at: dt.datetime | None = None  # the owner's last overdue alert

    def table_schema(self, dialect: str, *, summaries: bool = True) -> TableSchema:
        """What the SoQL compiler needs: the current table, its columns, its `$q` index and
        (unless `summaries` is off) its summary table."""
        columns = tuple(
            ColumnSchema(c.field_name, c.soda_type, c.display_name, c.description)
            for c in self.columns
        )
        has_text = any(c.soda_type == "text" for c in columns)
        return TableSchema(
            table_name=self.data_table,
            columns=columns,
            dialect=dialect,
            ids_dense=self.ids_dense,
            min_row_id=self.min_row_id,
            fts_table=fts_table_name(self.data_table) if has_text else None,
            summary=self._summary_schema(columns) if summaries else None,
        )

    def _summary_schema(self, columns: tuple[ColumnSchema, ...]) -> SummarySchema | None:
        if not self.summary_dimensions:
            return None
        return SummarySchema(
            table_name=summary_table_name(self.data_table),
            dimensions=self.summary_dimensions,
            measures=tuple(measures(columns)),
        )


@dataclass(frozen=True)
class DatasetMetadata:
    """What an import sets about a new dataset (everything but its rows and columns)."""

    title: str
    description: str = ""
    category: str | None = None
    tags: tuple[str, ...] = ()
    department: str | None = None
    publisher: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    license_id: str | None = None
    license_name: str | None = None
    license_url: str | None = None
    audience: str = "private"
    update_frequency: str | None = None
    spatial: str | None = None
    temporal: str | None = None
    source_link: str | None = None
    attribution: str | None = None
    attribution_link: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    charts: tuple[SavedChart, ...] = ()
