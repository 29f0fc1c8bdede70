"""The worker inside another process (`civicport serve`): it takes jobs from the SQLite queue
file or from Redis, and stops when told."""

from __future__ import annotations

import datetime as dt
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from jobdata import MakeCsvDataset, csv_rows, dataset_rows, write_csv

from civicport.catalog.sources import set_source
from civicport.config import Settings
from civicport.ingest.sources import SourceSpec
from civicport.jobs.consumer import start_embedded
from civicport.jobs.queue import JobQueue, enqueue_sync, make_huey, queue_for
from civicport.jobs.runs import RunRecord, get_run

REDIS_URL = "redis://127.0.0.1:6379/15"


def wait_until_finished(engine: sa.Engine, run_id: int, timeout: float = 30) -> RunRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            run = get_run(conn, run_id)
        if run.finished:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end")


def sync_once(
    engine: sa.Engine, settings: Settings, csv_dataset: MakeCsvDataset, tmp_path: Path
) -> tuple[str, RunRecord]:
    dataset_id = csv_dataset(csv_rows(2))
    share = write_csv(tmp_path / "share.csv", csv_rows(4))
    with engine.begin() as conn:
        set_source(conn, dataset_id, SourceSpec("file", str(share)), now=dt.datetime.now(dt.UTC))
    worker = {"embedded_worker": True, "source_dirs": [tmp_path]}
    stop = start_embedded(settings.model_copy(update=worker))
    try:
        run_id = enqueue_sync(engine, settings, dataset_id, requested_by="ana@city.example")
        run = wait_until_finished(engine, run_id)
    finally:
        started = time.monotonic()
        stop()
        assert time.monotonic() - started < 10
    return dataset_id, run


def test_the_embedded_worker_runs_jobs_from_the_queue_file(
    engine: sa.Engine, settings: Settings, csv_dataset: MakeCsvDataset, tmp_path: Path
) -> None:
    dataset_id, run = sync_once(engine, settings, csv_dataset, tmp_path)

    assert run.status == "succeeded", run.error
    assert len(dataset_rows(engine, dataset_id)) == 4
    assert (settings.home / "jobs.db").is_file()


def test_the_embedded_worker_can_be_turned_off(settings: Settings) -> None:
    stop = start_embedded(settings.model_copy(update={"embedded_worker": False}))
    stop()
    assert not (settings.home / "jobs.db").exists()  # not even the queue file was made


@pytest.fixture
def redis_settings(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    configured = settings.model_copy(update={"redis_url": REDIS_URL})
    # One queue in Redis for every test process: they take turns (pytest -n, both backends).
    with (tmp_path_factory.getbasetemp().parent / "redis-queue.lock").open("w") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        make_huey(configured).flush()
        yield configured
        make_huey(configured).flush()


def test_with_redis_the_queue_and_the_progress_live_there(
    engine: sa.Engine, redis_settings: Settings, csv_dataset: MakeCsvDataset, tmp_path: Path
) -> None:
    dataset_id, run = sync_once(engine, redis_settings, csv_dataset, tmp_path)

    assert run.status == "succeeded", run.error
    assert len(dataset_rows(engine, dataset_id)) == 4
    assert not (redis_settings.home / "jobs.db").exists()
    queue = queue_for(redis_settings)
    queue.huey.put("civicport.progress.999", {"phase": "loading", "rows": 7})
    assert JobQueue(redis_settings).progress(999)["rows"] == 7  # as another process reads it
