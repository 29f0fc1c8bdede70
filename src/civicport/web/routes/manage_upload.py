"""Publishing a file from the browser: ``/manage/new`` takes the upload, ``/manage/uploads/{token}``
is the one review page — the inferred schema, the metadata, the privacy review — and saves.

The same review page replaces an existing dataset's data ("replace" mode, reached from
``/manage/d/{id}``): schema and privacy only, its metadata stays. Saving checks the chosen types
and the privacy review first (a cell that does not fit a type, a finding left undecided: the
review page again, saying what is missing), then queues the save for the background worker
(manage_publish.queue_save) and sends the browser to the run's page (manage_runs), which says
how it ended. Nothing is half-created: the worker's import is one transaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from civicport.api.deps import EngineDep, SettingsDep, StaffDep
from civicport.auth.principal import Principal
from civicport.config import Settings
from civicport.errors import Forbidden, InvalidUpload, PayloadTooLarge
from civicport.web.csrf import read_form
from civicport.web.pages import gettext_for, render_page
from civicport.web.routes import manage_publish as publish
from civicport.web.routes.manage_forms import (
    Errors,
    flagged_columns,
    known_categories,
    read_metadata,
    read_privacy,
    read_schema,
    type_options,
)
from civicport.web.routes.manage_staging import accepted_extensions, stage_file, staged_upload

router = APIRouter(tags=["Pages"])

# Room for the multipart envelope and the token around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
LARGEST_REVIEW_FORM = 4 * 1024 * 1024
SAVE_CHOICES = ("private", "internal", "public")


def require_publisher(principal: Principal) -> None:
    """Viewers read internal data; only publishers and admins publish."""
    if principal.role not in ("publisher", "admin"):
        raise Forbidden("Only publishers and admins can publish datasets")


@router.get("/manage/new", response_class=HTMLResponse, include_in_schema=False)
def new_upload_page(request: Request, principal: StaffDep) -> HTMLResponse:
    require_publisher(principal)
    return upload_form(request, action="/manage/new")


@router.post("/manage/new", response_class=HTMLResponse, include_in_schema=False)
async def new_upload(request: Request, settings: SettingsDep, principal: StaffDep) -> Response:
    require_publisher(principal)
    return await receive_upload(request, settings, principal, action="/manage/new")


async def receive_upload(
    request: Request,
    settings: Settings,
    principal: Principal,
    *,
    action: str,
    dataset_id: str | None = None,
    page_values: dict[str, Any] | None = None,
) -> Response:
    """Stage the posted file and send the browser on to its review page; the upload form again
    (400, 413) with the reason when the file is missing, unreadable or too large."""
    again = {"action": action, **(page_values or {})}
    try:
        form = await read_form(request, max_bytes=settings.max_upload_bytes + FORM_OVERHEAD_BYTES)
    except PayloadTooLarge as exc:
        return upload_form(request, status=413, error=exc.message, **again)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            _ = gettext_for(request)
            return upload_form(request, status=400, error=_("Choose a file to upload."), **again)
        staged = await run_in_threadpool(
            stage_file,
            settings,
            upload.file,
            file_name=upload.filename,
            owner_id=principal.user_id,
            dataset_id=dataset_id,
        )
    except InvalidUpload as exc:
        return upload_form(request, status=400, error=exc.message, **again)
    except PayloadTooLarge as exc:
        return upload_form(request, status=413, error=exc.message, **again)
    finally:
        await form.close()
    return RedirectResponse(f"/manage/uploads/{staged.token}", status_code=303)


def upload_form(
    request: Request, *, action: str, status: int = 200, error: str | None = None, **values: Any
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    return render_page(
        request,
        "manage/upload.html",
        status_code=status,
        action=action,
        error=error,
        extensions=accepted_extensions(),
        max_bytes=settings.max_upload_bytes,
        **values,
    )


@router.get("/manage/uploads/{token}", response_class=HTMLResponse, include_in_schema=False)
def review_page(
    token: str, request: Request, engine: EngineDep, settings: SettingsDep, principal: StaffDep
) -> HTMLResponse:
    staged = staged_upload(settings, token, principal.user_id)
    with engine.connect() as conn:
        review = publish.start_review(conn, staged, principal)
    return _review(request, engine, principal, review)


@router.post("/manage/uploads/{token}", response_class=HTMLResponse, include_in_schema=False)
async def save_upload(
    token: str, request: Request, engine: EngineDep, settings: SettingsDep, principal: StaffDep
) -> Response:
    staged = staged_upload(settings, token, principal.user_id)
    form = await read_form(request, max_bytes=LARGEST_REVIEW_FORM)
    _ = gettext_for(request)
    with engine.connect() as conn:
        review = publish.start_review(conn, staged, principal)
    choice = "replace" if review.replacing else str(form.get("save", ""))
    if not review.replacing and choice not in SAVE_CHOICES:
        raise InvalidUpload("Choose how to save the dataset: private, internal or public")
    errors: Errors = {}
    schema = read_schema(form, staged.columns, errors, _)
    metadata = review.metadata
    if not review.replacing:
        metadata = read_metadata(form, metadata, errors, _)
        if review.department_fixed:
            metadata = dataclasses.replace(metadata, department=principal.department)
    review = dataclasses.replace(review, schema=schema, metadata=metadata)
    public = choice == "public" or (
        review.dataset is not None and review.dataset.audience == "public"
    )
    try:
        findings = await run_in_threadpool(
            publish.findings_for, settings, staged, schema, metadata.category
        )
    except InvalidUpload as exc:
        return _review(
            request, engine, principal, review, status=400, errors=errors, message=exc.message
        )
    flagged = flagged_columns(findings)
    flagged = read_privacy(form, flagged, errors, _, names=review.column_names(), public=public)
    review = dataclasses.replace(review, flagged=tuple(flagged))
    if errors:
        return _review(request, engine, principal, review, status=400, errors=errors)
    try:
        run_id = await run_in_threadpool(
            publish.queue_save, engine, settings, principal, review, choice
        )
    except InvalidUpload as exc:
        return _review(request, engine, principal, review, status=400, message=exc.message)
    # The browser follows the run on its page, which says how it ended.
    return RedirectResponse(f"/manage/runs/{run_id}", status_code=303)


def _review(
    request: Request,
    engine: sa.Engine,
    principal: Principal,
    review: publish.Review,
    *,
    status: int = 200,
    errors: Errors | None = None,
    message: str | None = None,
) -> HTMLResponse:
    with engine.connect() as conn:
        categories = known_categories(conn, principal)
    return render_page(
        request,
        "manage/review.html",
        status_code=status,
        review=review,
        errors=errors or {},
        message=message,
        type_options=type_options(gettext_for(request)),
        categories=categories,
    )
