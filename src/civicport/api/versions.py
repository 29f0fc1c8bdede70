"""A dataset's versions over HTTP: the list, a row-level diff between two, and a rollback.

Whoever may see the dataset may see its versions and their differences (every version was
published); who made each is shown only to those who may change the dataset. Rolling back is a
change like any other write: it needs credentials that may change the dataset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from civicport.api.deps import EngineDep, PrincipalDep, authenticated, visible_dataset
from civicport.api.renderers.cells import JSON_ENCODERS, plan
from civicport.api.renderers.json import object_builder
from civicport.api.throttle import client_address
from civicport.auth.audit import record_event
from civicport.auth.policy import can_write, writable_dataset
from civicport.catalog.diffs import VersionDiff, diff_versions
from civicport.catalog.rollback import roll_back
from civicport.catalog.versions import VERSION_NUMBER, Version, list_versions
from civicport.errors import InvalidUpload

router = APIRouter(tags=["Versions"])
JSON_TYPE = "application/json; charset=utf-8"


@router.get(
    "/api/views/{dataset_id}/versions.json",
    summary="A dataset's kept versions, newest first, with rows added, changed and removed",
    response_class=Response,
)
def get_versions(dataset_id: str, engine: EngineDep, principal: PrincipalDep) -> Response:
    with engine.connect() as conn:
        record = visible_dataset(conn, dataset_id, principal)
        versions = list_versions(conn, dataset_id)
    show_author = can_write(principal, record)
    body = [version_json(v, current=record.data_version, author=show_author) for v in versions]
    return Response(orjson.dumps(body), media_type=JSON_TYPE)


def version_json(version: Version, *, current: int, author: bool) -> dict[str, Any]:
    """A version as the API shows it; `author`: include who made it."""
    shown: dict[str, Any] = {
        "version": version.version,
        "current": version.version == current,
        "made_at": version.made_at.isoformat().replace("+00:00", "Z"),
        "operation": version.operation,
        "rows_added": version.rows_added,
        "rows_changed": version.rows_changed,
        "rows_removed": version.rows_removed,
        "row_count": version.row_count,
        "columns": [c.field_name for c in version.columns],
    }
    if author:
        shown["made_by"] = version.made_by
    return shown


@router.get(
    "/api/views/{dataset_id}/diff.json",
    summary="The rows that differ between two versions, keyed by the row identifier",
    response_class=Response,
)
def get_diff(
    dataset_id: str,
    engine: EngineDep,
    principal: PrincipalDep,
    older: str = Query(alias="from", description="One version's number"),
    newer: str = Query(alias="to", description="The other version's number"),
) -> Response:
    """`{"from", "to", "key", "changes": [{"change", "key", "before", "after", "columns"}]}`,
    streamed; "key" is the row identifier's value, or a hash of the row without one."""
    conn = engine.connect()
    try:
        record = visible_dataset(conn, dataset_id, principal)
        diff = diff_versions(conn, record, version_param(older), version_param(newer))
    except BaseException:
        conn.close()
        raise
    return StreamingResponse(_diff_body(conn, diff), media_type=JSON_TYPE)


def _diff_body(conn: sa.Connection, diff: VersionDiff) -> Iterator[bytes]:
    try:
        head = {"from": diff.older.version, "to": diff.newer.version, "key": diff.key_column}
        yield orjson.dumps(head)[:-1] + b', "changes": ['
        for n, entry in enumerate(diff_entries(diff, conn)):
            yield (b"\n," if n else b"\n") + orjson.dumps(entry)
        yield b"\n]}\n"
    finally:
        conn.close()


def diff_entries(diff: VersionDiff, conn: sa.Connection) -> Iterator[dict[str, Any]]:
    """Each differing row as the API and `civicport versions diff` show it: change, key, the
    columns that changed, and the row before and after in SODA's JSON row shape."""
    build = object_builder(plan(diff.columns, JSON_ENCODERS))
    for change in diff.changes(conn):
        yield {
            "change": change.change,
            "key": change.key,
            "columns": change.changed_columns(diff.columns),
            "before": build(change.before) if change.before is not None else None,
            "after": build(change.after) if change.after is not None else None,
        }


@router.post(
    "/api/views/{dataset_id}/rollback.json",
    summary="Make an earlier version current again (a new version); needs write access",
    response_class=Response,
)
async def post_rollback(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    version: str = Query(description="The kept version to roll back to"),
) -> Response:
    """API keys only (HTTP Basic), like the Producer API: a session cookie is not enough for a
    cross-site POST to change data. Pages roll back through a form with a CSRF token."""

    def work() -> Response:
        with engine.connect() as conn:
            principal = authenticated(
                conn, request, "Authentication required: send an API key id and secret with "
                "HTTP Basic to roll a dataset back",
            )  # fmt: skip
            writable_dataset(conn, dataset_id, principal)
        number = version_param(version)
        result = roll_back(engine, dataset_id, number, made_by=principal.email)
        with engine.begin() as conn:
            record_event(
                conn, actor=principal.email, action="dataset.rollback", dataset_id=dataset_id,
                detail={"to": number, "version": result.version},
                client=client_address(request.scope),
            )  # fmt: skip
        return Response(
            orjson.dumps(
                {
                    "version": result.version,
                    "rolled_back_to": number,
                    "rows_added": result.rows_created,
                    "rows_changed": result.rows_updated,
                    "rows_removed": result.rows_deleted,
                    "row_count": result.row_count,
                }
            ),
            media_type=JSON_TYPE,
        )

    return await run_in_threadpool(work)


def version_param(text: str) -> int:
    """A version number given as a query parameter; InvalidUpload (400) unless it is one."""
    if not VERSION_NUMBER.fullmatch(text):
        # Not echoed: the input may be anything, and error answers carry the message in a header.
        raise InvalidUpload("That is not a version number: give one like 3, in digits")
    return int(text)
