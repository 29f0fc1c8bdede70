"""The SODA Producer API (soda.md §9): upsert, replace and delete rows, with an API key.

    POST   /resource/{id}.json | /resource/{id}           upsert (append without a row identifier)
    PUT    /resource/{id}.json | /resource/{id}           replace every row
    DELETE /resource/{id}/{row_id}.json | /resource/{id}/{row_id}   delete one row

Callers authenticate with HTTP Basic: the API key id as user name, its secret as password
(sodapy's ``Socrata(domain, token, username=key_id, password=secret)``). A dataset the caller
may not see answers exactly like a missing one (404); one they see but may not change, 403.

Bodies are a JSON array of row objects (or one object; no Content-Type means JSON, as sodapy
sends it) or CSV whose header row names fields. Values are converted to the columns' types by
the importer's own converters (ingest.values, in the mode used for types a person chose), all
before anything is written; the rows are then applied through the catalog service in one
transaction, so a request changes every row it names or none.

Writes pass the privacy guard like every load (privacy.guard): the dataset's decisions apply to
the rows written (a hashed column is hashed, a generalised address stored as its hundred block,
fields of a dropped column ignored), and a write bringing personal data no decision covers into
a public dataset answers 409 `privacy.unresolved`, naming each column and kind, with nothing
written.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from civicport.api.deps import authenticated, basic_credentials
from civicport.api.throttle import client_address
from civicport.auth.audit import record_event
from civicport.auth.policy import writable_dataset
from civicport.catalog import service
from civicport.catalog.records import ColumnRecord, DatasetRecord
from civicport.datastore.rowids import format_row_id, parse_row_id
from civicport.errors import (
    InvalidUpload,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.ingest.values import CONVERTERS, LENIENT, BadValue
from civicport.privacy import store as privacy_store

router = APIRouter(tags=["SODA Producer"])

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
DELETED = service.DELETED_FIELD
# System fields a client may send back unchanged (rows read with `$select=:*`); ignored.
IGNORED_FIELDS = frozenset({":created_at", ":updated_at", ":version"})
JSON_TYPES = ("application/json", "text/json", "text/plain", "application/x-www-form-urlencoded")
CSV_TYPES = ("text/csv", "application/csv")
COUNTER_KEYS = (
    "By RowIdentifier",
    "Rows Updated",
    "Rows Deleted",
    "Rows Created",
    "Errors",
    "By SID",
)

Row = dict[str, Any]


# --- routes ------------------------------------------------------------------------------------

_UPSERT_DOC = "Upsert rows by the row identifier (append when the dataset has none); auth required"
_REPLACE_DOC = "Replace every row of a dataset; auth required"
_DELETE_DOC = "Delete one row by its row-identifier value or :id; auth required"


# The extension routes share their paths with the read routes (`.{fmt}`; only json is
# written). Decorators apply bottom-up: the extension route is registered first, so the bare
# one never receives 'abcd-1234.json' as an id.
@router.post("/resource/{dataset_id}", summary=_UPSERT_DOC, response_class=Response)
@router.post("/resource/{dataset_id}.{fmt}", summary=_UPSERT_DOC, response_class=Response)
async def upsert(dataset_id: str, request: Request) -> Response:
    """Body: a JSON array of row objects (or one object), or CSV with field names as its
    header. A row with `":deleted": true` deletes the row with its identifier. Answers
    Socrata's counters: `Rows Created`, `Rows Updated`, `Rows Deleted`, `Errors`…"""
    return await _write(_json_path(dataset_id, request), request, replace=False)


@router.put("/resource/{dataset_id}", summary=_REPLACE_DOC, response_class=Response)
@router.put("/resource/{dataset_id}.{fmt}", summary=_REPLACE_DOC, response_class=Response)
async def replace(dataset_id: str, request: Request) -> Response:
    """The dataset's rows become exactly the body's (same formats as upsert); its columns stay."""
    return await _write(_json_path(dataset_id, request), request, replace=True)


