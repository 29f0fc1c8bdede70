"""Overdue datasets alert their people once per lapse: by mail and on the source's webhook."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from jobdata import Loopback, Mailbox, MakeCsvDataset, csv_rows, write_csv

from civicport.auth.accounts import create_user
from civicport.catalog.sources import set_source
from civicport.config import Settings
from civicport.db.schema import datasets
from civicport.ingest.sources import SourceSpec
from civicport.jobs.overdue import alert_overdue_datasets
from civicport.jobs.queue import JobQueue, enqueue_sync


def last_loaded(engine: sa.Engine, dataset_id: str, when: dt.datetime) -> None:
    # Time travel: the load happened `when` (loads stamp the real clock, and a test cannot wait
    # days for a dataset to lapse).
    with engine.begin() as conn:
        conn.execute(
            datasets.update().where(datasets.c.id == dataset_id).values(data_updated_at=when)
        )


def test_an_overdue_dataset_alerts_once_per_lapse(
    engine: sa.Engine,
    job_settings: Settings,
    mailbox: tuple[Mailbox, int],
    csv_dataset: MakeCsvDataset,
    web: Loopback,
    tmp_path: Path,
) -> None:
    settings = job_settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": mailbox[1], "smtp_starttls": False}
    )
    with engine.begin() as conn:
        owner = create_user(conn, email="owner@city.example", role="publisher")
    daily = csv_dataset(csv_rows(2), owner_id=owner.user_id, update_frequency="Daily")
    weekly = csv_dataset(
        csv_rows(2), title="Weekly", update_frequency="Weekly", contact_email="x@y.z"
    )
    as_needed = csv_dataset(csv_rows(2), title="As needed", update_frequency="As needed")
    share = write_csv(tmp_path / "share.csv", csv_rows(3))
    with engine.begin() as conn:
        set_source(
            conn,
            daily,
            SourceSpec("file", str(share)),
            webhook_url=f"{web.url}/hook",
            now=dt.datetime.now(dt.UTC),
        )
    now = dt.datetime.now(dt.UTC)
    last_loaded(engine, daily, now - dt.timedelta(days=3))
    last_loaded(engine, as_needed, now - dt.timedelta(days=300))

    assert alert_overdue_datasets(engine, settings, now) == [daily]
    assert alert_overdue_datasets(engine, settings, now + dt.timedelta(hours=1)) == []

    assert [m["To"] for m in mailbox[0].messages] == ["owner@city.example"]
    assert "overdue" in mailbox[0].messages[0]["Subject"]
    assert "Daily" in mailbox[0].messages[0].get_content()
    assert [(path, body["event"], body["dataset_id"]) for path, body in web.posted] == [
        ("/hook", "dataset.overdue", daily)
    ]

    # A load ends the lapse; the next lapse alerts again.
    queue = JobQueue(settings, engine=engine, immediate=True)
    enqueue_sync(engine, settings, daily, requested_by="cli", queue=queue)
    assert alert_overdue_datasets(engine, settings, dt.datetime.now(dt.UTC)) == []
    next_lapse = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    assert alert_overdue_datasets(engine, settings, next_lapse) == [daily]
    assert len(mailbox[0].messages) == 2
    assert weekly not in [body["dataset_id"] for _, body in web.posted]
