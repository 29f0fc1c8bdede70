"""Syncs and queued uploads run through the huey task (immediate mode) on real storage: real
files, a real web server on loopback, real SMTP. A failing source never touches the data."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from jobdata import (
    Loopback,
    Mailbox,
    MakeCsvDataset,
    csv_rows,
    dataset_rows,
    dataset_version,
    write_csv,
)

from civicport.auth.accounts import create_user
from civicport.auth.audit import list_events
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.sources import get_source, set_source
from civicport.catalog.versions import list_versions
from civicport.config import Settings
from civicport.errors import Conflict, InvalidUpload, NotFound
from civicport.ingest.sources import SourceSpec
from civicport.jobs.execute import failure_message, scratch_dir
from civicport.jobs.failures import retry_delay
from civicport.jobs.queue import JobQueue, enqueue_import, enqueue_sync
from civicport.jobs.runs import RunRecord, create_run, get_run, list_runs
from civicport.jobs.uploads import ImportJob, uploads_dir

NOW = dt.datetime(2026, 3, 7, 12, 0, tzinfo=dt.UTC)
CSV = "text/csv"


def give_source(engine: sa.Engine, dataset_id: str, spec: SourceSpec, **options: object) -> None:
    with engine.begin() as conn:
        set_source(conn, dataset_id, spec, now=NOW, **options)  # type: ignore[arg-type]


def csv_bytes(rows: list[tuple[object, ...]]) -> bytes:
    lines = ["case_id,status,amount"] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def sync(engine: sa.Engine, settings: Settings, queue: JobQueue, dataset_id: str) -> RunRecord:
    """Queue a manual sync (run at once by the immediate queue) and return the first run."""
    run_id = enqueue_sync(
        engine, settings, dataset_id, requested_by="ana@city.example", queue=queue
    )
    with engine.connect() as conn:
        return get_run(conn, run_id)


def test_a_file_source_replaces_the_rows_and_records_the_run(
    engine: sa.Engine,
    job_settings: Settings,
    queue: JobQueue,
    csv_dataset: MakeCsvDataset,
    tmp_path: Path,
) -> None:
    dataset_id = csv_dataset(csv_rows(3))
    before = dataset_version(engine, dataset_id)
    share = write_csv(tmp_path / "share.csv", csv_rows(5, start=1))
    give_source(engine, dataset_id, SourceSpec("file", str(share)))

    run = sync(engine, job_settings, queue, dataset_id)

    assert run.status == "succeeded", run.error
    assert (run.rows_added, run.rows_changed, run.rows_removed) == (3, 0, 1)  # C0 gone, C4-5 new
    assert run.version == before + 1 == dataset_version(engine, dataset_id)
    assert (run.trigger, run.attempt, run.requested_by) == ("manual", 1, "ana@city.example")
    assert run.started_at is not None
    assert run.ended_at >= run.started_at
    assert dataset_rows(engine, dataset_id) == sorted(
        (f"C{i}", "open", str(i)) for i in range(1, 6)
    )
    assert not scratch_dir(job_settings, run.id).exists()
    assert queue.progress(run.id) == {}  # cleared once it ended
    with engine.connect() as conn:
        event = list_events(conn, action="dataset.import")[0]
    assert (event.actor, event.dataset_id, event.detail["run_id"]) == ("sync", dataset_id, run.id)


def test_a_url_source_is_fetched_with_its_headers_and_upserted(
    engine: sa.Engine,
    job_settings: Settings,
    queue: JobQueue,
    csv_dataset: MakeCsvDataset,
    web: Loopback,
) -> None:
    dataset_id = csv_dataset(csv_rows(3), row_identifier="case_id")
    web.routes["/requests.csv"] = (200, CSV, csv_bytes([("C1", "closed", 1), ("C9", "open", 9)]))
    spec = SourceSpec("url", f"{web.url}/requests.csv", headers={"X-Api-Key": "k-123"})
    give_source(engine, dataset_id, spec, mode="upsert")

    run = sync(engine, job_settings, queue, dataset_id)

    assert run.status == "succeeded", run.error
    assert (run.rows_added, run.rows_changed, run.rows_removed) == (1, 1, 0)
    assert dataset_rows(engine, dataset_id) == [
        ("C0", "open", "0"),
        ("C1", "closed", "1"),
        ("C2", "open", "2"),
        ("C9", "open", "9"),
    ]
    assert web.fetched[0][1].get("X-Api-Key") == "k-123"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((500, "text/plain", b"database down"), "500"),
        ((200, "text/html", b"<!doctype html><html><body>Sign in</body></html>"), "a web page"),
        ((404, "text/plain", b"gone"), "404"),
    ],
)
def test_a_failing_url_fails_the_run_and_leaves_the_data_untouched(
    engine: sa.Engine,
    job_settings: Settings,
    queue: JobQueue,
    csv_dataset: MakeCsvDataset,
    web: Loopback,
    answer: tuple[int, str, bytes],
    message: str,
) -> None:
    dataset_id = csv_dataset(csv_rows(3))
    rows, version = dataset_rows(engine, dataset_id), dataset_version(engine, dataset_id)
    web.routes["/requests.csv"] = answer
    give_source(engine, dataset_id, SourceSpec("url", f"{web.url}/requests.csv"), max_attempts=1)

    run = sync(engine, job_settings, queue, dataset_id)

    assert run.status == "failed"
    assert message in run.error
    assert not run.error.startswith("internal error")
    assert (dataset_rows(engine, dataset_id), dataset_version(engine, dataset_id)) == (
        rows,
        version,
    )
    assert not scratch_dir(job_settings, run.id).exists()


def test_a_source_that_does_not_answer_in_time_fails_the_run(
    engine: sa.Engine,
    job_settings: Settings,
    csv_dataset: MakeCsvDataset,
    web: Loopback,
) -> None:
    impatient = job_settings.model_copy(update={"source_timeout_seconds": 0.3})
    queue = JobQueue(impatient, engine=engine, immediate=True)
    dataset_id = csv_dataset(csv_rows(3))
    rows = dataset_rows(engine, dataset_id)
    web.routes["/slow/requests.csv"] = (200, CSV, csv_bytes([("C1", "open", 1)]))
    spec = SourceSpec("url", f"{web.url}/slow/requests.csv")
    give_source(engine, dataset_id, spec, max_attempts=1)

    run = sync(engine, impatient, queue, dataset_id)

    assert run.status == "failed"
    assert "did not answer within 0.3 seconds" in (run.error or "")
    assert run.duration is not None
    assert run.duration.total_seconds() < 3
    assert dataset_rows(engine, dataset_id) == rows


def test_a_source_larger_than_the_upload_limit_fails_the_run(
    engine: sa.Engine,
    job_settings: Settings,
    csv_dataset: MakeCsvDataset,
    tmp_path: Path,
) -> None:
    strict = job_settings.model_copy(update={"max_upload_bytes": 1_000})
    queue = JobQueue(strict, engine=engine, immediate=True)
    dataset_id = csv_dataset(csv_rows(3))
    huge = write_csv(tmp_path / "huge.csv", csv_rows(500))
    give_source(engine, dataset_id, SourceSpec("file", str(huge)), max_attempts=1)

    run = sync(engine, strict, queue, dataset_id)

    assert run.status == "failed"
    assert "huge.csv" in (run.error or "")
    assert "larger than the" in (run.error or "")
    assert len(dataset_rows(engine, dataset_id)) == 3


def test_the_worker_reads_files_only_in_the_allowed_folders(
    engine: sa.Engine,
    job_settings: Settings,
    csv_dataset: MakeCsvDataset,
    tmp_path: Path,
) -> None:
    elsewhere = job_settings.model_copy(update={"source_dirs": [tmp_path / "share"]})
    queue = JobQueue(elsewhere, engine=engine, immediate=True)
    dataset_id = csv_dataset(csv_rows(3))
    give_source(engine, dataset_id, SourceSpec("file", str(write_csv(tmp_path / "x.csv", []))))

    run = sync(engine, elsewhere, queue, dataset_id)

    assert run.status == "failed"
    assert "outside the folders sources may read from" in (run.error or "")


def test_a_load_the_importer_refuses_fails_with_its_message(
    engine: sa.Engine,
    job_settings: Settings,
    queue: JobQueue,
    csv_dataset: MakeCsvDataset,
    web: Loopback,
) -> None:
    dataset_id = csv_dataset(csv_rows(3), row_identifier="case_id")
    duplicated = csv_bytes([("C1", "open", 1), ("C1", "closed", 2)])
    web.routes["/requests.csv"] = (200, CSV, duplicated)
    give_source(
        engine,
        dataset_id,
        SourceSpec("url", f"{web.url}/requests.csv"),
        mode="upsert",
        max_attempts=1,
    )
    rows = dataset_rows(engine, dataset_id)

    run = sync(engine, job_settings, queue, dataset_id)

    assert run.status == "failed"
    assert "C1" in run.error
    assert dataset_rows(engine, dataset_id) == rows


@pytest.fixture
def mailing(job_settings: Settings, mailbox: tuple[Mailbox, int]) -> Settings:
    return job_settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox[1],
            "smtp_starttls": False,
            "site_name": "Springfield Data",
        }
    )


def test_a_sync_is_retried_then_its_owner_and_webhook_are_alerted(
    engine: sa.Engine,
    mailing: Settings,
    mailbox: tuple[Mailbox, int],
    csv_dataset: MakeCsvDataset,
    web: Loopback,
) -> None:
    with engine.begin() as conn:
        owner = create_user(conn, email="owner@city.example", role="publisher", department="Parks")
    dataset_id = csv_dataset(csv_rows(3), owner_id=owner.user_id, contact_email="data@city.example")
    web.routes["/requests.csv"] = (503, "text/plain", b"maintenance")
    give_source(
        engine,
        dataset_id,
        SourceSpec("url", f"{web.url}/requests.csv"),
        max_attempts=3,
        webhook_url=f"{web.url}/hook/T0KEN",
    )
    queue = JobQueue(mailing, engine=engine, immediate=True)

    first = sync(engine, mailing, queue, dataset_id)

    with engine.connect() as conn:
        runs = list_runs(conn, dataset_id)[::-1]
    assert [(r.trigger, r.attempt, r.status) for r in runs] == [
        ("manual", 1, "failed"),
        ("retry", 2, "failed"),
        ("retry", 3, "failed"),
    ]
    assert all("503" in r.error for r in runs)
    assert runs[0].id == first.id
    assert sorted(m["To"] for m in mailbox[0].messages) == [
        "data@city.example",
        "owner@city.example",
    ]
    message = mailbox[0].messages[0]
    assert "failed" in message["Subject"]
    assert "Service requests" in message["Subject"]
    assert "503" in message.get_content()
    assert dataset_id in message.get_content()
    assert web.posted == [
        (
            "/hook/T0KEN",
            {
                "event": "sync.failed",
                "dataset_id": dataset_id,
                "title": "Service requests",
                "run_id": runs[-1].id,
                "attempt": 3,
                "error": runs[-1].error,
                "ended_at": runs[-1].ended_at.isoformat(),
            },
        )
    ]


def test_a_failing_webhook_and_mail_server_are_logged_and_the_worker_goes_on(
    engine: sa.Engine,
    job_settings: Settings,
    csv_dataset: MakeCsvDataset,
    web: Loopback,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable_mail = job_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9})
    queue = JobQueue(unreachable_mail, engine=engine, immediate=True)
    failing = csv_dataset(csv_rows(2), contact_email="data@city.example")
    give_source(
        engine,
        failing,
        SourceSpec("url", f"{web.url}/missing.csv"),
        max_attempts=1,
        webhook_url=f"{web.url}/broken/hook",
    )
    working = csv_dataset(csv_rows(2), title="Permits")
    give_source(
        engine, working, SourceSpec("file", str(write_csv(tmp_path / "p.csv", csv_rows(4))))
    )

    with caplog.at_level(logging.ERROR):
        assert sync(engine, unreachable_mail, queue, failing).status == "failed"
    assert sync(engine, unreachable_mail, queue, working).status == "succeeded"

    assert web.posted[0][0] == "/broken/hook"
    logged = caplog.text
    assert "Could not mail data@city.example" in logged
    assert "The webhook at 127.0.0.1 answered 500" in logged
    assert "/broken/hook" not in logged  # a webhook's path may be its secret


def test_retries_wait_longer_each_time() -> None:
    settings = Settings()
    assert [retry_delay(settings, n) for n in (1, 2, 3)] == [60, 300, 1500]


def test_an_unexpected_error_is_reported_as_internal_with_its_type() -> None:
    assert failure_message(ZeroDivisionError("division by zero")) == (
        "internal error: ZeroDivisionError: division by zero"
    )
    assert failure_message(NotFound("Dataset 'x' not found")) == "Dataset 'x' not found"


def test_run_now_refuses_a_second_sync_and_datasets_without_source(
    engine: sa.Engine,
    job_settings: Settings,
    queue: JobQueue,
    csv_dataset: MakeCsvDataset,
    tmp_path: Path,
) -> None:
    dataset_id = csv_dataset(csv_rows(2))
    with pytest.raises(NotFound, match="has no source"):
        enqueue_sync(engine, job_settings, dataset_id, requested_by="cli", queue=queue)
    with pytest.raises(NotFound, match="'zzzz-9999' not found"):
        enqueue_sync(engine, job_settings, "zzzz-9999", requested_by="cli", queue=queue)
    give_source(engine, dataset_id, SourceSpec("file", str(write_csv(tmp_path / "a.csv", []))))
    with engine.begin() as conn:
        waiting = create_run(
            conn, dataset_id=dataset_id, trigger="schedule", requested_by="schedule", now=NOW
        )

    with pytest.raises(Conflict, match=f"already queued \\(run {waiting}\\)"):
        enqueue_sync(engine, job_settings, dataset_id, requested_by="cli", queue=queue)


def test_the_tick_queues_due_syncs_once(
    engine: sa.Engine,
    job_settings: Settings,
    queue: JobQueue,
    csv_dataset: MakeCsvDataset,
    tmp_path: Path,
) -> None:
    dataset_id = csv_dataset(csv_rows(2))
    share = write_csv(tmp_path / "share.csv", csv_rows(6))
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    with engine.begin() as conn:
        set_source(
            conn, dataset_id, SourceSpec("file", str(share)), schedule="hourly", now=long_ago
        )

    queue.tick()
    queue.tick()  # nothing is due any more

    with engine.connect() as conn:
        runs = list_runs(conn, dataset_id)
        source = get_source(conn, dataset_id)
    assert [(r.trigger, r.status, r.requested_by) for r in runs] == [
        ("schedule", "succeeded", "schedule")
    ]
    assert len(dataset_rows(engine, dataset_id)) == 6
    assert source.next_run_at > dt.datetime.now(dt.UTC)


# --- queued uploads ------------------------------------------------------------------------------


def saved_upload(settings: Settings, rows: list[tuple[object, ...]]) -> Path:
    folder = uploads_dir(settings) / "ab12"
    folder.mkdir(parents=True, exist_ok=True)
    return write_csv(folder / "upload.csv", rows)


def test_a_queued_upload_creates_its_dataset_and_removes_the_file(
    engine: sa.Engine,
    job_settings: Settings,
    queue: JobQueue,
) -> None:
    path = saved_upload(job_settings, csv_rows(4))
    job = ImportJob(path=path, mode="create", metadata=DatasetMetadata(title="Uploaded"))

    run_id = enqueue_import(
        engine, job_settings, job=job, requested_by="ana@city.example", queue=queue
    )

    with engine.connect() as conn:
        run = get_run(conn, run_id)
    assert run.status == "succeeded", run.error
    assert (run.trigger, run.rows_added) == ("upload", 4)
    assert run.dataset_id is not None
    assert len(dataset_rows(engine, run.dataset_id)) == 4
    assert not path.exists()
    assert ImportJob.from_json(run.job) == job


def test_a_queued_upload_that_fails_is_not_retried_and_its_file_is_removed(
    engine: sa.Engine,
    job_settings: Settings,
    queue: JobQueue,
    csv_dataset: MakeCsvDataset,
) -> None:
    dataset_id = csv_dataset(csv_rows(3), row_identifier="case_id")
    path = saved_upload(job_settings, [("C1", "open", 1), ("C1", "open", 2)])
    job = ImportJob(path=path, mode="upsert", dataset_id=dataset_id)

    run_id = enqueue_import(engine, job_settings, job=job, requested_by="ana", queue=queue)

    with engine.connect() as conn:
        runs = list_runs(conn, dataset_id)
    assert [(r.id, r.status) for r in runs] == [(run_id, "failed")]
    assert "C1" in runs[0].error
    assert not path.exists()
    assert len(dataset_rows(engine, dataset_id)) == 3


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (
            ImportJob(path=Path("/etc/passwd"), mode="create", metadata=DatasetMetadata("X")),
            "reads only files saved under",
        ),
        (ImportJob(path=Path("upload.csv"), mode="replace"), "needs the dataset's id"),
        (ImportJob(path=Path("upload.csv"), mode="create"), "needs its title"),
        (ImportJob(path=Path("upload.csv"), mode="merge"), "Unknown mode 'merge'"),
    ],
)
def test_an_upload_job_that_cannot_run_is_refused_before_it_is_queued(
    engine: sa.Engine,
    job_settings: Settings,
    queue: JobQueue,
    job: ImportJob,
    message: str,
) -> None:
    with pytest.raises(InvalidUpload, match=message):
        enqueue_import(engine, job_settings, job=job, requested_by="ana", queue=queue)


def test_the_load_checks_warnings_are_kept_with_the_run(
    engine: sa.Engine,
    job_settings: Settings,
    queue: JobQueue,
    csv_dataset: MakeCsvDataset,
    tmp_path: Path,
) -> None:
    dataset_id = csv_dataset(csv_rows(3))
    share = write_csv(tmp_path / "share.csv", [(f"C{i}", "", i) for i in range(3)])
    give_source(engine, dataset_id, SourceSpec("file", str(share)))

    run = sync(engine, job_settings, queue, dataset_id)

    assert run.status == "succeeded", run.error
    assert len(run.warnings) == 1
    assert "status" in run.warnings[0]


def test_the_nightly_task_prunes_versions_beyond_the_setting(
    engine: sa.Engine,
    job_settings: Settings,
    csv_dataset: MakeCsvDataset,
    tmp_path: Path,
) -> None:
    keeping_two = job_settings.model_copy(update={"keep_versions": 2})
    queue = JobQueue(keeping_two, engine=engine, immediate=True)
    dataset_id = csv_dataset(csv_rows(3))
    for size in (4, 5, 6):
        share = write_csv(tmp_path / f"share-{size}.csv", csv_rows(size))
        give_source(engine, dataset_id, SourceSpec("file", str(share)))
        assert sync(engine, keeping_two, queue, dataset_id).status == "succeeded"
    with engine.connect() as conn:
        assert len(list_versions(conn, dataset_id)) == 4

    queue.prune()

    with engine.connect() as conn:
        kept = [v.version for v in list_versions(conn, dataset_id)]
    assert kept == [dataset_version(engine, dataset_id), dataset_version(engine, dataset_id) - 1]
    assert len(dataset_rows(engine, dataset_id)) == 6
