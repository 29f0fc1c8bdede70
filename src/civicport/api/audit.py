"""The audit log for admins: ``GET /api/audit.json`` and ``GET /api/audit.csv``.

Callers authenticate like the Producer API: HTTP Basic with an admin's API key id and secret.
No credentials (or a wrong secret) answer 401, a key of any other role 403, both in SODA's
error shape. Filters: ``since`` (ISO 8601; naive times are UTC), ``actor`` (an email, "cli" or
"anonymous"), ``action``, ``dataset``, ``limit`` (default 1000, at most 10,000) and ``offset``.
Events come newest first.
"""

from __future__ import annotations

import datetime as dt

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from civicport.api.deps import authenticated
from civicport.api.errors import error_response
from civicport.auth.audit import MOST_EVENTS, events_csv, list_events
from civicport.auth.policy import can_read_audit_log
from civicport.errors import Forbidden

router = APIRouter(tags=["Audit log"])

NO_STORE = {"Cache-Control": "private, no-store"}


@router.get("/api/audit.{fmt}", summary="The audit log (admins only; HTTP Basic with an API key)")
async def audit_log(
    fmt: str,
    request: Request,
    since: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    dataset: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> Response:
    """Who did what and when: `json` is an array of events, `csv` one event per row."""
    engine: sa.Engine = request.app.state.engine
    if fmt not in ("json", "csv"):
        return error_response(
            406,
            "format.unsupported",
            f"Format '{fmt}' is not supported; use json or csv",
            {"format": fmt},
        )
    try:
        start = dt.datetime.fromisoformat(since) if since else None
    except ValueError:
        return error_response(
            400, "invalid_request", f"since '{since}' is not an ISO 8601 time", {"since": since}
        )
    if not 0 <= limit <= MOST_EVENTS or offset < 0:
        return error_response(
            400,
            "invalid_request",
            f"limit must be 0 to {MOST_EVENTS:,} and offset 0 or more",
            {"limit": limit, "offset": offset},
        )

    def work() -> Response:
        with engine.connect() as conn:
            principal = authenticated(
                conn,
                request,
                "Authentication required: send an admin's API key id and secret with HTTP Basic",
            )
            if not can_read_audit_log(principal):
                raise Forbidden("Only admins may read the audit log")
            events = list_events(
                conn,
                since=start,
                actor=actor,
                action=action,
                dataset_id=dataset,
                limit=limit,
                offset=offset,
            )
        if fmt == "csv":
            return Response(
                events_csv(events).encode("utf-8"),
                headers={"Content-Type": "text/csv; charset=utf-8", **NO_STORE},
            )
        body = orjson.dumps([e.as_dict() for e in events])
        return Response(
            body, headers={"Content-Type": "application/json; charset=utf-8", **NO_STORE}
        )

    return await run_in_threadpool(work)
