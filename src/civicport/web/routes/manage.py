"""``/manage``: the staff home — the datasets this person may change, with their audience and
draft — and ``/manage/approvals``, where approvers approve or reject submitted drafts.

The list is the catalog as the access policy lets this person read it (read_scope), kept to the
datasets they may change (can_write): the same two questions every door asks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from civicport.api.deps import EngineDep, StaffDep
from civicport.auth.accounts import user_by_id
from civicport.auth.policy import can_read_audit_log, can_write, read_scope, visible_dataset
from civicport.auth.principal import Principal
from civicport.catalog import drafts
from civicport.catalog.browse import CatalogQuery, search_catalog
from civicport.catalog.draft_rows import Draft
from civicport.catalog.freshness import Freshness, freshness
from civicport.catalog.records import DatasetRecord
from civicport.jobs.runs import RunRecord, latest_runs
from civicport.web.csrf import read_form
from civicport.web.pages import gettext_for, render_page

router = APIRouter(tags=["Pages"])

CATALOG_BATCH = 500
LARGEST_FORM_BYTES = 16 * 1024
LONGEST_COMMENT = 4000


@dataclass(frozen=True)
class Managed:
    """A dataset on the staff home: the live record and its draft, if any."""

    record: DatasetRecord
    draft: Draft | None
    freshness: Freshness | None  # None: it promises no update frequency
    last_run: RunRecord | None = None  # its newest sync or queued upload, if any


@dataclass(frozen=True)
class Awaiting:
    """A submitted draft on an approver's list: the live record (its live title: a draft's
    words appear only in its preview), the draft and who wrote it."""

    record: DatasetRecord
    draft: Draft
    author: str | None


def writable_datasets(conn: sa.Connection, principal: Principal) -> list[Managed]:
    """The datasets `principal` may change, most recently updated first, with their drafts."""
    scope = read_scope(conn, principal)
    found: list[Managed] = []
    offset = 0
    while True:
        query = CatalogQuery(
            scope=scope, sort="updated", limit=CATALOG_BATCH, offset=offset, facets=False
        )
        page = search_catalog(conn, query)
        mine = [r for r in page.records if can_write(principal, r)]
        their_drafts = drafts.drafts_of(conn, [r.id for r in mine])
        runs = latest_runs(conn, [r.id for r in mine])
        now = dt.datetime.now(dt.UTC)
        found += [
            Managed(r, their_drafts.get(r.id), freshness(r, now), runs.get(r.id)) for r in mine
        ]
        offset += CATALOG_BATCH
        if offset >= page.total:
            return found


def awaiting_approval(conn: sa.Connection, principal: Principal) -> list[Awaiting]:
    awaiting = []
    for draft in drafts.drafts_awaiting(conn, principal):
        record = visible_dataset(conn, draft.dataset_id, principal)
        author = user_by_id(conn, draft.author_id) if draft.author_id is not None else None
        awaiting.append(Awaiting(record, draft, author.email if author else None))
    return awaiting


@router.get("/manage", response_class=HTMLResponse, include_in_schema=False)
def manage_home(request: Request, engine: EngineDep, principal: StaffDep) -> HTMLResponse:
    with engine.connect() as conn:
        mine = writable_datasets(conn, principal)
        awaiting = awaiting_approval(conn, principal)
    return render_page(
        request,
        "manage/home.html",
        datasets=mine,
        awaiting=awaiting,
        may_publish=principal.role in ("publisher", "admin"),
        may_read_audit_log=can_read_audit_log(principal),
    )


@router.get("/manage/approvals", response_class=HTMLResponse, include_in_schema=False)
def approvals_page(request: Request, engine: EngineDep, principal: StaffDep) -> HTMLResponse:
    with engine.connect() as conn:
        awaiting = awaiting_approval(conn, principal)
    return _approvals(request, awaiting)


def _approvals(
    request: Request,
    awaiting: list[Awaiting],
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    done: str | None = None,
) -> HTMLResponse:
    return render_page(
        request,
        "manage/approvals.html",
        status_code=status,
        awaiting=awaiting,
        errors=errors or {},
        done=request.query_params.get("done") if done is None else done,
    )


@router.post("/manage/d/{dataset_id}/approve", response_class=HTMLResponse, include_in_schema=False)
async def approve(
    dataset_id: str, request: Request, engine: EngineDep, principal: StaffDep
) -> Response:
    await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    await run_in_threadpool(drafts.approve_draft, engine, principal, dataset_id)
    return RedirectResponse("/manage/approvals?done=approved", status_code=303)


@router.post("/manage/d/{dataset_id}/reject", response_class=HTMLResponse, include_in_schema=False)
async def reject(
    dataset_id: str, request: Request, engine: EngineDep, principal: StaffDep
) -> Response:
    form = await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    comment = form.get("comment")
    comment = comment.strip()[:LONGEST_COMMENT] if isinstance(comment, str) else ""
    if not comment:
        with engine.connect() as conn:
            awaiting = awaiting_approval(conn, principal)
        if any(a.record.id == dataset_id for a in awaiting):
            _ = gettext_for(request)
            message = _("Say why the draft is rejected: its author reads it.")
            errors = {f"comment-{dataset_id}": message}
            return _approvals(request, awaiting, status=400, errors=errors, done="")
    # Whoever may not review this draft gets reject_draft's own answer (404, 403 or 409).
    await run_in_threadpool(drafts.reject_draft, engine, principal, dataset_id, comment)
    return RedirectResponse("/manage/approvals?done=rejected", status_code=303)
