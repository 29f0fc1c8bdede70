"""``/manage/audit``: the audit log for admins — newest first, filtered by action, actor, dataset
and dates, a page at a time — and ``/manage/audit.csv``, the same filtered events as a file.

Anyone else gets the answer for a page that does not exist: the log names people and datasets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import HTMLResponse, Response

from civicport.api.deps import EngineDep, StaffDep
from civicport.auth.audit import MOST_EVENTS, AuditEvent, events_csv, list_events
from civicport.auth.policy import can_read_audit_log
from civicport.auth.principal import Principal
from civicport.errors import NotFound
from civicport.web.grid import parse_page
from civicport.web.i18n import N_, PageInputError
from civicport.web.pages import gettext_for, render_page

router = APIRouter(tags=["Pages"])

PAGE_SIZE = 50
LONGEST_FILTER = 254
NO_STORE = {"Cache-Control": "private, no-store"}


@dataclass(frozen=True)
class AuditFilters:
    """What the admin asked for; `since` inclusive, `until` exclusive (the day after "to")."""

    action: str = ""
    actor: str = ""
    dataset: str = ""
    date_from: str = ""
    date_to: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def query(self) -> str:
        """The filters as a query string (for the export link and the pager)."""
        values = {
            "action": self.action,
            "actor": self.actor,
            "dataset": self.dataset,
            "from": self.date_from,
            "to": self.date_to,
        }
        return urlencode({k: v for k, v in values.items() if v})


def _admin(principal: Principal) -> None:
    if not can_read_audit_log(principal):
        raise NotFound("Not found")


@router.get("/manage/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(request: Request, engine: EngineDep, principal: StaffDep) -> HTMLResponse:
    _admin(principal)
    _ = gettext_for(request)
    errors: dict[str, str] = {}
    filters = _filters(request.query_params, errors, _)
    page_number = 1
    try:
        page_number = parse_page(request.query_params.get("page"))
    except PageInputError as exc:
        errors["page"] = exc.translated(_)
    events: list[AuditEvent] = []
    more = False
    if not errors:
        with engine.connect() as conn:
            found = _events(
                conn, filters, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
            )
        events, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    return render_page(
        request,
        "manage/audit.html",
        status_code=400 if errors else 200,
        headers=NO_STORE,
        filters=filters,
        errors=errors,
        events=events,
        page_number=page_number,
        more=more,
    )


@router.get("/manage/audit.csv", include_in_schema=False)
def audit_csv(request: Request, engine: EngineDep, principal: StaffDep) -> Response:
    _admin(principal)
    errors: dict[str, str] = {}
    filters = _filters(request.query_params, errors, gettext_for(request))
    if errors:
        return Response(
            "\n".join(errors.values()) + "\n",
            status_code=400,
            media_type="text/plain; charset=utf-8",
            headers=NO_STORE,
        )
    with engine.connect() as conn:
        events = _events(conn, filters, offset=0, limit=MOST_EVENTS)
    return Response(
        events_csv(events).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"', **NO_STORE},
    )


def _filters(
    params: QueryParams, errors: dict[str, str], gettext: Callable[[str], str]
) -> AuditFilters:
    values = {name: " ".join((params.get(name) or "").split())[:LONGEST_FILTER]
              for name in ("action", "actor", "dataset", "from", "to")}  # fmt: skip
    since = _day(values["from"], "from", errors, gettext)
    until = _day(values["to"], "to", errors, gettext)
    if until is not None:
        until += dt.timedelta(days=1)
    if since is not None and until is not None and until <= since:
        errors["to"] = gettext(N_("The end date is before the start date."))
    return AuditFilters(
        action=values["action"],
        actor=values["actor"],
        dataset=values["dataset"],
        date_from=values["from"],
        date_to=values["to"],
        since=since,
        until=until,
    )


def _day(
    text: str, name: str, errors: dict[str, str], gettext: Callable[[str], str]
) -> dt.datetime | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        message = N_("“%(value)s” is not a date; write it as YYYY-MM-DD.")
        errors[name] = gettext(message) % {"value": text[:40]}
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _events(
    conn: sa.Connection, filters: AuditFilters, *, offset: int, limit: int
) -> list[AuditEvent]:
    """The filtered events, newest first, from `offset`."""
    return list_events(
        conn,
        since=filters.since,
        until=filters.until,
        actor=filters.actor or None,
        action=filters.action or None,
        dataset_id=filters.dataset or None,
        offset=offset,
        limit=limit,
    )
