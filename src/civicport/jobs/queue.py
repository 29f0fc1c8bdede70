"""The job queue: huey, with civicport's two tasks — run one run, and the minute's tick.

huey keeps the queue in a SQLite file of its own ($CIVICPORT_HOME/jobs.db) by default, or in
Redis when `redis_url` is set (several machines). A queue message carries only a run id; the run's
row in the database says what to do, and claiming that row (queued → running) decides which
worker does it, so a message delivered twice — or re-sent by a restarted worker — runs once.

Doors put work on the queue with `enqueue_sync` and `enqueue_import`; `civicport worker` (and the
embedded worker of `civicport serve`) run it, and two periodic tasks: the minute's tick (due
syncs, overdue alerts) and the nightly pruning of old versions.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import sqlalchemy as sa
from huey import Huey, RedisHuey, SqliteHuey, crontab  # type: ignore[import-untyped]

from civicport.catalog.sources import get_source
from civicport.catalog.store import get_dataset
from civicport.catalog.versions import prune_all
from civicport.config import Settings
from civicport.db.engine import make_engine
from civicport.db.writer import write_turn
from civicport.errors import Conflict, NotFound
from civicport.jobs.execute import execute_run
from civicport.jobs.failures import after_failure, seconds_until_start
from civicport.jobs.progress import ProgressReporter, read_progress
from civicport.jobs.recovery import fail_interrupted_runs
from civicport.jobs.runs import RunRecord, active_run, create_run, runs_with_status, worker_name
from civicport.jobs.tick import tick
from civicport.jobs.uploads import ImportJob, check_job

QUEUE_NAME = "civicport"
QUEUE_FILE = "jobs.db"
# When old versions are pruned: nightly, off-peak (huey's crontab is in UTC).
PRUNE_TIME = crontab(minute="17", hour="3")

logger = logging.getLogger(__name__)


def make_huey(settings: Settings, *, immediate: bool = False) -> Huey:
    """The huey instance for these settings (no tasks registered): Redis or the SQLite file."""
    if settings.redis_url:
        return RedisHuey(QUEUE_NAME, url=settings.redis_url, results=False, immediate=immediate)
    settings.home.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        QUEUE_NAME, filename=str(settings.home / QUEUE_FILE), results=False, immediate=immediate
    )


class JobQueue:
    """civicport's tasks on one huey queue: what puts runs on it, and what runs them.

    `engine` is used to run tasks; without one, a JobQueue makes its own the first time it
    runs one (processes that only enqueue never do). `immediate` runs each task at once in the
    caller (tests).
    """

    def __init__(
        self, settings: Settings, *, engine: sa.Engine | None = None, immediate: bool = False
    ) -> None:
        self.settings = settings
        self.huey = make_huey(settings, immediate=immediate)
        self._engine = engine
        self._owns_engine = engine is None
        self._engine_lock = threading.Lock()
        self._run_task = self.huey.task(name="civicport.run")(self.run)
        self.huey.periodic_task(crontab(), name="civicport.tick")(self.tick)
        self.huey.periodic_task(PRUNE_TIME, name="civicport.prune")(self.prune)

    @property
    def engine(self) -> sa.Engine:
        with self._engine_lock:
            if self._engine is None:
                self._engine = make_engine(self.settings)
            return self._engine

    def enqueue(self, run_id: int, *, delay_seconds: float = 0.0) -> None:
        """Put a recorded run on the queue, to start no sooner than `delay_seconds` from now."""
        if delay_seconds > 0:
            self._run_task.schedule((run_id,), delay=delay_seconds)
        else:
            self._run_task(run_id)

    def run(self, run_id: int) -> RunRecord | None:
        """The task: run one run; after a failure, queue its retry or send its alert."""
        progress = ProgressReporter(self.huey, run_id)
        ended = execute_run(
            self.engine, self.settings, run_id, worker=worker_name(), progress=progress
        )
        if ended is not None and ended.status == "failed":
            self._after_failure(ended)
        return ended

    def tick(self) -> None:
        """The periodic task (every minute): see jobs.tick."""
        tick(self.engine, self.settings, self.enqueue, dt.datetime.now(dt.UTC))

    def prune(self) -> None:
        """The nightly task: each dataset keeps its newest `keep_versions` versions."""
        with write_turn(self.settings.resolved_database_url):
            dropped = prune_all(self.engine, self.settings.keep_versions)
        logger.info("Pruned old versions: %s table(s) dropped", dropped)

    def start_up(self) -> list[RunRecord]:
        """What a worker does before it takes jobs: fail the runs its dead predecessors left
        running (retrying or alerting as after any failure), and put every queued run on the
        queue again in case its message was lost with them. Returns the interrupted runs."""
        interrupted = fail_interrupted_runs(self.engine, self.settings)
        for run in interrupted:
            ProgressReporter(self.huey, run.id).clear()
            self._after_failure(run)
        with self.engine.connect() as conn:
            queued = runs_with_status(conn, "queued")
        now = dt.datetime.now(dt.UTC)
        for run in queued:
            self.enqueue(run.id, delay_seconds=seconds_until_start(run, now))
        return interrupted

    def progress(self, run_id: int) -> dict[str, Any]:
        """A running run's progress; see jobs.progress."""
        return read_progress(self.huey, run_id)

    def close(self) -> None:
        """Close the queue's connection, and dispose of the engine it made (never of one it was
        given); both are opened again if the queue is used after."""
        self.huey.storage.close()
        if self._owns_engine and self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _after_failure(self, run: RunRecord) -> None:
        retry = after_failure(self.engine, self.settings, run)
        if retry is not None:
            self.enqueue(retry.run_id, delay_seconds=retry.delay_seconds)


