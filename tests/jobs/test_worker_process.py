"""`civicport worker` as a real process: it takes jobs from the SQLite queue file, never runs one
twice, and survives SIGKILL at any moment of a load — the dataset keeps its previous version, and
the next start marks the run interrupted and removes its files. `civicport import` killed
mid-load leaves the old rows too."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from jobdata import MakeCsvDataset, csv_rows, dataset_rows, dataset_version, write_csv

from civicport.auth.audit import list_events
from civicport.catalog.service import import_file
from civicport.catalog.sources import set_source
from civicport.config import Settings
from civicport.ingest.sources import SourceSpec
from civicport.jobs.execute import scratch_dir
from civicport.jobs.queue import JobQueue, enqueue_sync
from civicport.jobs.recovery import INTERRUPTED
from civicport.jobs.runs import RunRecord, get_run, list_runs

# Enough rows for a load of a few seconds, so that a kill lands in the middle of it.
BIG_ROWS = 300_000
# The command line's import, killed up to a second into its load, needs a longer one.
CLI_ROWS = 300_000
TIMEOUT = 60.0


def env_for(settings: Settings) -> dict[str, str]:
    """The environment that makes a civicport process use `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPORT_")}
    env |= {
        "CIVICPORT_HOME": str(settings.home),
        "CIVICPORT_CONFIG": str(settings.home / "no-such-civicport.toml"),
        "CIVICPORT_RETRY_DELAY_SECONDS": "0",
        "CIVICPORT_SOURCE_DIRS": str(settings.home.parent),  # the test's folder
    }
    if settings.database_url:
        env["CIVICPORT_DATABASE_URL"] = settings.database_url
    return env


def civicport(*args: str) -> list[str]:
    return [sys.executable, "-m", "civicport", *args]


@dataclass
class Worker:
    """A `civicport worker` process and its log."""

    process: subprocess.Popen[bytes]
    log: Path

    def ready(self) -> bool:
        """Whether it logged that it takes jobs (from then on it handles SIGTERM)."""
        return "Ready:" in self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM: finish what is in hand, then exit; returns the exit code."""
        wait_for(self.ready, "the worker to take jobs")
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


StartWorker = Callable[[], Worker]


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[StartWorker]:
    """start() -> a running `civicport worker`; every one still running is killed at the end."""
    started: list[Worker] = []

    def start() -> Worker:
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                civicport("worker", "--workers", "2"),
                env=env_for(settings),
                stdout=output,
                stderr=output,
            )
        started.append(Worker(process, log))
        return started[-1]

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


def wait_for(condition: Callable[[], object], what: str, timeout: float = TIMEOUT) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def newest_run(engine: sa.Engine, dataset_id: str) -> RunRecord:
    with engine.connect() as conn:
        return list_runs(conn, dataset_id, limit=1)[0]


def run_of(engine: sa.Engine, run_id: int) -> RunRecord:
    with engine.connect() as conn:
        return get_run(conn, run_id)


def test_a_worker_process_runs_each_queued_sync_once(
    engine: sa.Engine,
    settings: Settings,
    csv_dataset: MakeCsvDataset,
    tmp_path: Path,
    start_worker: StartWorker,
) -> None:
    dataset_id = csv_dataset(csv_rows(3))
    share = write_csv(tmp_path / "share.csv", csv_rows(7))
    with engine.begin() as conn:
        set_source(conn, dataset_id, SourceSpec("file", str(share)), now=dt.datetime.now(dt.UTC))
    version = dataset_version(engine, dataset_id)
    workers = [start_worker(), start_worker()]
    queue = JobQueue(settings)  # the queue file in CIVICPORT_HOME, as a web process would use

    run_id = enqueue_sync(engine, settings, dataset_id, requested_by="cli", queue=queue)
    for _ in range(3):  # the same message again and again: still one run
        queue.enqueue(run_id)

    wait_for(partial(_finished, engine, run_id), "the run to end")
    time.sleep(1.0)  # give the duplicates time to be picked up (and skipped)
    run = run_of(engine, run_id)
    assert run.status == "succeeded", run.error
    assert dataset_version(engine, dataset_id) == version + 1
    assert len(dataset_rows(engine, dataset_id)) == 7
    with engine.connect() as conn:
        imports = [e for e in list_events(conn, action="dataset.import") if e.detail.get("run_id")]
    assert [e.detail["run_id"] for e in imports] == [run_id]

    assert [worker.stop() for worker in workers] == [0, 0]
    queue.close()


def test_a_worker_killed_mid_load_leaves_the_previous_version(
    engine: sa.Engine,
    settings: Settings,
    csv_dataset: MakeCsvDataset,
    tmp_path: Path,
    start_worker: StartWorker,
) -> None:
    dataset_id = csv_dataset(csv_rows(3))
    rows, version = dataset_rows(engine, dataset_id), dataset_version(engine, dataset_id)
    big = write_csv(tmp_path / "big.csv", csv_rows(BIG_ROWS, status="closed"))
    with engine.begin() as conn:
        set_source(
            conn,
            dataset_id,
            SourceSpec("file", str(big)),
            max_attempts=3,
            now=dt.datetime.now(dt.UTC),
        )
    queue = JobQueue(settings)
    worker = start_worker()
    enqueue_sync(engine, settings, dataset_id, requested_by="cli", queue=queue)

    # Kill as the load starts, halfway through reading the rows, and once all are read (while
    # they are compared with the current version and applied).
    for attempt, rows_loaded in enumerate((0, BIG_ROWS // 2, BIG_ROWS), start=1):
        run = wait_for(partial(_running, engine, dataset_id, attempt), f"attempt {attempt}")
        assert isinstance(run, RunRecord)
        wait_for(partial(_loaded, queue, run.id, rows_loaded), f"{rows_loaded:,} rows loaded")
        worker.kill()

        assert dataset_rows(engine, dataset_id) == rows
        assert dataset_version(engine, dataset_id) == version
        assert run_of(engine, run.id).status == "running"  # as the killed worker left it
        assert scratch_dir(settings, run.id).exists()

        worker = start_worker()  # its start-up fails the run and retries it
        wait_for(partial(_finished, engine, run.id), "the recovery")
        failed = run_of(engine, run.id)
        assert (failed.status, failed.error) == ("failed", INTERRUPTED)
        assert not scratch_dir(settings, run.id).exists()

    last = newest_run(engine, dataset_id)
    assert (last.attempt, last.status) == (3, "failed")  # no fourth attempt

    run_id = enqueue_sync(engine, settings, dataset_id, requested_by="cli", queue=queue)
    wait_for(partial(_finished, engine, run_id), "a sync after the crashes")
    run = run_of(engine, run_id)
    assert run.status == "succeeded", run.error
    assert run.rows_added == BIG_ROWS
    assert dataset_version(engine, dataset_id) == version + 1
    assert len(dataset_rows(engine, dataset_id)) == BIG_ROWS
    assert worker.stop() == 0
    queue.close()


def _running(engine: sa.Engine, dataset_id: str, attempt: int) -> RunRecord | None:
    run = newest_run(engine, dataset_id)
    return run if run.attempt == attempt and run.status == "running" else None


def _finished(engine: sa.Engine, run_id: int) -> bool:
    return run_of(engine, run_id).finished


def _loaded(queue: JobQueue, run_id: int, rows: int) -> bool:
    progress = queue.progress(run_id)
    return progress.get("phase") == "loading" and progress.get("rows", 0) >= rows


def test_an_import_killed_mid_load_leaves_the_old_rows(
    engine: sa.Engine,
    settings: Settings,
    csv_dataset: MakeCsvDataset,
    tmp_path: Path,
) -> None:
    dataset_id = csv_dataset(csv_rows(3))
    rows, version = dataset_rows(engine, dataset_id), dataset_version(engine, dataset_id)
    tables = set(sa.inspect(engine).get_table_names())
    big = write_csv(tmp_path / "big.csv", csv_rows(CLI_ROWS, status="closed"))
    command = civicport("import", str(big), "--mode", "replace", "--id", dataset_id)

    for seconds_into_load in (0.0, 0.5, 1.0):
        process = subprocess.Popen(
            command, env=env_for(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(partial(_writing, engine), "the import to start writing")
        time.sleep(seconds_into_load)
        assert _writing(engine), "the import committed before it could be killed"
        process.kill()
        process.wait()

        assert dataset_rows(engine, dataset_id) == rows
        assert dataset_version(engine, dataset_id) == version
        engine.dispose()  # see the tables as a new process would
        assert set(sa.inspect(engine).get_table_names()) == tables  # nothing half-made left

    small = write_csv(tmp_path / "small.csv", csv_rows(2, start=10))
    import_file(engine, small, metadata=None, dataset_id=dataset_id, mode="replace")
    assert dataset_rows(engine, dataset_id) == [("C10", "open", "10"), ("C11", "open", "11")]


def _writing(engine: sa.Engine) -> bool:
    """Whether another process holds an open write transaction on the database."""
    if engine.dialect.name == "sqlite":
        probe = sqlite3.connect(engine.url.database or "", timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # database is locked: a writer is mid-transaction
            return True
        finally:
            probe.close()  # rolls back the probe's own empty transaction
        return False
    with engine.connect() as conn:
        writers = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
            )
        ).scalar_one()
    return bool(writers)
