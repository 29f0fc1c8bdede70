"""Overdue alerts: tell a dataset's people once each time it lapses.

A lapse starts when a dataset becomes overdue (catalog.freshness) and ends with its next load.
`datasets.overdue_alerted_at` records the last alert; a dataset is alerted when it is overdue and
was not alerted since its last load. The stamp is set by compare-and-set before the alert is
sent, so of two workers ticking at once only one sends it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civicport.catalog.freshness import freshness_of
from civicport.catalog.sources import get_source
from civicport.catalog.store import get_dataset, utc
from civicport.config import Settings
from civicport.db.schema import datasets
from civicport.db.writer import write_turn
from civicport.jobs.alerts import Alert, deliver, overdue_alert


def alert_overdue_datasets(engine: sa.Engine, settings: Settings, now: dt.datetime) -> list[str]:
    """Alert about every dataset newly overdue at `now`; returns their ids."""
    with engine.connect() as conn:
        candidates = _newly_overdue(conn, now)
    alerted = []
    for dataset_id, loaded_at in candidates:
        alert = _claim_alert(engine, settings, dataset_id, loaded_at, now)
        if alert is not None:
            deliver(settings, alert)
            alerted.append(dataset_id)
    return alerted


def _newly_overdue(conn: sa.Connection, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """Each dataset overdue and not alerted since its last load, with that load's time."""
    rows = conn.execute(
        sa.select(
            datasets.c.id,
            datasets.c.update_frequency,
            datasets.c.data_updated_at,
            datasets.c.overdue_alerted_at,
        ).where(datasets.c.update_frequency.is_not(None))
    )
    found = []
    for dataset_id, frequency, updated, alerted in rows:
        state = freshness_of(frequency, utc(updated), now)
        if state is None or state.status != "overdue":
            continue
        if alerted is None or utc(alerted) < utc(updated):
            found.append((dataset_id, utc(updated)))
    return found


def _claim_alert(
    engine: sa.Engine,
    settings: Settings,
    dataset_id: str,
    loaded_at: dt.datetime,
    now: dt.datetime,
) -> Alert | None:
    """Stamp the dataset as alerted for this lapse and compose its alert; None when another
    worker did first, or a load ended the lapse meanwhile (the stamp's conditions say so)."""
    with write_turn(settings.resolved_database_url), engine.begin() as conn:
        stamped = conn.execute(
            datasets.update()
            .where(
                datasets.c.id == dataset_id,
                # Still the load that lapsed: a newer one would have ended the lapse.
                datasets.c.data_updated_at <= loaded_at,
                sa.or_(
                    datasets.c.overdue_alerted_at.is_(None),
                    datasets.c.overdue_alerted_at < datasets.c.data_updated_at,
                ),
            )
            .values(overdue_alerted_at=now)
        ).rowcount
        if not stamped:
            return None
        dataset = get_dataset(conn, dataset_id)
        source = get_source(conn, dataset_id)
        state = freshness_of(dataset.update_frequency, dataset.data_updated_at, now)
        expected_at = state.expected_at if state else dataset.data_updated_at
        return overdue_alert(
            conn, settings, dataset, expected_at, source.webhook_url if source else None
        )
