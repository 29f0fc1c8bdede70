"""A dataset's versions in the browser.

- ``/d/{id}/history``: the kept versions, newest first, each with what happened in plain words,
  a CSV download of its rows and a link to what changed since the kept version before it.
  Whoever may see the dataset may see its history; who made each version is shown only to those
  who may change the dataset (as the versions API does).
- ``/d/{id}/diff?from=A&to=B``: the rows that differ between two versions, counted, and the
  first MOST_DIFF_ROWS of them in a table; the JSON diff has them all.
- ``/manage/d/{id}/history``: the same list for those who may change the dataset, where any
  earlier version is rolled back to after a confirm step (``?confirm=N``, then a POST to
  ``/manage/d/{id}/rollback`` carrying the CSRF token). None of it needs JavaScript.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from civicport.api.deps import EngineDep, PrincipalDep, StaffDep
from civicport.api.renderers.cells import Cell, plan
from civicport.api.throttle import client_address
from civicport.auth.audit import record_event
from civicport.auth.policy import can_write, visible_dataset, writable_dataset
from civicport.auth.principal import Principal
from civicport.catalog.diffs import RowChange, VersionDiff, comparable, diff_versions
from civicport.catalog.records import DatasetRecord
from civicport.catalog.rollback import roll_back
from civicport.catalog.versions import VERSION_NUMBER, Version, get_version, list_versions
from civicport.errors import Conflict, NotFound
from civicport.web.csrf import read_form
from civicport.web.i18n import N_, PageInputError
from civicport.web.pages import gettext_for, render_page
from civicport.web.rows import DISPLAY_ENCODERS

router = APIRouter(tags=["Pages"])

MOST_DIFF_ROWS = 500
CHANGES = ("added", "changed", "removed")
LARGEST_FORM_BYTES = 16 * 1024
# At most nine digits: a version number, and never one too large for the database's integers.


# -- the list of versions ----------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One kept version as the history pages list it."""

    version: Version
    current: bool
    previous: int | None  # the kept version before it, when their rows can be compared


def history_entries(versions: Sequence[Version], current: int) -> list[HistoryEntry]:
    """`versions` (newest first) each with the kept version before it, to compare with."""
    entries = []
    for position, version in enumerate(versions):
        older = versions[position + 1] if position + 1 < len(versions) else None
        previous = older.version if older is not None and comparable(older, version) else None
        entries.append(HistoryEntry(version, version.version == current, previous))
    return entries


@router.get("/d/{dataset_id}/history", response_class=HTMLResponse, include_in_schema=False)
def history_page(
    dataset_id: str, request: Request, engine: EngineDep, principal: PrincipalDep
) -> HTMLResponse:
    with engine.connect() as conn:
        record = visible_dataset(conn, dataset_id, principal)
        versions = list_versions(conn, dataset_id)
    writer = can_write(principal, record)
    return render_page(
        request,
        "history/versions.html",
        dataset=record,
        entries=history_entries(versions, record.data_version),
        show_author=writer,
        may_roll_back=writer,
    )


# -- the diff between two versions ---------------------------------------------------------------


@dataclass(frozen=True)
class DiffRow:
    """One differing row: for each data column its text before and after, or None for a
    changed row's columns that did not change."""

    change: str
    key: str
    cells: tuple[tuple[str, str] | None, ...]


@dataclass(frozen=True)
class DiffTable:
    """What the diff page shows: the two versions, how many rows differ and the first ones."""

    older: Version
    newer: Version
    headings: tuple[str, ...]  # the data columns' display names, in the cells' order
    key_column: str | None  # the row identifier's display name; None: rows keyed by a hash
    counts: Mapping[str, int]  # added, changed, removed
    rows: tuple[DiffRow, ...]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def read_diff(conn: sa.Connection, diff: VersionDiff, most: int = MOST_DIFF_ROWS) -> DiffTable:
    """Count every differing row and keep the first `most`, their cells as the data grid shows
    them (web.rows.DISPLAY_ENCODERS), in one pass over the diff's stream."""
    # The data columns only: the key stands for :id, and :created_at / :updated_at say when the
    # rows were written, which the two versions' dates already tell.
    cells = [c for c in plan(diff.columns, DISPLAY_ENCODERS) if not c.name.startswith(":")]
    names = {c.field_name: c.display_name for c in diff.newer.columns}
    counts: Counter[str] = Counter()
    rows: list[DiffRow] = []
    for change in diff.changes(conn):
        counts[change.change] += 1
        if len(rows) < most:
            rows.append(_diff_row(change, cells, set(change.changed_columns(diff.columns))))
    return DiffTable(
        older=diff.older,
        newer=diff.newer,
        headings=tuple(names.get(cell.name, cell.name) for cell in cells),
        key_column=names.get(diff.key_column, diff.key_column) if diff.key_column else None,
        counts={change: counts[change] for change in CHANGES},
        rows=tuple(rows),
    )


def _diff_row(change: RowChange, cells: Sequence[Cell], changed: set[str]) -> DiffRow:
    shown = [
        None
        if change.change == "changed" and cell.name not in changed
        else (_cell_text(cell, change.before), _cell_text(cell, change.after))
        for cell in cells
    ]
    return DiffRow(change.change, change.key, tuple(shown))


def _cell_text(cell: Cell, row: Sequence[Any] | None) -> str:
    value = None if row is None else cell.value(row)
    if value is None:
        return ""
    return str(cell.encode(value)) if cell.encode else str(value)