@router.delete("/resource/{dataset_id}/{row_id}", summary=_DELETE_DOC, response_class=Response)
@router.delete("/resource/{dataset_id}/{row_id}.{fmt}", summary=_DELETE_DOC,
               response_class=Response)  # fmt: skip
async def delete_row(dataset_id: str, row_id: str, request: Request) -> Response:
    """Answers `[{"typ": "delete", "id": "row-…"}]`; 404 `soda.row.not-found` for no such row."""
    engine: sa.Engine = request.app.state.engine
    # Only `.json` is an extension here: in `/resource/x/1.5` the row is named "1.5".
    fmt = request.path_params.get("fmt", "json")
    named = row_id if fmt == "json" else f"{row_id}.{fmt}"

    def work() -> Response:
        record = _writable(engine, request, dataset_id)
        by_row_id, keys = _row_key(record, named)
        deleted = service.delete_rows(
            engine, record.id, keys, by_row_id=by_row_id, made_by=request.state.writer.email
        )
        if not deleted:
            raise _row_missing(named)
        report = [{"typ": "delete", "id": format_row_id(i)} for i in deleted]
        _audit(engine, request, "dataset.delete_rows", record.id, {"Rows Deleted": len(deleted)})
        return _json(report)

    return await run_in_threadpool(work)


def _json_path(dataset_id: str, request: Request) -> str:
    """The dataset a write path names: rows are written as JSON or CSV bodies to `.json` (or
    no extension); any other extension names no dataset."""
    fmt = request.path_params.get("fmt", "json")
    return dataset_id if fmt == "json" else f"{dataset_id}.{fmt}"


async def _write(dataset_id: str, request: Request, *, replace: bool) -> Response:
    engine: sa.Engine = request.app.state.engine
    limit: int = request.app.state.settings.max_upload_bytes
    # Who is asking is settled before the body is read: a stranger's upload is never buffered.
    record = await run_in_threadpool(_writable, engine, request, dataset_id)
    body = await _read_body(request, limit)

    def work() -> Response:
        rows = _parse_body(body, request.headers.get("content-type"))
        counters = _apply(engine, record, rows, replace=replace, by=request.state.writer.email)
        action = "dataset.replace" if replace else "dataset.upsert"
        _audit(engine, request, action, record.id, counters)
        return _json(counters)

    return await run_in_threadpool(work)


def _json(value: Any) -> Response:
    return Response(orjson.dumps(value), headers={"Content-Type": JSON_CONTENT_TYPE})


# --- who may write -----------------------------------------------------------------------------


def _writable(engine: sa.Engine, request: Request, dataset_id: str) -> DatasetRecord:
    """The dataset if the request's key may change it: 401 without valid credentials, 404 if
    the caller may not see it (or it does not exist), 403 if they may see but not change it."""
    with engine.connect() as conn:
        principal = authenticated(
            conn, request, "Authentication required: send an API key id and secret with HTTP Basic"
        )
        record = writable_dataset(conn, dataset_id, principal)
    request.state.writer = principal
    return record


def _audit(
    engine: sa.Engine, request: Request, action: str, dataset_id: str, counters: dict[str, int]
) -> None:
    """Record a write in the audit log. The catalog service commits the rows in a transaction
    of its own, so the event is written right after that commit, never for a failed write."""
    credentials = basic_credentials(request.headers.get("authorization"))
    detail = {**counters, "key_id": credentials[0] if credentials else None}
    with engine.begin() as conn:
        record_event(
            conn,
            actor=request.state.writer.email,
            action=action,
            dataset_id=dataset_id,
            detail=detail,
            client=client_address(request.scope),
        )


# --- the body ----------------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The body is larger than {limit:,} bytes; send the rows in smaller requests",
        data={"limit": limit},
    )