# By the settings' JSON: Settings may hold lists, so it is not hashable itself.
_queues: dict[str, JobQueue] = {}
_queues_lock = threading.Lock()


def queue_for(settings: Settings) -> JobQueue:
    """This process's JobQueue for `settings` (made on first use, then shared)."""
    key = settings.model_dump_json()
    with _queues_lock:
        if key not in _queues:
            _queues[key] = JobQueue(settings)
        return _queues[key]


def run_progress(settings: Settings, run_id: int) -> dict[str, Any]:
    """A running run's progress, from any process:
    {"phase": "fetching"|"waiting"|"loading", "rows": n, "bytes": n, "updated_at": iso},
    or {} when it reports none (queued, or ended: get_run tells how)."""
    return queue_for(settings).progress(run_id)


def enqueue_sync(
    engine: sa.Engine,
    settings: Settings,
    dataset_id: str,
    *,
    requested_by: str,
    queue: JobQueue | None = None,
) -> int:
    """Queue a sync of the dataset now (a person's "run now") and return its run id; see
    record_sync for the errors."""
    run_id = record_sync(engine, settings, dataset_id, requested_by=requested_by)
    (queue or queue_for(settings)).enqueue(run_id)
    return run_id


def record_sync(
    engine: sa.Engine, settings: Settings, dataset_id: str, *, requested_by: str
) -> int:
    """Record a queued manual sync of the dataset and return its run id (the caller runs it or
    enqueues it). NotFound for an unknown dataset or one without a source; Conflict when a sync
    of it is already queued or running."""
    with write_turn(settings.resolved_database_url), engine.begin() as conn:
        get_dataset(conn, dataset_id)
        if get_source(conn, dataset_id) is None:
            raise NotFound(f"Dataset '{dataset_id}' has no source to sync from")
        busy = active_run(conn, dataset_id)
        if busy is not None:
            raise Conflict(f"A sync of {dataset_id} is already {busy.status} (run {busy.id})")
        return create_run(
            conn,
            dataset_id=dataset_id,
            trigger="manual",
            requested_by=requested_by,
            now=dt.datetime.now(dt.UTC),
        )


def enqueue_import(
    engine: sa.Engine,
    settings: Settings,
    *,
    job: ImportJob,
    requested_by: str,
    queue: JobQueue | None = None,
) -> int:
    """Queue the import of an uploaded file (saved under files/uploads) and return its run id.
    InvalidUpload when the job could not run. The file is deleted when the run ends."""
    check_job(settings, job)
    with write_turn(settings.resolved_database_url), engine.begin() as conn:
        if job.dataset_id is not None:
            get_dataset(conn, job.dataset_id)
        run_id = create_run(
            conn,
            dataset_id=job.dataset_id,
            trigger="upload",
            requested_by=requested_by,
            now=dt.datetime.now(dt.UTC),
            job=job.to_json(),
        )
    (queue or queue_for(settings)).enqueue(run_id)
    return run_id
