"""Running what the pages put on the job queue, inside a test (imported as `queued_runs`: pytest
puts this folder on sys.path). The tests' app has no worker of its own, so a test that queues a
sync or an upload runs it here: each message is taken from the real queue file and executed by
the real task (jobs.queue.JobQueue.run), on the test's database.

`settings` (import it to use it) is the shared fixture's, with a share folder that file sources
may read from (the source_dirs setting): `share(tmp_path)`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from httpx import Response

from civicport.config import Settings
from civicport.jobs.queue import JobQueue
from civicport.jobs.runs import RunRecord, get_run


def share(tmp_path: Path) -> Path:
    """The folder file sources may read from in these tests."""
    return tmp_path / "share"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The tests' settings (tests/conftest.py), with share(tmp_path) readable by file sources."""
    share(tmp_path).mkdir(exist_ok=True)
    # Validated, so the folders take the setting's declared type.
    return Settings.model_validate(settings.model_dump() | {"source_dirs": [share(tmp_path)]})


def run_queued(settings: Settings, engine: sa.Engine) -> list[RunRecord]:
    """Run every message waiting on the queue, as a worker would; the runs as they ended."""
    queue = JobQueue(settings, engine=engine)
    ended = []
    try:
        while (task := queue.huey.dequeue()) is not None:
            run = queue.huey.execute(task)
            if run is not None:
                ended.append(run)
    finally:
        queue.close()
    return ended


def queued_run_id(response: Response) -> int:
    """The run a form queued, from its redirect to the run's page."""
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/manage/runs/(\d+)", response.headers["location"])
    assert match is not None, response.headers["location"]
    return int(match.group(1))


def finished_run(settings: Settings, engine: sa.Engine, run_id: int) -> RunRecord:
    """Run the queue, then the run as it ended."""
    run_queued(settings, engine)
    with engine.connect() as conn:
        run = get_run(conn, run_id)
    assert run.finished, run
    return run
