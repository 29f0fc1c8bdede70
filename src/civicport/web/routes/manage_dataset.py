"""``/manage/d/{id}``: one dataset for those who may change it — its metadata, audience,
collaborators, new data, its privacy review, and its draft (preview, submit, discard) — and
``/manage/d/{id}/preview``, the draft shown exactly as the dataset's page will show it.

Every change goes through catalog.drafts.edit_dataset, which applies it at once or keeps it in
the dataset's draft when an approver must see it first. Who may not see the dataset gets 404;
who sees it but may not change it, 403 (auth.policy.writable_dataset).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from civicport.api.deps import EngineDep, SettingsDep, StaffDep
from civicport.auth.accounts import user_by_id
from civicport.auth.policy import (
    can_choose_department,
    may_see_draft,
    visible_dataset,
    writable_dataset,
)
from civicport.auth.principal import Principal
from civicport.catalog import drafts, editing
from civicport.catalog.draft_rows import Draft
from civicport.catalog.privacy_review import apply_pending, decide_columns
from civicport.catalog.records import AUDIENCES, DatasetMetadata, DatasetRecord
from civicport.config import Settings
from civicport.errors import Conflict, InvalidUpload, NotFound
from civicport.web.csrf import read_form
from civicport.web.pages import gettext_for, render_page
from civicport.web.routes.dataset import render_dataset
from civicport.web.routes.manage_forms import (
    Errors,
    known_categories,
    metadata_of,
    read_metadata,
    text,
)
from civicport.web.routes.manage_privacy import PrivacyReview, privacy_review, read_review
from civicport.web.routes.manage_runs import last_failed_run
from civicport.web.routes.manage_upload import receive_upload, upload_form

router = APIRouter(tags=["Pages"])

LARGEST_FORM_BYTES = 256 * 1024
MOST_COLLABORATORS = 100
_EMAIL_SEPARATORS = re.compile(r"[\s,;]+")


def _page(
    request: Request,
    conn: sa.Connection,
    principal: Principal,
    record: DatasetRecord,
    *,
    status: int = 200,
    errors: Errors | None = None,
    message: str | None = None,
    metadata: DatasetMetadata | None = None,
    collaborators: str | None = None,
    privacy: PrivacyReview | None = None,
) -> HTMLResponse:
    """The manage page of `record`; after a refused form, what was typed and why."""
    draft, base = _current(conn, record)
    if collaborators is None:
        accounts = (user_by_id(conn, user_id) for user_id in sorted(record.collaborators))
        collaborators = "\n".join(a.email for a in accounts if a is not None)
    return render_page(
        request,
        "manage/dataset.html",
        status_code=status,
        dataset=record,
        draft=draft,
        metadata=metadata or base,
        proposed_audience=base.audience,
        audiences=AUDIENCES,
        collaborators=collaborators,
        privacy=privacy or privacy_review(conn, record),
        last_failure=last_failed_run(conn, record.id),
        categories=known_categories(conn, principal),
        department_fixed=not can_choose_department(principal),
        errors=errors or {},
        message=message,
        saved=request.query_params.get("saved"),
    )


def _current(conn: sa.Connection, record: DatasetRecord) -> tuple[Draft | None, DatasetMetadata]:
    """The dataset's draft and the metadata the forms start from: the draft's proposal if it
    has one (edits add to the draft), else the live metadata."""
    draft = drafts.get_draft(conn, record.id)
    return draft, draft.metadata if draft and draft.metadata else metadata_of(record)


@router.get("/manage/d/{dataset_id}", response_class=HTMLResponse, include_in_schema=False)
def manage_dataset(
    dataset_id: str, request: Request, engine: EngineDep, principal: StaffDep
) -> HTMLResponse:
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
        return _page(request, conn, principal, record)


MetadataChange = Callable[[FormData, DatasetMetadata, Errors], DatasetMetadata]


async def _edit(
    request: Request,
    engine: sa.Engine,
    settings: Settings,
    principal: Principal,
    dataset_id: str,
    change: MetadataChange,
) -> Response:
    """Read the form, turn it into new metadata with `change(form, base, errors)`, and apply it
    through drafts.edit_dataset; the page again (400, 409) with the reasons when it is refused."""
    form = await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
        _draft, base = _current(conn, record)
    errors: Errors = {}
    metadata = change(form, base, errors)
    problem = None
    if not errors:
        try:
            outcome = await run_in_threadpool(
                drafts.edit_dataset, engine, settings, principal, dataset_id, metadata=metadata
            )
        except (InvalidUpload, Conflict) as exc:
            problem = exc
        else:
            saved = "changed" if outcome.applied else "draft"
            return RedirectResponse(f"/manage/d/{dataset_id}?saved={saved}", status_code=303)
    status = 409 if isinstance(problem, Conflict) else 400
    with engine.connect() as conn:
        return _page(
            request,
            conn,
            principal,
            record,
            status=status,
            errors=errors,
            message=problem.message if problem else None,
            metadata=metadata,
        )


@router.post(
    "/manage/d/{dataset_id}/metadata", response_class=HTMLResponse, include_in_schema=False
)
async def edit_metadata(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> Response:
    _ = gettext_for(request)

    def change(form: FormData, base: DatasetMetadata, errors: Errors) -> DatasetMetadata:
        metadata = read_metadata(form, base, errors, _)
        if not can_choose_department(principal):
            metadata = dataclasses.replace(metadata, department=base.department)
        return metadata

    return await _edit(request, engine, settings, principal, dataset_id, change)


@router.post(
    "/manage/d/{dataset_id}/audience", response_class=HTMLResponse, include_in_schema=False
)
async def change_audience(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> Response:
    _ = gettext_for(request)

    def change(form: FormData, base: DatasetMetadata, errors: Errors) -> DatasetMetadata:
        audience = text(form, "audience")
        if audience not in AUDIENCES:
            errors["audience"] = _("Choose private, internal or public.")
            return base
        return dataclasses.replace(base, audience=audience)

    return await _edit(request, engine, settings, principal, dataset_id, change)


@router.post(
    "/manage/d/{dataset_id}/collaborators", response_class=HTMLResponse, include_in_schema=False
)
async def change_collaborators(
    dataset_id: str, request: Request, engine: EngineDep, principal: StaffDep
) -> Response:
    form = await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    typed = text(form, "collaborators", 100 * MOST_COLLABORATORS)
    emails = [e for e in _EMAIL_SEPARATORS.split(typed) if e]
    try:
        if len(emails) > MOST_COLLABORATORS:
            raise InvalidUpload(f"At most {MOST_COLLABORATORS} collaborators")
        await run_in_threadpool(editing.set_collaborators, engine, principal, dataset_id, emails)
    except InvalidUpload as exc:
        with engine.connect() as conn:
            record = writable_dataset(conn, dataset_id, principal)
            return _page(
                request,
                conn,
                principal,
                record,
                status=400,
                errors={"collaborators": exc.message},
                collaborators=typed,
            )
    return RedirectResponse(f"/manage/d/{dataset_id}?saved=collaborators", status_code=303)


@router.post("/manage/d/{dataset_id}/privacy", response_class=HTMLResponse, include_in_schema=False)
async def resolve_privacy(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> Response:
    """Record the decisions of the privacy review, then apply every pending one to the stored
    rows (live at once, or in the draft when an approver must see it). A refused form records
    nothing; when the rows cannot be changed, the decisions stay recorded and pending."""
    _ = gettext_for(request)
    form = await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
        review = privacy_review(conn, record)
    errors: Errors = {}
    columns, choices = read_review(form, review, errors, _)
    if errors:
        shown = dataclasses.replace(review, flagged=tuple(columns))
        with engine.connect() as conn:
            return _page(request, conn, principal, record, status=400, errors=errors, privacy=shown)
    try:
        if choices:
            await run_in_threadpool(decide_columns, engine, principal, dataset_id, choices)
    except InvalidUpload as exc:  # the findings changed since the page was shown
        return _refused(request, engine, principal, dataset_id, 400, exc.message)
    try:
        applied = await run_in_threadpool(apply_pending, engine, settings, principal, dataset_id)
    except (InvalidUpload, Conflict) as exc:
        message = _(
            "The decisions are saved, but the stored rows could not be changed yet: %(reason)s"
        ) % {"reason": exc.message}
        status = 409 if isinstance(exc, Conflict) else 400
        return _refused(request, engine, principal, dataset_id, status, message)
    saved = "decided" if applied is None else "applied" if applied.live else "draft"
    return RedirectResponse(f"/manage/d/{dataset_id}?saved={saved}", status_code=303)


def _refused(
    request: Request,
    engine: sa.Engine,
    principal: Principal,
    dataset_id: str,
    status: int,
    message: str,
) -> HTMLResponse:
    """The manage page as the dataset is now, with why a change was refused."""
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
        return _page(request, conn, principal, record, status=status, message=message)


@router.get("/manage/d/{dataset_id}/replace", response_class=HTMLResponse, include_in_schema=False)
def replace_page(
    dataset_id: str, request: Request, engine: EngineDep, principal: StaffDep
) -> HTMLResponse:
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
    return upload_form(request, action=f"/manage/d/{dataset_id}/replace", dataset=record)


@router.post("/manage/d/{dataset_id}/replace", response_class=HTMLResponse, include_in_schema=False)
async def replace_upload(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> Response:
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
    return await receive_upload(
        request,
        settings,
        principal,
        action=f"/manage/d/{dataset_id}/replace",
        dataset_id=dataset_id,
        page_values={"dataset": record},
    )


@router.post(
    "/manage/d/{dataset_id}/draft/submit", response_class=HTMLResponse, include_in_schema=False
)
async def submit(
    dataset_id: str, request: Request, engine: EngineDep, principal: StaffDep
) -> Response:
    await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    await run_in_threadpool(drafts.submit_draft, engine, principal, dataset_id)
    return RedirectResponse(f"/manage/d/{dataset_id}?saved=submitted", status_code=303)


@router.post(
    "/manage/d/{dataset_id}/draft/discard", response_class=HTMLResponse, include_in_schema=False
)
async def discard(
    dataset_id: str, request: Request, engine: EngineDep, principal: StaffDep
) -> Response:
    await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    await run_in_threadpool(drafts.discard_draft, engine, principal, dataset_id)
    return RedirectResponse(f"/manage/d/{dataset_id}?saved=discarded", status_code=303)


@router.get("/manage/d/{dataset_id}/preview", response_class=HTMLResponse, include_in_schema=False)
def preview(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> HTMLResponse:
    with engine.connect() as conn:
        live = visible_dataset(conn, dataset_id, principal)
        draft = drafts.get_draft(conn, dataset_id)
        if draft is None or not may_see_draft(principal, live, draft.author_id):
            raise NotFound("Not found", data={"id": dataset_id})
        record = drafts.draft_record(conn, dataset_id)
        return render_dataset(
            request, conn, record, settings, template="manage/preview.html", draft=draft
        )