def _parse_body(body: bytes, content_type: str | None) -> list[Row]:
    media = (content_type or "").split(";")[0].strip().lower()
    if media in CSV_TYPES:
        return _csv_rows(body)
    if media and media not in JSON_TYPES and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"Send rows as JSON (application/json) or CSV (text/csv), not {media}"
        )
    return _json_rows(body)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_rows(body: bytes) -> list[Row]:
    try:
        # Decimals keep number columns exact ("0.1" stays 0.1, not 0.1000000000000000055…).
        payload = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidUpload(
            f"The body is not valid JSON: {exc}", code="req.body.malformed-json"
        ) from None
    rows = [payload] if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise InvalidUpload(
            "Send a JSON array of row objects", code="soda.row.upsert-row-not-an-object"
        )
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise InvalidUpload(
                f"Row {number:,} is not an object of field names and values",
                code="soda.row.upsert-row-not-an-object",
                data={"row": number},
            )
    return rows


def _csv_rows(body: bytes) -> list[Row]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidUpload(f"The CSV body is not UTF-8: {exc}") from None
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InvalidUpload(f"The CSV body cannot be read: {exc}") from None
    if not records:
        return []
    header = [name.strip() for name in records[0]]
    rows = []
    for number, record in enumerate(records[1:], 1):
        if not record:
            continue  # a blank line
        if len(record) != len(header):
            raise InvalidUpload(
                f"CSV row {number:,} has {len(record)} cells but the header names "
                f"{len(header)} fields",
                data={"row": number},
            )
        rows.append(dict(zip(header, record, strict=True)))
    return rows


# --- rows → typed tables → the catalog service ------------------------------------------------


def _apply(
    engine: sa.Engine, record: DatasetRecord, rows: list[Row], *, replace: bool, by: str
) -> dict[str, int]:
    """Write the rows as a new version of the dataset made `by` the writer's account."""
    columns = {c.field_name: c for c in record.columns}
    typed = _typed_rows(record, columns, _without_dropped(engine, record, rows))
    deletes = [r for r in typed if r.get(DELETED)]
    if replace:
        kept = [r for r in typed if not r.get(DELETED)]
        specs = [_spec(c) for c in record.columns]
        names = [c.field_name for c in record.columns]
        table = ParsedTable(specs, iter([tuple(r.get(n) for n in names) for r in kept]))
        result = service.import_table(engine, table, metadata=None, dataset_id=record.id,
                                      mode="replace", made_by=by)  # fmt: skip
        return _counters(
            created=result.rows_created,
            updated=result.rows_updated,
            deleted=result.rows_deleted,
        )
    if not typed:
        return _counters()
    tables = _tables(record, typed)
    result = service.write_rows(engine, record.id, tables, made_by=by)
    # Socrata counts every row matched by its identifier as updated, changed or not.
    updated = result.rows_updated + result.rows_unchanged
    matched = updated + result.rows_deleted
    return _counters(
        created=result.rows_created,
        updated=updated,
        deleted=result.rows_deleted,
        errors=len(deletes) - result.rows_deleted,  # deleting a missing row (soda.md §9.1)
        by_row_identifier=matched if record.row_identifier else 0,
    )


def _without_dropped(engine: sa.Engine, record: DatasetRecord, rows: list[Row]) -> list[Row]:
    """The rows without the fields of columns the publisher dropped for privacy: a client
    syncing its full records keeps working, and the dropped values are never stored."""
    with engine.connect() as conn:
        dropped = {
            d.field_name for d in privacy_store.decisions(conn, record.id) if d.action == "drop"
        }
    if not dropped.intersection(name for row in rows for name in row):
        return rows
    return [{k: v for k, v in row.items() if k not in dropped} for row in rows]


def _counters(
    *,
    created: int = 0,
    updated: int = 0,
    deleted: int = 0,
    errors: int = 0,
    by_row_identifier: int = 0,
    by_sid: int = 0,
) -> dict[str, int]:
    """Socrata's legacy upsert result: all six keys, always (soda.md §9.1)."""
    values = (by_row_identifier, updated, deleted, created, errors, by_sid)
    return dict(zip(COUNTER_KEYS, values, strict=True))


def _spec(column: ColumnRecord) -> ColumnSpec:
    return ColumnSpec(column.field_name, column.display_name, column.soda_type, column.description)


