"""The run history: a run is claimed by one worker only, ends once, and reads back as it ended."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from multiprocessing.synchronize import Barrier

import pytest
import sqlalchemy as sa

from civicport.config import Settings
from civicport.db.engine import make_engine
from civicport.errors import NotFound
from civicport.jobs.runs import (
    active_run,
    claim_run,
    create_run,
    fail_run,
    get_run,
    latest_runs,
    list_runs,
    succeed_run,
)

NOW = dt.datetime(2026, 3, 7, 12, 0, tzinfo=dt.UTC)
RUNS = 200


def queued(engine: sa.Engine, count: int, dataset_id: str = "abcd-1234") -> list[int]:
    with engine.begin() as conn:
        return [
            create_run(conn, dataset_id=dataset_id, trigger="manual", requested_by="cli", now=NOW)
            for _ in range(count)
        ]


def claim_all(
    settings: Settings,
    run_ids: list[int],
    worker: str,
    start: Barrier,
    results: multiprocessing.Queue[tuple[str, list[int]]],
) -> None:
    """In a process of its own: try to claim every run, one transaction each."""
    engine = make_engine(settings)
    won = []
    start.wait()
    for run_id in run_ids:
        with engine.begin() as conn:
            if claim_run(conn, run_id, worker=worker, now=NOW):
                won.append(run_id)
        # A breath between claims, so that on a busy machine the other process, scheduled a
        # little later, still races this one (they go in opposite orders and meet).
        time.sleep(0.005)
    engine.dispose()
    results.put((worker, won))


def test_two_worker_processes_never_claim_the_same_run(
    engine: sa.Engine, settings: Settings
) -> None:
    run_ids = queued(engine, RUNS)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = context.Barrier(2)
    workers = [
        context.Process(target=claim_all, args=(settings, order, f"host:{n}", start, results))
        for n, order in ((1, run_ids), (2, run_ids[::-1]))
    ]
    for process in workers:
        process.start()
    won = dict(results.get(timeout=60) for _ in workers)
    for process in workers:
        process.join(timeout=60)

    assert sorted(won["host:1"] + won["host:2"]) == run_ids  # every run claimed...
    assert not set(won["host:1"]) & set(won["host:2"])  # ...by one of them only
    with engine.connect() as conn:
        runs = [get_run(conn, run_id) for run_id in run_ids]
    assert {run.status for run in runs} == {"running"}
    assert all(run.id in won[run.worker] for run in runs)
    assert min(len(won["host:1"]), len(won["host:2"])) > 0  # they ran at the same time


def test_a_run_ends_once_and_reads_back_as_it_ended(engine: sa.Engine) -> None:
    first, second = queued(engine, 2)
    later = NOW + dt.timedelta(seconds=90)
    with engine.begin() as conn:
        assert claim_run(conn, first, worker="host:1", now=NOW)
        assert not claim_run(conn, first, worker="host:2", now=NOW)
        succeed_run(
            conn,
            first,
            dataset_id="abcd-1234",
            rows_added=5,
            rows_changed=2,
            rows_removed=1,
            version=3,
            warnings=["Row count dropped by 40%"],
            now=later,
        )
        fail_run(conn, first, error="too late: it ended", now=later)  # no effect
        fail_run(conn, second, error="Could not fetch URL …: 500", now=later)

    with engine.connect() as conn:
        done, failed = get_run(conn, first), get_run(conn, second)
        assert active_run(conn, "abcd-1234") is None
    assert (done.status, done.rows_added, done.rows_changed, done.rows_removed) == (
        "succeeded",
        5,
        2,
        1,
    )
    assert (done.version, done.warnings, done.error) == (3, ("Row count dropped by 40%",), None)
    assert done.duration == dt.timedelta(seconds=90)
    assert done.finished
    assert (failed.status, failed.error, failed.started_at) == (
        "failed",
        "Could not fetch URL …: 500",
        None,
    )


def test_history_lists_newest_first_and_latest_picks_each_datasets_last(
    engine: sa.Engine,
) -> None:
    a_runs = queued(engine, 3, "aaaa-1111")
    b_runs = queued(engine, 2, "bbbb-2222")

    with engine.connect() as conn:
        assert [r.id for r in list_runs(conn, "aaaa-1111")] == a_runs[::-1]
        assert [r.id for r in list_runs(conn, "aaaa-1111", limit=2)] == a_runs[:0:-1]
        latest = latest_runs(conn, ["aaaa-1111", "bbbb-2222", "cccc-3333"])
        assert active_run(conn, "bbbb-2222").id == b_runs[0]
        with pytest.raises(NotFound, match="no run 999"):
            get_run(conn, 999)
    assert {k: v.id for k, v in latest.items()} == {
        "aaaa-1111": a_runs[-1],
        "bbbb-2222": b_runs[-1],
    }
