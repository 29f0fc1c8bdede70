"""``/manage/d/{id}/source``: where a dataset's data comes from and when it is fetched again — its
source, schedule, mode, alerts — with the run history, a "Run now" button, and the load rules
every load must pass (docs/checks.md).

Forms: ``POST /manage/d/{id}/source`` sets or replaces the source, ``…/source/remove`` removes
it, ``…/sync`` queues a sync now and sends the browser to its run page, ``…/rules`` saves the
load rules. Who may not see the dataset gets 404; who sees it but may not change it, 403
(auth.policy.writable_dataset), as on the dataset's other staff pages. A refused form stores
nothing and shows the page again with the reason (400).

File sources, and SQL sources on a SQLite database, read the server's own disk (the portal's
database and its signing key are files too), so they may read only inside the folders the
`source_dirs` setting names (none by default), whoever sets them up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from civicport.api.deps import EngineDep, SettingsDep, StaffDep
from civicport.api.throttle import client_address
from civicport.auth.audit import record_event
from civicport.auth.policy import writable_dataset
from civicport.auth.principal import Principal
from civicport.catalog.records import DatasetRecord
from civicport.catalog.sources import SYNC_MODES, get_source, remove_source, set_source
from civicport.catalog.store import set_load_rules
from civicport.config import Settings
from civicport.db.writer import write_turn
from civicport.errors import Conflict, InvalidUpload
from civicport.ingest.checks import RULE_ACTIONS, RULES, LoadRules
from civicport.ingest.sources import SOURCE_KINDS, check_source
from civicport.ingest.type_policy import TYPE_POLICIES
from civicport.jobs.queue import enqueue_sync
from civicport.jobs.runs import active_run, list_runs
from civicport.web.csrf import read_form
from civicport.web.pages import gettext_for, render_page
from civicport.web.routes.manage_forms import Errors
from civicport.web.routes.manage_sync_forms import (
    RulesForm,
    SourceChange,
    SourceForm,
    read_rules_form,
    read_source_form,
    rules_json,
    shown_location,
    source_change,
)

router = APIRouter(tags=["Pages"])

LARGEST_FORM_BYTES = 256 * 1024
MOST_RUNS = 50


def _page(
    request: Request,
    conn: sa.Connection,
    record: DatasetRecord,
    *,
    status: int = 200,
    errors: Errors | None = None,
    message: str | None = None,
    typed: SourceForm | None = None,
    rules_typed: RulesForm | None = None,
) -> HTMLResponse:
    """The source page of `record`; after a refused form, what was typed and why."""
    source = get_source(conn, record.id)
    try:
        rules = LoadRules.from_json(record.load_rules)
    except InvalidUpload as exc:  # stored by hand and broken: show the defaults, and why
        rules, message = LoadRules(), message or exc.message
    webhook = source.webhook_url if source else None
    return render_page(
        request,
        "manage/sync/source.html",
        status_code=status,
        dataset=record,
        source=source,
        webhook_host=urlsplit(webhook).hostname if webhook else None,  # its path may be a secret
        location_hidden=source is not None and not shown_location(source.spec),
        form=typed or SourceForm.of(source),
        rules=rules_typed or RulesForm.of(rules, record),
        runs=list_runs(conn, record.id, limit=MOST_RUNS),
        active=active_run(conn, record.id),
        kinds=SOURCE_KINDS,
        modes=SYNC_MODES,
        rule_names=RULES,
        rule_actions=RULE_ACTIONS,
        type_policies=TYPE_POLICIES,
        source_dirs=request.app.state.settings.source_dirs,
        errors=errors or {},
        message=message,
        saved=request.query_params.get("saved"),
    )


def _refused(
    request: Request,
    engine: sa.Engine,
    principal: Principal,
    dataset_id: str,
    status: int,
    **values: Any,
) -> HTMLResponse:
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
        return _page(request, conn, record, status=status, **values)


def _done(dataset_id: str, saved: str) -> RedirectResponse:
    return RedirectResponse(f"/manage/d/{dataset_id}/source?saved={saved}", status_code=303)


@router.get("/manage/d/{dataset_id}/source", response_class=HTMLResponse, include_in_schema=False)
def source_page(
    dataset_id: str, request: Request, engine: EngineDep, principal: StaffDep
) -> HTMLResponse:
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
        return _page(request, conn, record)


@router.post("/manage/d/{dataset_id}/source", response_class=HTMLResponse, include_in_schema=False)
async def save_source(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> Response:
    """Set or replace the source; 400 with the reason (nothing stored) when it cannot work or
    would read a file outside the allowed folders."""
    _ = gettext_for(request)
    form = await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    with engine.connect() as conn:
        writable_dataset(conn, dataset_id, principal)
        stored = get_source(conn, dataset_id)
    typed = read_source_form(form)
    errors: Errors = {}
    change = source_change(typed, stored, errors, _)
    if errors:
        return _refused(request, engine, principal, dataset_id, 400, errors=errors, typed=typed)
    client = client_address(request.scope)
    try:
        # Here, not only when it runs: a file outside the allowed folders is never stored.
        check_source(change.spec, allowed_dirs=settings.source_dirs)
        await run_in_threadpool(
            _store_source, engine, settings, principal, dataset_id, change, client
        )
    except InvalidUpload as exc:
        return _refused(
            request, engine, principal, dataset_id, 400, message=exc.message, typed=typed
        )
    return _done(dataset_id, "source")


def _store_source(
    engine: sa.Engine,
    settings: Settings,
    principal: Principal,
    dataset_id: str,
    change: SourceChange,
    client: str,
) -> None:
    # The job system's write turn: on SQLite a running load holds the only write lock.
    with write_turn(settings.resolved_database_url), engine.begin() as conn:
        source = set_source(
            conn,
            dataset_id,
            change.spec,
            schedule=change.schedule,
            mode=change.mode,
            webhook_url=change.webhook_url,
            max_attempts=change.max_attempts,
            enabled=change.enabled,
            now=dt.datetime.now(dt.UTC),
            time_zone=settings.time_zone,
        )
        record_event(
            conn, actor=principal.email, action="source.set", dataset_id=dataset_id,
            detail={"kind": source.spec.kind, "schedule": source.schedule, "mode": source.mode},
            client=client,
        )  # fmt: skip


@router.post(
    "/manage/d/{dataset_id}/source/remove", response_class=HTMLResponse, include_in_schema=False
)
async def remove(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> Response:
    """Forget the source and its schedule; the rows and the run history stay."""
    await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    with engine.connect() as conn:
        writable_dataset(conn, dataset_id, principal)
    client = client_address(request.scope)

    def forget() -> None:
        with write_turn(settings.resolved_database_url), engine.begin() as conn:
            remove_source(conn, dataset_id)
            record_event(
                conn, actor=principal.email, action="source.remove", dataset_id=dataset_id,
                client=client,
            )  # fmt: skip

    await run_in_threadpool(forget)
    return _done(dataset_id, "removed")


@router.post("/manage/d/{dataset_id}/sync", response_class=HTMLResponse, include_in_schema=False)
async def run_now(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> Response:
    """Queue a sync now and follow it on its run page; 409 when one is queued or running."""
    await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    with engine.connect() as conn:
        writable_dataset(conn, dataset_id, principal)
    try:
        run_id = await run_in_threadpool(
            enqueue_sync, engine, settings, dataset_id, requested_by=principal.email
        )
    except Conflict as exc:
        return _refused(request, engine, principal, dataset_id, 409, message=exc.message)
    return RedirectResponse(f"/manage/runs/{run_id}", status_code=303)


@router.post("/manage/d/{dataset_id}/rules", response_class=HTMLResponse, include_in_schema=False)
async def save_rules(
    dataset_id: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> Response:
    """Save the load rules (or, with the reset button, go back to the defaults); 400 with the
    reason, nothing stored, when one is not a rule, an action or a share."""
    _ = gettext_for(request)
    form = await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
    typed = read_rules_form(form, record)
    try:
        current = LoadRules.from_json(record.load_rules)
    except InvalidUpload:
        current = LoadRules()  # broken by hand: the form replaces it
    stored: dict[str, Any] | None = None  # the defaults
    if form.get("action") != "reset":
        errors: Errors = {}
        data = rules_json(typed, current, errors, _)
        try:
            stored = None if errors else LoadRules.from_json(data).to_json()
        except InvalidUpload as exc:
            return _refused(
                request, engine, principal, dataset_id, 400, message=exc.message, rules_typed=typed
            )
        if errors:
            return _refused(
                request, engine, principal, dataset_id, 400, errors=errors, rules_typed=typed
            )
    client = client_address(request.scope)

    def store() -> None:
        with write_turn(settings.resolved_database_url), engine.begin() as conn:
            set_load_rules(conn, dataset_id, stored, now=dt.datetime.now(dt.UTC))
            record_event(
                conn, actor=principal.email, action="dataset.rules", dataset_id=dataset_id,
                detail={"rules": stored or LoadRules().to_json(), "reset": stored is None},
                client=client,
            )  # fmt: skip

    await run_in_threadpool(store)
    return _done(dataset_id, "rules" if stored is not None else "rules-reset")
