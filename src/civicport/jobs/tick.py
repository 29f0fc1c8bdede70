"""The worker's minute: queue the syncs that are due, and alert about overdue datasets.

Every worker's scheduler runs the tick, so it must be safe to run twice at once: due sources and
overdue alerts are claimed by compare-and-set. Each part runs on its own, so one that fails
(logged) does not stop the other or the next minute's tick.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable

import sqlalchemy as sa

from civicport.catalog.sources import claim_due_sources, has_due_sources
from civicport.config import Settings
from civicport.db.writer import write_turn
from civicport.jobs.overdue import alert_overdue_datasets
from civicport.jobs.runs import active_run, create_run

SCHEDULE_ACTOR = "schedule"

logger = logging.getLogger(__name__)


def tick(
    engine: sa.Engine, settings: Settings, enqueue: Callable[[int], None], now: dt.datetime
) -> None:
    """One minute's work; `enqueue` puts a new run on the queue."""

    def queue_syncs() -> None:
        for run_id in queue_due_syncs(engine, settings, now):
            enqueue(run_id)

    parts: dict[str, Callable[[], object]] = {
        "queue due syncs": queue_syncs,
        "alert overdue datasets": functools.partial(alert_overdue_datasets, engine, settings, now),
    }
    for name, part in parts.items():
        try:
            part()
        except Exception:
            logger.exception("The worker could not %s; it tries again in a minute", name)


def queue_due_syncs(engine: sa.Engine, settings: Settings, now: dt.datetime) -> list[int]:
    """Record a queued run for each source due at `now` and return their ids. A dataset whose
    previous sync is still queued or running is not queued again (its schedule moves on)."""
    with engine.connect() as conn:
        if not has_due_sources(conn, now=now):
            return []
    runs = []
    with write_turn(settings.resolved_database_url), engine.begin() as conn:
        for source in claim_due_sources(conn, now=now, time_zone=settings.time_zone):
            busy = active_run(conn, source.dataset_id)
            if busy is not None:
                logger.info(
                    "Sync of %s not queued: run %s is still %s",
                    source.dataset_id,
                    busy.id,
                    busy.status,
                )
                continue
            runs.append(
                create_run(
                    conn,
                    dataset_id=source.dataset_id,
                    trigger="schedule",
                    requested_by=SCHEDULE_ACTOR,
                    now=now,
                )
            )
    return runs
