"""Where a dataset's rows come from and when to fetch them again (table dataset_sources).

A source is a SourceSpec (civicport.ingest.sources) plus how it loads (replace, append or upsert),
its schedule, whether it is enabled, who else hears of failures (a webhook) and how often a
failed run is tried. Header values are secrets (API keys): records expose them to the code that
fetches, and `header_names` to everything that shows a source to a person.

The worker finds due sources with `claim_due_sources`, which moves each one's `next_run_at` on by
compare-and-set, so two workers polling at once never both start the same sync.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from civicport.catalog.store import get_dataset, utc
from civicport.db.schema import dataset_sources
from civicport.errors import InvalidUpload, NotFound
from civicport.ingest.sources import SourceSpec, check_source, describe_source
from civicport.jobs.schedules import parse_schedule

SYNC_MODES = ("replace", "append", "upsert")
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class SourceRecord:
    """A dataset's source as stored."""

    dataset_id: str
    spec: SourceSpec
    schedule: str | None
    mode: str
    enabled: bool
    next_run_at: dt.datetime | None
    webhook_url: str | None
    max_attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def header_names(self) -> tuple[str, ...]:
        """The names of the headers sent to the source: what may be shown of them."""
        return tuple(self.spec.headers)

    @property
    def description(self) -> str:
        """A one-line description safe to show (no passwords, no header values)."""
        return describe_source(self.spec)


def set_source(
    conn: sa.Connection,
    dataset_id: str,
    spec: SourceSpec,
    *,
    schedule: str | None = None,
    mode: str = "replace",
    webhook_url: str | None = None,
    max_attempts: int = 3,
    enabled: bool = True,
    now: dt.datetime,
    time_zone: str = "UTC",
    allowed_dirs: Sequence[Path] | None = None,
) -> SourceRecord:
    """Give a dataset its source (replacing any it had) and return it as stored.

    Everything is checked first: an unknown dataset raises NotFound; a source, schedule, mode,
    webhook or attempt count that cannot work raises InvalidUpload, and nothing is stored.
    `allowed_dirs` (the source_dirs setting) are the only folders a file or SQLite source may
    read; None: any (the checks that need no setting only).

    >>> set_source(conn, "abcd-1234", SourceSpec("url", "https://x.gov/p.csv"),
    ...            schedule="0 6 * * *", now=now)  # doctest: +SKIP
    """
    dataset = get_dataset(conn, dataset_id)
    check_source(spec, allowed_dirs=allowed_dirs)
    parsed = parse_schedule(schedule, time_zone=time_zone) if schedule else None
    _check_mode(mode, dataset.row_identifier)
    _check_webhook(webhook_url)
    if not 1 <= max_attempts <= MAX_ATTEMPTS:
        raise InvalidUpload(f"Attempts must be between 1 and {MAX_ATTEMPTS}, not {max_attempts}.")
    values: dict[str, Any] = {
        "kind": spec.kind,
        "location": spec.location.strip(),
        "query": spec.query,
        "headers": dict(spec.headers),
        "options": dict(spec.options),
        "schedule": parsed.text if parsed else None,
        "mode": mode,
        "enabled": enabled,
        "next_run_at": parsed.next_run(now) if parsed and enabled else None,
        "webhook_url": webhook_url.strip() if webhook_url else None,
        "max_attempts": max_attempts,
        "updated_at": now,
    }
    where = dataset_sources.c.dataset_id == dataset_id
    if not conn.execute(dataset_sources.update().where(where).values(values)).rowcount:
        conn.execute(
            dataset_sources.insert().values({**values, "dataset_id": dataset_id, "created_at": now})
        )
    found = get_source(conn, dataset_id)
    assert found is not None  # written just above, in this transaction
    return found


def get_source(conn: sa.Connection, dataset_id: str) -> SourceRecord | None:
    """The dataset's source, or None when it has none."""
    row = conn.execute(
        sa.select(dataset_sources).where(dataset_sources.c.dataset_id == dataset_id)
    ).first()
    return None if row is None else _record(row._mapping)


def remove_source(conn: sa.Connection, dataset_id: str) -> None:
    """Forget the dataset's source (its run history stays). NotFound if it has none."""
    deleted = conn.execute(
        dataset_sources.delete().where(dataset_sources.c.dataset_id == dataset_id)
    ).rowcount
    if not deleted:
        raise NotFound(f"Dataset '{dataset_id}' has no source")


def list_sources(conn: sa.Connection) -> list[SourceRecord]:
    """Every source, by dataset id."""
    rows = conn.execute(sa.select(dataset_sources).order_by(dataset_sources.c.dataset_id))
    return [_record(row._mapping) for row in rows]


def _due(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        dataset_sources.c.enabled.is_(True),
        dataset_sources.c.schedule.is_not(None),
        dataset_sources.c.next_run_at <= now,
    )


def has_due_sources(conn: sa.Connection, *, now: dt.datetime) -> bool:
    """Whether any source is due (a read, so the worker's idle minutes never wait to write)."""
    found = conn.execute(sa.select(dataset_sources.c.dataset_id).where(_due(now)).limit(1))
    return found.first() is not None


def claim_due_sources(
    conn: sa.Connection, *, now: dt.datetime, time_zone: str = "UTC"
) -> list[SourceRecord]:
    """The enabled sources due at `now`, each moved on to its next time after `now`.

    Each move is a compare-and-set on the `next_run_at` read, so of two workers claiming at
    once exactly one gets each source. Times missed while no worker ran are not made up: a
    source due several times over runs once.
    """
    due = conn.execute(sa.select(dataset_sources).where(_due(now))).all()
    claimed = []
    for row in due:
        following = parse_schedule(row.schedule, time_zone=time_zone).next_run(now)
        moved = conn.execute(
            dataset_sources.update()
            .where(
                dataset_sources.c.dataset_id == row.dataset_id,
                # The value as read (not re-converted), so the comparison is exact on SQLite.
                dataset_sources.c.next_run_at == row.next_run_at,
            )
            .values(next_run_at=following)
        ).rowcount
        if moved:
            claimed.append(_record({**row._mapping, "next_run_at": following}))
    return claimed


def _check_mode(mode: str, row_identifier: str | None) -> None:
    if mode not in SYNC_MODES:
        raise InvalidUpload(f"Unknown mode '{mode}': a sync can {', '.join(SYNC_MODES)}.")
    if mode == "upsert" and not row_identifier:
        raise InvalidUpload(
            "Upsert needs the dataset's row identifier, and this dataset has none: "
            "use replace or append."
        )


def _check_webhook(url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidUpload(
            "The webhook address must start with http:// or https:// and name a host."
        )


def _record(row: Mapping[str, Any] | sa.RowMapping) -> SourceRecord:
    spec = SourceSpec(
        kind=row["kind"],
        location=row["location"],
        query=row["query"],
        headers=dict(row["headers"] or {}),
        options=dict(row["options"] or {}),
    )
    next_run_at = row["next_run_at"]
    return SourceRecord(
        dataset_id=row["dataset_id"],
        spec=spec,
        schedule=row["schedule"],
        mode=row["mode"],
        enabled=bool(row["enabled"]),
        next_run_at=utc(next_run_at) if next_run_at is not None else None,
        webhook_url=row["webhook_url"],
        max_attempts=row["max_attempts"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
    )
