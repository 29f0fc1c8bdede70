"""The run history (table sync_runs): one row per attempt to load data in the background.

A run is created `queued`, claimed `running` by exactly one worker (compare-and-set on its
status, so a second worker process that got the same job skips it), and ends `succeeded` with
its counts and the version it published, or `failed` with a message a person can act on.

While a run loads, its progress (rows so far) is kept in the queue's key-value store, not in the
database: on SQLite the load holds the database's only write lock until it commits, and the
progress must be readable — and writable — meanwhile.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from civicport.catalog.store import utc
from civicport.db.schema import sync_runs
from civicport.errors import NotFound

TRIGGERS = ("schedule", "manual", "upload", "retry")
RUN_STATUSES = ("queued", "running", "succeeded", "failed")
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class RunRecord:
    """One run as stored."""

    id: int
    dataset_id: str | None
    trigger: str
    status: str
    attempt: int
    requested_by: str
    queued_at: dt.datetime
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    rows_added: int | None = None
    rows_changed: int | None = None
    rows_removed: int | None = None
    version: int | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    worker: str | None = None
    job: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")

    @property
    def outcome(self) -> str | None:
        """What a succeeded save from the review page did (catalog.publishing.OUTCOMES), kept in
        the run's job; None for other runs."""
        outcome = self.job.get("outcome")
        return str(outcome) if outcome is not None else None


def worker_name() -> str:
    """This process as a run's `worker`: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def create_run(
    conn: sa.Connection,
    *,
    dataset_id: str | None,
    trigger: str,
    requested_by: str,
    now: dt.datetime,
    attempt: int = 1,
    job: Mapping[str, Any] | None = None,
) -> int:
    """Record a queued run and return its id."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    return int(
        conn.execute(
            sync_runs.insert()
            .values(
                dataset_id=dataset_id,
                trigger=trigger,
                status="queued",
                attempt=attempt,
                requested_by=requested_by,
                queued_at=now,
                job=dict(job or {}),
            )
            .returning(sync_runs.c.id)
        ).scalar_one()
    )


def claim_run(conn: sa.Connection, run_id: int, *, worker: str, now: dt.datetime) -> bool:
    """Mark a queued run running for `worker`; False when it is not queued (any more): another
    worker has it, or it ended."""
    claimed = conn.execute(
        sync_runs.update()
        .where(sync_runs.c.id == run_id, sync_runs.c.status == "queued")
        .values(status="running", worker=worker, started_at=now)
    ).rowcount
    return bool(claimed)


def succeed_run(
    conn: sa.Connection,
    run_id: int,
    *,
    dataset_id: str,
    rows_added: int | None,
    rows_changed: int | None,
    rows_removed: int | None,
    version: int | None,
    warnings: Sequence[str],
    now: dt.datetime,
    outcome: str | None = None,
) -> None:
    """End a running run as succeeded with what its load did (no counts nor version: nothing
    went live) and, for a save from the review page, its `outcome` (kept in the run's job)."""
    job: dict[str, Any] = {}
    if outcome is not None:
        stored = conn.execute(sa.select(sync_runs.c.job).where(sync_runs.c.id == run_id))
        job = {"job": dict(stored.scalar_one() or {}) | {"outcome": outcome}}
    _end(
        conn,
        run_id,
        status="succeeded",
        dataset_id=dataset_id,
        rows_added=rows_added,
        rows_changed=rows_changed,
        rows_removed=rows_removed,
        version=version,
        warnings=list(warnings),
        ended_at=now,
        **job,
    )


def fail_run(conn: sa.Connection, run_id: int, *, error: str, now: dt.datetime) -> None:
    """End a queued or running run as failed with `error`, a sentence a person can act on."""
    _end(conn, run_id, status="failed", error=error, ended_at=now)


def _end(conn: sa.Connection, run_id: int, **values: Any) -> None:
    # Only an unfinished run ends: a run the recovery already failed stays failed.
    conn.execute(
        sync_runs.update()
        .where(sync_runs.c.id == run_id, sync_runs.c.status.in_(ACTIVE))
        .values(values)
    )


def get_run(conn: sa.Connection, run_id: int) -> RunRecord:
    """The run with this id; NotFound if there is none."""
    row = conn.execute(sa.select(sync_runs).where(sync_runs.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"There is no run {run_id}")
    return _record(row._mapping)


def list_runs(conn: sa.Connection, dataset_id: str, *, limit: int = 50) -> list[RunRecord]:
    """The dataset's runs, newest first."""
    rows = conn.execute(
        sa.select(sync_runs)
        .where(sync_runs.c.dataset_id == dataset_id)
        .order_by(sync_runs.c.id.desc())
        .limit(limit)
    )
    return [_record(row._mapping) for row in rows]


def latest_runs(conn: sa.Connection, dataset_ids: Sequence[str]) -> dict[str, RunRecord]:
    """Each dataset's newest run, by dataset id (datasets without runs are left out)."""
    if not dataset_ids:
        return {}
    newest = (
        sa.select(sa.func.max(sync_runs.c.id))
        .where(sync_runs.c.dataset_id.in_(dataset_ids))
        .group_by(sync_runs.c.dataset_id)
    )
    rows = conn.execute(sa.select(sync_runs).where(sync_runs.c.id.in_(newest)))
    return {row.dataset_id: _record(row._mapping) for row in rows}


def active_run(conn: sa.Connection, dataset_id: str) -> RunRecord | None:
    """The dataset's queued or running run, if it has one."""
    row = conn.execute(
        sa.select(sync_runs)
        .where(sync_runs.c.dataset_id == dataset_id, sync_runs.c.status.in_(ACTIVE))
        .order_by(sync_runs.c.id)
        .limit(1)
    ).first()
    return None if row is None else _record(row._mapping)


def runs_with_status(conn: sa.Connection, status: str) -> list[RunRecord]:
    """Every run in `status`, oldest first (the worker's recovery reads these)."""
    rows = conn.execute(
        sa.select(sync_runs).where(sync_runs.c.status == status).order_by(sync_runs.c.id)
    )
    return [_record(row._mapping) for row in rows]


def _record(row: sa.RowMapping) -> RunRecord:
    values = dict(row)
    for name in ("queued_at", "started_at", "ended_at"):
        if values[name] is not None:
            values[name] = utc(values[name])
    values["warnings"] = tuple(values["warnings"] or ())
    values["job"] = dict(values["job"] or {})
    return RunRecord(**values)
