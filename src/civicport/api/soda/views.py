"""``/api/views/{id}.json`` (dataset metadata in Socrata's "view" shape, soda.md §8.1) and the
legacy full export ``/api/views/{id}/rows.csv?accessType=DOWNLOAD`` (§8.5)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from civicport.api.deps import EngineDep, PrincipalDep, visible_dataset
from civicport.api.renderers import CONTENT_TYPES, render_csv
from civicport.api.renderers.cells import EXPORT_CSV_ENCODERS
from civicport.api.soda.caching import http_date
from civicport.api.soda.rows import execute, respond
from civicport.api.versions import version_param
from civicport.catalog.records import ColumnRecord, DatasetRecord
from civicport.catalog.store import view_count
from civicport.catalog.versions import get_version, version_table_schema
from civicport.datastore.types import VIEWS_TYPE_NAMES
from civicport.soql.compiler import compile_query
from civicport.soql.params import SodaParams

router = APIRouter(tags=["Views"])

VIEW_CONTENT_TYPE = "application/json; charset=utf-8"
# "Everything": the export has no row limit (it streams), but LIMIT needs a number.
EXPORT_LIMIT = str(2**62)


@router.get(
    "/api/views/{dataset_id}.json",
    summary="A dataset's metadata in Socrata's view shape (sodapy get_metadata)",
    response_class=Response,
)
def get_view(dataset_id: str, engine: EngineDep, principal: PrincipalDep) -> Response:
    """Name, description, category, tags, license, timestamps (epoch seconds) and columns."""
    with engine.connect() as conn:
        record = visible_dataset(conn, dataset_id, principal)
        record = dataclasses.replace(record, view_count=view_count(conn, dataset_id))
    body = orjson.dumps(view_json(record), option=orjson.OPT_INDENT_2) + b"\n"
    return Response(
        body,
        headers={"Content-Type": VIEW_CONTENT_TYPE, "Last-Modified": http_date(_modified(record))},
    )


@router.get(
    "/api/views/{dataset_id}/rows.csv",
    summary="Download every row as CSV (display-name header; streamed)",
    response_class=Response,
)
def export_rows_csv(
    dataset_id: str,
    engine: EngineDep,
    principal: PrincipalDep,
    version: str | None = Query(None, description="A kept version's number (default: current)"),
) -> Response:
    """The whole dataset in `:id` order, as Socrata's legacy export writes it: a header of
    display names and dates as `MM/DD/YYYY hh:mm:ss AM`. Scripts add `?accessType=DOWNLOAD`;
    it changes nothing. `?version=N` exports a kept earlier version instead."""
    conn = engine.connect()
    try:
        record = visible_dataset(conn, dataset_id, principal)
        number = version_param(version) if version else None
        columns = record.columns
        schema = record.table_schema(conn.dialect.name)
        if number is not None:
            kept = get_version(conn, dataset_id, number)
            columns = kept.columns
            schema = version_table_schema(record, kept, conn.dialect.name)
        compiled = compile_query(SodaParams(order=":id", limit=EXPORT_LIMIT), schema)
    except BaseException:
        conn.close()
        raise
    display = {c.field_name: c.display_name for c in columns}
    header = [display.get(c.name, c.name) for c in compiled.columns]
    headers = {
        "Last-Modified": http_date(record.data_updated_at),
        "Content-Disposition": f'attachment; filename="{_export_name(record.id, number)}.csv"',
    }
    rows = execute(conn, compiled.sql, compiled.params)
    return respond(
        rows,
        lambda batches: render_csv(
            compiled.columns, batches, header=header, encoders=EXPORT_CSV_ENCODERS
        ),
        media_type=CONTENT_TYPES["csv"],
        headers=headers,
    )


def _export_name(dataset_id: str, version: int | None) -> str:
    return dataset_id if version is None else f"{dataset_id}-v{version}"


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _modified(record: DatasetRecord) -> dt.datetime:
    return max(record.metadata_updated_at, record.data_updated_at)


def _column_json(column: ColumnRecord, position: int) -> dict[str, Any]:
    type_name = VIEWS_TYPE_NAMES.get(column.soda_type, column.soda_type)
    return {
        # Column ids are positions: stable while the schema is, which is all clients assume.
        "id": position,
        "name": column.display_name,
        "dataTypeName": type_name,
        "description": column.description,
        "fieldName": column.field_name,
        "position": position,
        "renderTypeName": type_name,
        "tableColumnId": position,
        "format": {},
    }


def view_json(record: DatasetRecord) -> dict[str, Any]:
    """The dataset as Socrata's `/api/views/{id}.json` describes one (soda.md §8.1)."""
    # Socrata's positions count from 1.
    columns = [_column_json(c, n) for n, c in enumerate(record.columns, start=1)]
    row_identifier_id = next(
        (c["id"] for c in columns if c["fieldName"] == record.row_identifier), None
    )
    owner = {
        "id": record.department or record.publisher or "city",
        "displayName": record.publisher or record.department or "",
        "screenName": record.publisher or record.department or "",
        "type": "interactive",
        "flags": [],
    }
    metadata: dict[str, Any] = {
        "custom_fields": record.custom_fields,
        "attachments": [],
        "availableDisplayTypes": ["table", "fatrow", "page"],
    }
    view: dict[str, Any] = {
        "id": record.id,
        "name": record.title,
        "assetType": "dataset",
        "attribution": record.attribution,
        "attributionLink": record.attribution_link,
        "averageRating": 0,
        "category": record.category,
        "createdAt": _epoch(record.created_at),
        "description": record.description,
        "displayType": "table",
        "downloadCount": 0,
        "hideFromCatalog": False,
        "hideFromDataJson": False,
        "licenseId": record.license_id,
        "newBackend": True,
        "numberOfComments": 0,
        "provenance": "official",
        "publicationAppendEnabled": False,
        "publicationDate": _epoch(record.created_at),
        "publicationStage": "published",
        "rowsUpdatedAt": _epoch(record.data_updated_at),
        "viewCount": record.view_count,
        "viewLastModified": _epoch(_modified(record)),
        "viewType": "tabular",
        "rowCount": record.row_count,
        "columns": columns,
        "grants": [{"inherited": False, "type": "viewer", "flags": ["public"]}],
        "license": {"name": record.license_name, "termsLink": record.license_url},
        "metadata": metadata,
        "owner": owner,
        "tableAuthor": owner,
        "query": {},
        "rights": ["read"],
        "tags": list(record.tags),
        "flags": ["default"],
    }
    if row_identifier_id is not None:
        view["rowIdentifierColumnId"] = row_identifier_id
        metadata["rowIdentifier"] = row_identifier_id
    return view
