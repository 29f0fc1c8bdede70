"""The audit log: who did what and when, viewable and exportable by admins.

`record_event` writes one event on the caller's connection, so an event recorded inside the
transaction that makes a change commits or rolls back with it: a write that did not happen
leaves no event. Where the change ran in a transaction of its own (the catalog service's
writes), the door records the event right after it succeeded.

An event's `detail` holds what helps an auditor (counts, the mode, the API key's id), never a
secret: `record_event` refuses details whose keys name one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from civicport.db.schema import audit_events

CLI_ACTOR = "cli"
ANONYMOUS_ACTOR = "anonymous"
MOST_EVENTS = 10_000
# Words that must never name a value kept in an event's detail.
_SECRET_WORDS = ("secret", "password", "token_value", "hash")


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: dt.datetime
    actor: str
    action: str
    dataset_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    client: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The event as JSON-ready values (`at` in ISO 8601, UTC)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "dataset_id": self.dataset_id,
            "detail": self.detail,
            "client": self.client,
        }


def _utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC; a naive time is taken to be UTC already (SQLite returns them naive)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _check_detail(detail: Mapping[str, Any]) -> None:
    for key, value in detail.items():
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise ValueError(f"An audit event may not keep '{key}': it names a secret")
        if isinstance(value, Mapping):
            _check_detail(value)


def record_event(
    conn: sa.Connection,
    *,
    actor: str,
    action: str,
    dataset_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    client: str | None = None,
) -> None:
    """Record that `actor` did `action` (on `dataset_id`), in the caller's transaction."""
    values = dict(detail or {})
    _check_detail(values)
    conn.execute(
        audit_events.insert().values(
            at=dt.datetime.now(dt.UTC),
            actor=actor,
            action=action,
            dataset_id=dataset_id,
            detail=values,
            client=client,
        )
    )


def list_events(
    conn: sa.Connection,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    dataset_id: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[AuditEvent]:
    """Events newest first, filtered by time (at or after `since`, before `until`), actor (an
    email matches in any case), action and dataset; at most `limit` (capped at MOST_EVENTS)
    from `offset`."""
    query = sa.select(audit_events)
    if since is not None:
        query = query.where(audit_events.c.at >= _utc(since))
    if until is not None:
        query = query.where(audit_events.c.at < _utc(until))
    if actor is not None:
        query = query.where(audit_events.c.actor == actor.strip().lower())
    if action is not None:
        query = query.where(audit_events.c.action == action)
    if dataset_id is not None:
        query = query.where(audit_events.c.dataset_id == dataset_id)
    query = query.order_by(audit_events.c.at.desc(), audit_events.c.id.desc())
    query = query.limit(max(0, min(limit, MOST_EVENTS))).offset(max(0, offset))
    return [
        AuditEvent(
            id=row.id,
            at=_utc(row.at),
            actor=row.actor,
            action=row.action,
            dataset_id=row.dataset_id,
            detail=dict(row.detail or {}),
            client=row.client,
        )
        for row in conn.execute(query)
    ]


def prune_events(conn: sa.Connection, *, before: dt.datetime, actor: str) -> int:
    """Delete the events older than `before`; returns how many. The pruning is itself recorded,
    so the log shows who shortened it and when."""
    deleted = conn.execute(audit_events.delete().where(audit_events.c.at < _utc(before)))
    count = deleted.rowcount or 0
    record_event(
        conn,
        actor=actor,
        action="audit.prune",
        detail={"before": before.isoformat(), "deleted": count},
    )
    return count


CSV_FIELDS = ("id", "at", "actor", "action", "dataset_id", "detail", "client")


def events_csv(events: Iterable[AuditEvent]) -> str:
    """The events as CSV with a header row; `detail` is a JSON object in its cell."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for event in events:
        values = event.as_dict()
        values["detail"] = json.dumps(event.detail, sort_keys=True, default=str)
        writer.writerow(["" if values[f] is None else values[f] for f in CSV_FIELDS])
    return out.getvalue()
