"""``/manage/runs/{id}``: one background run (a sync, or an upload saved from the review page)
as it goes, then how it ended; ``/manage/runs/{id}.json``: the same as JSON, which the page's
script (static/js/run-progress.js) polls every second to update the page without reloading it.

Who may see a run: whoever may change its dataset (auth.policy.writable_dataset: 404 to those who
may not see the dataset, 403 to those who see it but may not change it). A run that creates a
dataset has none until it succeeds; until then only the person who asked for it, and admins,
may see it. Progress (phase, rows, bytes) comes from the queue's store (jobs.queue.run_progress),
which the load writes to while it holds the database's write lock.

The page works without JavaScript: it shows the state when it was loaded and a link to load it
again. With the header ``X-Fragment: run`` only the state is rendered, for the script to swap in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from civicport.api.deps import EngineDep, StaffDep
from civicport.auth.policy import writable_dataset
from civicport.auth.principal import Principal
from civicport.catalog.records import DatasetRecord
from civicport.errors import NotFound
from civicport.jobs.queue import run_progress
from civicport.jobs.runs import RunRecord, get_run, latest_runs
from civicport.web.pages import render_page

router = APIRouter(tags=["Pages"])

FRAGMENT = "run"


def visible_run(
    conn: sa.Connection, run_id: int, principal: Principal
) -> tuple[RunRecord, DatasetRecord | None]:
    """The run and its dataset, if `principal` may see them; NotFound or Forbidden otherwise."""
    try:
        run = get_run(conn, run_id)
    except NotFound:
        raise NotFound(f"There is no run {run_id}", code="run.missing") from None
    if run.dataset_id is not None:
        return run, writable_dataset(conn, run.dataset_id, principal)
    asked = run.requested_by.casefold() == principal.email.casefold()
    if not asked and principal.role != "admin":
        raise NotFound(f"There is no run {run_id}", code="run.missing")
    return run, None


def last_failed_run(conn: sa.Connection, dataset_id: str) -> RunRecord | None:
    """The dataset's newest run if it failed (a sync, a retry or a queued upload), else None:
    what the staff pages flag beside the freshness badge."""
    newest = latest_runs(conn, [dataset_id]).get(dataset_id)
    return newest if newest is not None and newest.status == "failed" else None


def run_state(run: RunRecord, progress: Mapping[str, Any]) -> dict[str, Any]:
    """The run as the page's script (and any program) reads it. `phase`, `rows` and `bytes`
    are the live progress of a running run; `result` and `dataset_url` (the dataset's staff page)
    are set once it succeeded, `error` once it failed. A save from the review page's `result`
    says what it did (`outcome`: catalog.publishing.OUTCOMES; "draft" made no version)."""
    running = run.status == "running"
    succeeded = run.status == "succeeded"
    return {
        "id": run.id,
        "status": run.status,
        "finished": run.finished,
        "trigger": run.trigger,
        "attempt": run.attempt,
        "phase": progress.get("phase") if running else None,
        "rows": int(progress.get("rows") or 0) if running else None,
        "bytes": int(progress.get("bytes") or 0) if running else None,
        "queued_at": _iso(run.queued_at),
        "started_at": _iso(run.started_at),
        "ended_at": _iso(run.ended_at),
        "duration_seconds": run.duration.total_seconds() if run.duration else None,
        "result": {
            "rows_added": run.rows_added,
            "rows_changed": run.rows_changed,
            "rows_removed": run.rows_removed,
            "version": run.version,
            "warnings": list(run.warnings),
            "outcome": run.outcome,
        }
        if succeeded
        else None,
        "error": run.error,
        "dataset_id": run.dataset_id,
        "dataset_url": f"/manage/d/{run.dataset_id}" if succeeded and run.dataset_id else None,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _progress(request: Request, run: RunRecord) -> dict[str, Any]:
    return run_progress(request.app.state.settings, run.id) if run.status == "running" else {}


# The JSON route comes first: "/manage/runs/7.json" would otherwise reach the page's route.
@router.get("/manage/runs/{run_id}.json", include_in_schema=False)
def run_json(run_id: int, request: Request, engine: EngineDep, principal: StaffDep) -> Response:
    with engine.connect() as conn:
        run, _dataset = visible_run(conn, run_id, principal)
    body = orjson.dumps(run_state(run, _progress(request, run)))
    # Private to this person, and stale a second later.
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get("/manage/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
def run_page(run_id: int, request: Request, engine: EngineDep, principal: StaffDep) -> HTMLResponse:
    with engine.connect() as conn:
        run, dataset = visible_run(conn, run_id, principal)
    fragment = request.headers.get("x-fragment") == FRAGMENT
    return render_page(
        request,
        "manage/sync/_run_state.html" if fragment else "manage/sync/run.html",
        run=run,
        dataset=dataset,
        progress=_progress(request, run),
        new_title=(run.job.get("metadata") or {}).get("title"),
        headers={"Cache-Control": "no-store"},
    )
