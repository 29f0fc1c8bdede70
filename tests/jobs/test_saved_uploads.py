"""Queued saves from the review page (jobs.uploads.ImportJob with a requester): the job's JSON,
the checks before it is queued, and a run whose requester is gone. What the saves do in the
portal is tested through the pages (tests/web/test_manage_runs.py, tests/web/test_manage.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from jobdata import csv_rows, write_csv

from civicport.auth.accounts import create_user
from civicport.catalog.publishing import ColumnName
from civicport.catalog.records import DatasetMetadata
from civicport.config import Settings
from civicport.errors import InvalidUpload
from civicport.jobs.queue import JobQueue, enqueue_import
from civicport.jobs.runs import get_run
from civicport.jobs.uploads import ImportJob, uploads_dir
from civicport.privacy.decisions import Choice


def saved_upload(settings: Settings) -> Path:
    folder = uploads_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    return write_csv(folder / "token.queued.csv", csv_rows(3))


def test_a_save_job_keeps_everything_through_json_and_old_jobs_still_load() -> None:
    job = ImportJob(
        path=Path("/x/upload.csv"),
        mode="create",
        metadata=DatasetMetadata(title="Requests", tags=("a",)),
        row_identifier="case",
        type_overrides={"ward": "text"},
        privacy_decisions={"email": Choice("hash")},
        columns={"case_id": ColumnName("case", "Case", "The case's number")},
        requester_id=7,
        choice="public",
        file_name="requests.csv",
    )
    assert ImportJob.from_json(job.to_json()) == job
    old = {"path": "/x/upload.csv", "mode": "create", "metadata": {"title": "Old"}}
    loaded = ImportJob.from_json(old)
    assert (loaded.columns, loaded.requester_id, loaded.choice, loaded.file_name) == (
        {},
        None,
        "",
        "",
    )


@pytest.mark.parametrize(
    ("mode", "dataset_id", "choice"),
    [("create", None, "replace"), ("create", None, "secret"), ("replace", "abcd-1234", "public"),
     ("upsert", "abcd-1234", "replace")],
)  # fmt: skip
def test_a_save_job_with_a_choice_it_cannot_make_is_refused_before_it_is_queued(
    engine: sa.Engine,
    job_settings: Settings,
    queue: JobQueue,
    mode: str,
    dataset_id: str | None,
    choice: str,
) -> None:
    job = ImportJob(
        path=saved_upload(job_settings),
        mode=mode,
        dataset_id=dataset_id,
        metadata=DatasetMetadata(title="X"),
        requester_id=1,
        choice=choice,
    )
    with pytest.raises(InvalidUpload, match="creates or replaces a dataset"):
        enqueue_import(engine, job_settings, job=job, requested_by="ana", queue=queue)


def test_a_save_whose_requester_is_gone_fails_and_makes_nothing(
    engine: sa.Engine, job_settings: Settings, queue: JobQueue
) -> None:
    path = saved_upload(job_settings)
    with engine.begin() as conn:
        ana = create_user(conn, email="ana@city.example", role="publisher", department="Health")
    job = ImportJob(
        path=path,
        mode="create",
        metadata=DatasetMetadata(title="Requests"),
        requester_id=ana.user_id + 1000,
        choice="private",
    )
    run_id = enqueue_import(engine, job_settings, job=job, requested_by=ana.email, queue=queue)
    with engine.connect() as conn:
        run = get_run(conn, run_id)
    assert run.status == "failed"
    assert run.error == "The account that saved this upload no longer exists: nothing was saved"
    assert run.dataset_id is None
    assert not path.exists()


def test_a_save_job_creates_the_dataset_as_its_requester_with_the_chosen_names(
    engine: sa.Engine, job_settings: Settings, queue: JobQueue
) -> None:
    with engine.begin() as conn:
        ana = create_user(conn, email="ana@city.example", role="publisher", department="Health")
    job = ImportJob(
        path=saved_upload(job_settings),
        mode="create",
        metadata=DatasetMetadata(title="Requests", department="Health"),
        row_identifier="case",
        columns={"case_id": ColumnName("case", "Case number")},
        requester_id=ana.user_id,
        choice="internal",
        file_name="requests.csv",
    )
    run_id = enqueue_import(engine, job_settings, job=job, requested_by=ana.email, queue=queue)
    with engine.connect() as conn:
        run = get_run(conn, run_id)
    assert (run.status, run.outcome, run.rows_added, run.version) == (
        "succeeded",
        "internal",
        3,
        1,
    ), run.error
    assert run.job["outcome"] == "internal"
    assert ImportJob.from_json(run.job) == job  # the outcome sits beside the job's fields