@router.get("/d/{dataset_id}/diff", response_class=HTMLResponse, include_in_schema=False)
def diff_page(
    dataset_id: str, request: Request, engine: EngineDep, principal: PrincipalDep
) -> HTMLResponse:
    """Bad input is answered with the error page and what to change: 400 for a missing or
    malformed number or a version that is not kept, 409 for versions with different columns."""
    _ = gettext_for(request)
    with engine.connect() as conn:
        record = visible_dataset(conn, dataset_id, principal)
        try:
            older = version_number(request.query_params.get("from"), "from")
            newer = version_number(request.query_params.get("to"), "to")
            table = read_diff(conn, diff_versions(conn, record, older, newer))
        except PageInputError as exc:
            return _error_page(request, 400, exc.translated(_))
        except NotFound as exc:  # a version that is not kept (the dataset itself was found)
            return _error_page(request, 400, exc.message)
        except Conflict as exc:
            return _error_page(request, 409, exc.message)
    versions = {"from": table.older.version, "to": table.newer.version}
    json_url = f"/api/views/{record.id}/diff.json?{urlencode(versions)}"
    return render_page(request, "history/diff.html", dataset=record, diff=table, json_url=json_url)


def version_number(text: str | None, name: str) -> int:
    """A version number given as the parameter or field `name`; PageInputError saying what to
    give instead."""
    text = (text or "").strip()
    if not text:
        raise PageInputError(
            N_("%(name)s is missing: give it a version number, like %(name)s=3."), name=name
        )
    if not VERSION_NUMBER.fullmatch(text):
        raise PageInputError(
            N_("%(name)s: '%(value)s' is not a version number (1, 2, 3, …)"),
            name=name,
            value=text[:40],
        )
    return int(text)


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    # Rendered here rather than raised: the error handlers carry the message through a latin-1
    # header, which would mangle a translated message or the quoted input.
    return render_page(request, "error.html", status_code=status, status=status, message=message)


# -- rolling back (staff) ------------------------------------------------------------------------


@router.get("/manage/d/{dataset_id}/history", response_class=HTMLResponse, include_in_schema=False)
def manage_history(
    dataset_id: str, request: Request, engine: EngineDep, principal: StaffDep
) -> HTMLResponse:
    """With ``?confirm=N``: the confirm step of rolling back to version N. With ``?done=M``
    (where a rollback sends the person): which version the rollback made."""
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
        confirming = None
        if "confirm" in request.query_params:
            try:
                confirming = _rollback_target(conn, record, request.query_params["confirm"])
            except PageInputError as exc:
                message = exc.translated(gettext_for(request))
                return _manage_page(request, conn, record, status=400, message=message)
            except NotFound as exc:
                return _manage_page(request, conn, record, status=400, message=exc.message)
        return _manage_page(request, conn, record, confirming=confirming)


def _rollback_target(conn: sa.Connection, record: DatasetRecord, text: str) -> Version:
    """The kept, earlier version `text` names; PageInputError or NotFound otherwise."""
    number = version_number(text, "confirm")
    if number == record.data_version:
        raise PageInputError(
            N_("Version %(num)s is the current one already: choose an earlier version."),
            num=number,
        )
    return get_version(conn, record.id, number)


def _manage_page(
    request: Request,
    conn: sa.Connection,
    record: DatasetRecord,
    *,
    status: int = 200,
    message: str | None = None,
    confirming: Version | None = None,
) -> HTMLResponse:
    entries = history_entries(list_versions(conn, record.id), record.data_version)
    done = request.query_params.get("done", "")
    made = next((e.version for e in entries if str(e.version.version) == done), None)
    return render_page(
        request,
        "history/manage.html",
        status_code=status,
        dataset=record,
        entries=entries,
        message=message,
        confirming=confirming,
        rolled_back=made if made is not None and made.operation == "rollback" else None,
    )


@router.post(
    "/manage/d/{dataset_id}/rollback", response_class=HTMLResponse, include_in_schema=False
)
async def rollback(
    dataset_id: str, request: Request, engine: EngineDep, principal: StaffDep
) -> Response:
    """Make the form's `version` current again, as a new version, and record it in the audit
    log; the history page then says which version the rollback made."""
    form = await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    with engine.connect() as conn:
        writable_dataset(conn, dataset_id, principal)
    field = form.get("version")
    try:
        number = version_number(field if isinstance(field, str) else None, "version")
        result = await run_in_threadpool(
            roll_back, engine, dataset_id, number, made_by=principal.email
        )
    except PageInputError as exc:
        message = exc.translated(gettext_for(request))
        return _refused(request, engine, principal, dataset_id, 400, message)
    except (NotFound, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        return _refused(request, engine, principal, dataset_id, status, exc.message)
    with engine.begin() as conn:
        record_event(
            conn, actor=principal.email, action="dataset.rollback", dataset_id=dataset_id,
            detail={"to": number, "version": result.version},
            client=client_address(request.scope),
        )  # fmt: skip
    return RedirectResponse(
        f"/manage/d/{dataset_id}/history?done={result.version}", status_code=303
    )


def _refused(
    request: Request,
    engine: sa.Engine,
    principal: Principal,
    dataset_id: str,
    status: int,
    message: str,
) -> HTMLResponse:
    """The staff history page as the dataset is now, with why the rollback was refused."""
    with engine.connect() as conn:
        record = writable_dataset(conn, dataset_id, principal)
        return _manage_page(request, conn, record, status=status, message=message)
