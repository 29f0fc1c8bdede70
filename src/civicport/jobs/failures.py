"""What follows a failed sync: another attempt after a growing wait, or — after the last
attempt — an alert to the people responsible.

Each retry is a run of its own (trigger "retry", attempt + 1), so the history shows every
attempt with its error. Queued uploads are not retried: the same file would fail the same way,
and the person who uploaded it sees the message on the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from civicport.catalog.sources import get_source
from civicport.catalog.store import get_dataset
from civicport.config import Settings
from civicport.db.writer import write_turn
from civicport.jobs.alerts import deliver, failed_run_alert
from civicport.jobs.runs import RunRecord, create_run

BACKOFF_FACTOR = 5  # 1, 5, 25 minutes with the default one-minute first delay


@dataclass(frozen=True)
class Retry:
    """A retry run to enqueue, and how long to wait before it may start."""

    run_id: int
    delay_seconds: float


def retry_delay(settings: Settings, attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, ...)."""
    return float(settings.retry_delay_seconds * BACKOFF_FACTOR ** (attempt - 1))


def after_failure(engine: sa.Engine, settings: Settings, run: RunRecord) -> Retry | None:
    """Record the retry of a failed sync while it has attempts left and return it; after the
    last attempt, alert the dataset's owner, contact and webhook, and return None."""
    if run.trigger == "upload" or run.dataset_id is None:
        return None
    now = dt.datetime.now(dt.UTC)
    with write_turn(settings.resolved_database_url), engine.begin() as conn:
        source = get_source(conn, run.dataset_id)
        if source is None:  # removed meanwhile (or the dataset was deleted): nobody to tell
            return None
        if run.attempt < source.max_attempts:
            delay = retry_delay(settings, run.attempt)
            retry_id = create_run(
                conn,
                dataset_id=run.dataset_id,
                trigger="retry",
                requested_by=run.requested_by,
                attempt=run.attempt + 1,
                now=now,
                job={"not_before": (now + dt.timedelta(seconds=delay)).isoformat()},
            )
            return Retry(retry_id, delay)
        dataset = get_dataset(conn, run.dataset_id)
        alert = failed_run_alert(conn, settings, dataset, run, source.webhook_url)
    # Sent after the transaction and the write turn: a slow mail server holds neither.
    deliver(settings, alert)
    return None


def seconds_until_start(run: RunRecord, now: dt.datetime) -> float:
    """How long a queued run must still wait (a retry's backoff), in seconds."""
    not_before = run.job.get("not_before")
    if not not_before:
        return 0.0
    return max(0.0, (dt.datetime.fromisoformat(not_before) - now).total_seconds())