def _typed_rows(
    record: DatasetRecord, columns: Mapping[str, ColumnRecord], rows: list[Row]
) -> list[Row]:
    """The rows with every value converted to its column's type (what readers yield); 400
    naming the field for an unknown one, and the row and column for a value that does not fit.
    """
    for number, row in enumerate(rows, 1):
        for name in row:
            if name not in columns and name != DELETED and name not in IGNORED_FIELDS:
                raise InvalidUpload(
                    f"Row {number:,}: no column '{name}' in dataset '{record.id}'",
                    code="soda.row.column-not-found",
                    data={"row": number, "column": name},
                )
    typed: list[Row] = [{} for _ in rows]
    for name, soda_type in [(DELETED, "checkbox")] + [(c, columns[c].soda_type) for c in columns]:
        at = [i for i, row in enumerate(rows) if name in row]
        if not at:
            continue
        try:
            values = CONVERTERS[soda_type]([rows[i][name] for i in at], LENIENT)
        except BadValue as exc:
            number = at[exc.index] + 1
            shown = str(exc.value)
            shown = shown if len(shown) <= 60 else shown[:57] + "…"
            raise InvalidUpload(
                f"Row {number:,}, column {name}: {shown!r} {exc.reason}",
                code="soda.column.maltyped",
                data={"row": number, "column": name, "type": soda_type},
            ) from None
        for i, value in zip(at, values, strict=True):
            typed[i][name] = value
    return typed


def _tables(record: DatasetRecord, rows: list[Row]) -> list[ParsedTable]:
    """Rows grouped by the fields they carry, so an update changes only the fields sent (a
    missing field is left alone; an explicit null clears it). Without a row identifier every
    row is appended in order, missing fields null."""
    order = [c.field_name for c in record.columns] + [DELETED]
    kinds = {c.field_name: c.soda_type for c in record.columns} | {DELETED: "checkbox"}
    if not record.row_identifier:
        present = {name for row in rows for name in row}
        groups = {tuple(n for n in order if n in present): rows}
    else:
        _check_unique_keys(record.row_identifier, rows)
        groups = {}
        for row in rows:
            groups.setdefault(tuple(n for n in order if n in row), []).append(row)
    tables = []
    for names, members in groups.items():
        specs = [ColumnSpec(n, n, kinds[n]) for n in names]
        values = [tuple(row.get(n) for n in names) for row in members]
        tables.append(ParsedTable(specs, iter(values)))
    return tables


def _check_unique_keys(key: str, rows: Sequence[Row]) -> None:
    """Each identifier value at most once per request (rows in groups are applied group by
    group, so a repeated identifier would not be applied in the order sent)."""
    seen: dict[Any, int] = {}
    for number, row in enumerate(rows, 1):
        value = row.get(key)
        if value is None:
            raise InvalidUpload(
                f"Row {number:,} has no value in the row identifier column '{key}'",
                code="soda.row.primary-key-nonexistent-or-null",
                data={"row": number, "column": key},
            )
        if value in seen:
            raise InvalidUpload(
                f"Row identifier '{key}' value {value!r} appears in rows {seen[value]:,} and "
                f"{number:,}; each row needs its own value",
                data={"value": str(value), "rows": [seen[value], number]},
            )
        seen[value] = number


# --- single rows -------------------------------------------------------------------------------


def _row_key(record: DatasetRecord, row_id: str) -> tuple[bool, list[Any]]:
    """(by system id?, [the key value]) for a row named in a path, like the single-row GET: by
    the row identifier's value, or by `:id` ('row-…', or any id without a row identifier)."""
    key = record.row_identifier
    if key and not row_id.startswith("row-"):
        soda_type = next(c.soda_type for c in record.columns if c.field_name == key)
        try:
            return False, CONVERTERS[soda_type]([row_id], LENIENT)
        except BadValue:
            raise _row_missing(row_id) from None
    number = parse_row_id(row_id)
    if number is None:
        raise _row_missing(row_id)
    return True, [number]


def _row_missing(row_id: str) -> NotFound:
    return NotFound(f"Row '{row_id}' not found", code="soda.row.not-found", data={"id": row_id})
