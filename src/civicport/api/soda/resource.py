"""``GET /resource/{id}.{json,csv,geojson}`` and ``GET /resource/{id}/{row_id}.json``: SoQL reads.

Per request: one catalog lookup (through the visibility rule), a compile (cached by the
compiler), one SQL statement, and a renderer writing SODA's exact bytes (soda.md §2).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.responses import Response

from civicport.api.deps import EngineDep, PrincipalDep, SettingsDep, visible_dataset
from civicport.api.errors import InvalidRequest, UnsupportedFormat
from civicport.api.renderers import (
    CONTENT_TYPES,
    render_csv,
    render_geojson,
    render_geojson_feature,
    render_json,
    render_json_object,
)
from civicport.api.soda.caching import etag_for, http_date, is_not_modified, not_modified
from civicport.api.soda.rows import Renderer, execute, respond
from civicport.auth.principal import Principal
from civicport.catalog.records import DatasetRecord
from civicport.config import Settings
from civicport.datastore.rowids import parse_row_id
from civicport.datastore.tables import TableSchema
from civicport.datastore.types import HEADER_TYPE_NAMES
from civicport.errors import NotFound
from civicport.soql.compiler import CompiledQuery, compile_query
from civicport.soql.params import SodaParams

router = APIRouter(tags=["SODA"])

DEFAULT_LIMIT = 1000
# Parameters this layer reads itself; the rest is SoQL for the compiler.
HTTP_PARAMS = frozenset({"$$bom", "$$app_token"})
# Beyond this many characters X-SODA2-Fields/Types are dropped, as Socrata does (soda.md §2.3).
SCHEMA_HEADERS_MAX = 5000
ACCEPT_FORMATS = (("text/csv", "csv"), ("application/vnd.geo+json", "geojson"))

# The SoQL parameters, for /docs only: the route reads the query string itself (field=value
# filters have arbitrary names, and `$` names match case-insensitively).
SOQL_PARAMETERS = {
    "parameters": [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
         "description": description}
        for name, description in (
            ("$select", "Columns and expressions to return, e.g. `name, count(*) AS n`"),
            ("$where", "Row filter, e.g. `score > 80 AND inspected >= '2020-01-01'`"),
            ("$order", "Sort, e.g. `score DESC, name`; default `:id`"),
            ("$group", "Group-by expressions"),
            ("$having", "Filter on grouped results"),
            ("$limit", "Most rows to return; default 1000, no maximum"),
            ("$offset", "Rows to skip"),
            ("$q", "Full-text search over the text columns"),
            ("$query", "A whole SoQL statement instead of the separate parameters"),
            ("$$bom", "`true` to start a CSV answer with a byte-order mark"),
        )
    ]
}  # fmt: skip

Row = Sequence[Any]


@router.get(
    "/resource/{dataset_id}.{fmt}",
    summary="Query a dataset's rows with SoQL (json, csv or geojson)",
    response_class=Response,
    openapi_extra=SOQL_PARAMETERS,
)
def query_rows(
    dataset_id: str,
    fmt: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> Response:
    """SODA 2.1 read: `$select`, `$where`, `$order`, `$group`, `$having`, `$limit` (default
    1000), `$offset`, `$q`, `$query` and `field=value` filters. Rows come in `:id` order unless
    `$order` says otherwise."""
    return _answer(dataset_id, _known_format(fmt), request, engine, settings, principal)


@router.get(
    "/resource/{dataset_id}",
    summary="Query a dataset's rows; the format follows the Accept header (JSON by default)",
    response_class=Response,
    openapi_extra=SOQL_PARAMETERS,
)
def query_rows_negotiated(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> Response:
    """Same as `/resource/{id}.json`, or CSV / GeoJSON when the Accept header asks for them."""
    accept = request.headers.get("accept", "")
    fmt = next((f for media, f in ACCEPT_FORMATS if media in accept), "json")
    return _answer(dataset_id, fmt, request, engine, settings, principal)


@router.get(
    "/resource/{dataset_id}/{row_id}.{fmt}",
    summary="One row by its :id (or row identifier value)",
    response_class=Response,
)
def get_row(
    dataset_id: str, row_id: str, fmt: str, engine: EngineDep, principal: PrincipalDep
) -> Response:
    """A single row as a bare JSON object (or a GeoJSON Feature); 404 when there is none."""
    fmt = _known_format(fmt)
    if fmt == "csv":
        raise UnsupportedFormat("A single row is available as json or geojson", data={"fmt": fmt})
    with engine.connect() as conn:
        record = visible_dataset(conn, dataset_id, principal)
        filters = [("$where", _row_filter(record, row_id))]
        compiled = _compile(record.table_schema(conn.dialect.name), filters)
        row = conn.exec_driver_sql(compiled.sql, compiled.params).first()
    if row is None:
        raise _row_missing(row_id)
    if fmt == "geojson":
        body = render_geojson_feature(compiled.columns, row)
    else:
        body = render_json_object(compiled.columns, row)
    return Response(body, headers={"Content-Type": CONTENT_TYPES[fmt], **_privacy(record)})


def _known_format(fmt: str) -> str:
    if fmt not in CONTENT_TYPES:
        raise UnsupportedFormat(
            f"Unsupported format '{fmt}': use json, csv or geojson", data={"format": fmt}
        )
    return fmt


def _answer(
    dataset_id: str,
    fmt: str,
    request: Request,
    engine: sa.Engine,
    settings: Settings,
    principal: Principal | None,
) -> Response:
    max_query_length = settings.max_query_length
    items = request.query_params.multi_items()
    length = sum(len(name) + len(value) for name, value in items)
    if length > max_query_length:
        raise InvalidRequest(
            f"The query is too long ({length} characters; the limit is {max_query_length})",
            data={"length": length, "limit": max_query_length},
        )
    soql_items = [(k, v) for k, v in items if k.lower() not in HTTP_PARAMS]
    bom = any(k.lower() == "$$bom" and v.lower() == "true" for k, v in items)
    conn = engine.connect()
    try:
        record = visible_dataset(conn, dataset_id, principal)
        headers = _cache_headers(record, fmt, soql_items)
        if is_not_modified(request.headers, headers["ETag"], record.data_updated_at):
            conn.close()
            return not_modified(headers)
        schema = record.table_schema(conn.dialect.name, summaries=settings.query_summaries)
        compiled = _compile(schema, soql_items)
    except BaseException:
        conn.close()
        raise
    headers.update(_schema_headers(compiled))
    rows = execute(conn, compiled.sql, compiled.params)
    return respond(
        rows, _renderer(fmt, compiled, bom), media_type=CONTENT_TYPES[fmt], headers=headers
    )


def _compile(schema: TableSchema, items: list[tuple[str, str]]) -> CompiledQuery:
    params = SodaParams.from_query_items(items)
    return compile_query(params, schema, default_limit=DEFAULT_LIMIT)


def _renderer(fmt: str, compiled: CompiledQuery, bom: bool) -> Renderer:
    columns = compiled.columns

    def render(batches: Iterable[Sequence[Row]]) -> Iterator[bytes]:
        if fmt == "csv":
            return render_csv(columns, batches, bom=bom)
        if fmt == "geojson":
            return render_geojson(columns, batches)
        return render_json(columns, batches)

    return render


def _cache_headers(record: DatasetRecord, fmt: str, items: list[tuple[str, str]]) -> dict[str, str]:
    modified = http_date(record.data_updated_at)
    return {
        "ETag": etag_for(record.id, record.data_version, fmt, items),
        "Last-Modified": modified,
        "X-SODA2-Truth-Last-Modified": modified,
        "X-SODA2-Data-Out-Of-Date": "false",
        "Vary": "Accept, Accept-Encoding",
        **_privacy(record),
    }


def _privacy(record: DatasetRecord) -> dict[str, str]:
    """Only public answers may be kept by shared caches: the others depend on who asks."""
    return {} if record.audience == "public" else {"Cache-Control": "private"}


def _schema_headers(compiled: CompiledQuery) -> Mapping[str, str]:
    fields = _compact([c.name for c in compiled.columns])
    types = _compact([HEADER_TYPE_NAMES.get(c.soda_type, c.soda_type) for c in compiled.columns])
    if len(fields) + len(types) > SCHEMA_HEADERS_MAX:
        return {"X-SODA2-Warning": "X-SODA2-Fields and X-SODA2-Types omitted: too many columns"}
    return {"X-SODA2-Fields": fields, "X-SODA2-Types": types}


def _compact(values: list[str]) -> str:
    # ensure_ascii: header values must be latin-1; non-ASCII names travel as \\u escapes.
    return json.dumps(values, separators=(",", ":"))


def _row_filter(record: DatasetRecord, row_id: str) -> str:
    """The `$where` that finds one row: by the row-identifier column, else by `:id`."""
    literal = "'" + row_id.replace("'", "''") + "'"
    if record.row_identifier and not row_id.startswith("row-"):
        return f"`{record.row_identifier}` = {literal}"
    if parse_row_id(row_id) is None:
        raise NotFound(f"Row '{row_id}' not found", code="soda.row.not-found", data={"id": row_id})
    return f":id = {literal}"


def _row_missing(row_id: str) -> NotFound:
    return NotFound(f"Row '{row_id}' not found", code="soda.row.not-found", data={"id": row_id})
