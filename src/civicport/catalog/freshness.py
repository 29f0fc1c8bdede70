"""Freshness: is a dataset as current as its update frequency promises?

A dataset's `update_frequency` is free text a publisher types ("Daily", "Weekly", "every 6
hours", DCAT's ISO 8601 "R/P1M", or Spanish "Mensual"); `expected_interval` reads the common
ones and ignores the rest ("As needed", "Sample (not updated)"), which have no status. From the
last successful load (`data_updated_at`):

- fresh: the next load is not yet expected;
- due: it was expected, and the grace period (a quarter of the interval, at least an hour) has
  not run out;
- overdue: the grace period has run out.

For staff, a dataset whose last background run (a sync or a queued upload) failed is
"sync_failed" in the catalog's freshness facet, whatever its frequency says: its data is not
arriving.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa

from civicport.catalog.records import DatasetRecord
from civicport.catalog.search import ReadScope, scope_filter
from civicport.catalog.store import utc
from civicport.db.schema import datasets, sync_runs

STATUSES = ("fresh", "due", "overdue")
FACET_STATUSES = (*STATUSES, "sync_failed")
DAY = dt.timedelta(days=1)
MIN_GRACE = dt.timedelta(hours=1)

# Words people write for a frequency (English and Spanish), in lower case.
_NAMED = {
    "hourly": dt.timedelta(hours=1),
    "daily": DAY,
    "diario": DAY,
    "diaria": DAY,
    "weekly": 7 * DAY,
    "semanal": 7 * DAY,
    "biweekly": 14 * DAY,
    "fortnightly": 14 * DAY,
    "quincenal": 14 * DAY,
    "monthly": 31 * DAY,
    "mensual": 31 * DAY,
    "quarterly": 92 * DAY,
    "trimestral": 92 * DAY,
    "semiannual": 183 * DAY,
    "semiannually": 183 * DAY,
    "semestral": 183 * DAY,
    "annual": 366 * DAY,
    "annually": 366 * DAY,
    "yearly": 366 * DAY,
    "anual": 366 * DAY,
}
_UNITS = {
    "hour": dt.timedelta(hours=1),
    "day": DAY,
    "week": 7 * DAY,
    "month": 31 * DAY,
    "year": 366 * DAY,
}
_EVERY = re.compile(r"^every\s+(\d+)\s+(hour|day|week|month|year)s?$")
_ISO = re.compile(r"^(?:r/)?p(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?(?:t(\d+)h)?$")


@dataclass(frozen=True)
class Freshness:
    """A dataset's freshness status and when its next load is (or was) expected."""

    status: str  # one of STATUSES
    expected_at: dt.datetime
    interval: dt.timedelta


def expected_interval(update_frequency: str | None) -> dt.timedelta | None:
    """How often a dataset promises new data, or None when the text does not say."""
    text = " ".join((update_frequency or "").lower().replace("-", "").split())
    if not text:
        return None
    if text in _NAMED:
        return _NAMED[text]
    every = _EVERY.match(text)
    if every:
        return int(every.group(1)) * _UNITS[every.group(2)] or None
    iso = _ISO.match(text)
    if iso and any(iso.groups()):
        years, months, weeks, days, hours = (int(g or 0) for g in iso.groups())
        interval = years * _UNITS["year"] + months * _UNITS["month"] + weeks * 7 * DAY
        return (interval + days * DAY + hours * _UNITS["hour"]) or None
    return None


def freshness(record: DatasetRecord, now: dt.datetime) -> Freshness | None:
    """The dataset's freshness at `now`, or None when it promises no update frequency."""
    return freshness_of(record.update_frequency, record.data_updated_at, now)


def scope_freshness(
    conn: sa.Connection, scope: ReadScope | None, now: dt.datetime
) -> dict[str, str]:
    """The freshness status (FACET_STATUSES) of every dataset in `scope` that promises an
    update frequency or whose last run failed, by id: the catalog's staff facet and filter."""
    rows = conn.execute(
        sa.select(datasets.c.id, datasets.c.update_frequency, datasets.c.data_updated_at).where(
            scope_filter(scope), datasets.c.update_frequency.is_not(None)
        )
    )
    found = {}
    for dataset_id, frequency, updated in rows:
        state = freshness_of(frequency, utc(updated), now)
        if state is not None:
            found[dataset_id] = state.status
    return found | dict.fromkeys(_last_run_failed(conn, scope), "sync_failed")


def _last_run_failed(conn: sa.Connection, scope: ReadScope | None) -> list[str]:
    """The datasets in `scope` whose latest finished background run failed."""
    finished = sync_runs.c.status.in_(("succeeded", "failed"))
    latest = (
        sa.select(sa.func.max(sync_runs.c.id))
        .where(finished, sync_runs.c.dataset_id.is_not(None))
        .group_by(sync_runs.c.dataset_id)
    )
    query = (
        sa.select(sync_runs.c.dataset_id)
        .join(datasets, datasets.c.id == sync_runs.c.dataset_id)
        .where(sync_runs.c.id.in_(latest), sync_runs.c.status == "failed", scope_filter(scope))
    )
    return list(conn.execute(query).scalars())


def freshness_of(
    update_frequency: str | None, data_updated_at: dt.datetime, now: dt.datetime
) -> Freshness | None:
    """Freshness from the promised frequency and the last successful load."""
    interval = expected_interval(update_frequency)
    if interval is None:
        return None
    expected_at = data_updated_at + interval
    grace = max(interval / 4, MIN_GRACE)
    if now < expected_at:
        status = "fresh"
    elif now < expected_at + grace:
        status = "due"
    else:
        status = "overdue"
    return Freshness(status, expected_at, interval)
