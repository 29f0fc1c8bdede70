"""Progress of a running run, written by the worker and read by any other process through the
queue's own SQLite file: throttled, never losing the last count, gone once the run ends."""

from __future__ import annotations

import time
from pathlib import Path

from civicport.config import Settings
from civicport.jobs.progress import MIN_INTERVAL_SECONDS, ProgressReporter
from civicport.jobs.queue import make_huey, run_progress


def test_a_burst_of_counts_ends_with_the_last_one_stored(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    writer = ProgressReporter(make_huey(settings), 7)
    heard: list[int] = []
    listening = ProgressReporter(make_huey(settings), 8, listener=lambda s: heard.append(s["rows"]))

    writer.phase("loading")
    for rows in range(1_000, 50_001, 1_000):  # far faster than the store is written
        writer.rows(rows)
        listening.rows(rows)
    shown_at_once = run_progress(settings, 7)["rows"]
    time.sleep(MIN_INTERVAL_SECONDS * 2)

    assert shown_at_once < 50_000  # throttled...
    progress = run_progress(settings, 7)  # ...read as another process would
    assert (progress["phase"], progress["rows"]) == ("loading", 50_000)  # ...the last one kept
    assert "updated_at" in progress
    assert heard == list(range(1_000, 50_001, 1_000))  # a listener hears every one


def test_nothing_is_stored_once_the_run_has_cleared_it(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    reporter = ProgressReporter(make_huey(settings), 9)
    reporter.phase("loading")
    reporter.rows(10)  # pending: within the interval of the phase's write

    reporter.clear()
    time.sleep(MIN_INTERVAL_SECONDS * 2)

    assert run_progress(settings, 9) == {}
