"""A background run's page and JSON (/manage/runs/{id}): its progress while it is queued and
running, its result or error once it ended, who may see it; and uploads saved from the review
page, which run as queued jobs (as the publisher who saved them: drafts, publication, renamed
columns). Through the ASGI app on both databases; queued runs are run by
the real task (queued_runs), progress goes through the real queue store."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
from queued_runs import (
    finished_run,
    queued_run_id,
    settings,  # noqa: F401 -- the fixture: file sources may read the share
    share,
)
from test_manage import Staff, make_staff, rows_of, staged_token, upload

from civicport.catalog import drafts
from civicport.catalog.sources import set_source
from civicport.db.schema import users
from civicport.ingest.sources import SourceSpec
from civicport.jobs.progress import ProgressReporter
from civicport.jobs.queue import queue_for
from civicport.jobs.runs import claim_run, fail_run
from civicport.web.routes.manage_staging import uploads_dir

staff = pytest.fixture(make_staff, name="staff")
NOW = dt.datetime.now(dt.UTC)
# Run page fields the script reads, and the one state it swaps in.
STATE_KEYS = {
    "id", "status", "finished", "trigger", "attempt", "phase", "rows", "bytes", "queued_at",
    "started_at", "ended_at", "duration_seconds", "result", "error", "dataset_id", "dataset_url",
}  # fmt: skip
PERMITS_CSV = b"Permit ID,Fee,Owner Email\n" + b"".join(
    f"P-{i},{i * 10},owner{i}@example.org\n".encode() for i in range(1, 13)
)


def sync_of(staff: Staff, tmp_path: Path, audience: str = "internal") -> tuple[str, int]:
    """A dataset of the Health department with a file source, and a sync of it queued by its
    owner from the source page."""
    dataset_id = staff.make(audience)
    source_file = share(tmp_path) / f"{dataset_id}.csv"
    source_file.write_text("permit,fee\nQ-1,5\nQ-2,6\nQ-3,7\n", encoding="utf-8")
    spec = SourceSpec("file", str(source_file))
    with staff.engine.begin() as conn:
        set_source(conn, dataset_id, spec, max_attempts=1, now=NOW)
    return dataset_id, queued_run_id(staff.post("health", f"/manage/d/{dataset_id}/sync", {}))


def state(staff: Staff, who: str, run_id: int) -> dict:
    answer = staff.as_(who).get(f"/manage/runs/{run_id}.json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == STATE_KEYS
    return body


def test_the_run_page_and_json_follow_a_sync_from_queued_to_its_end(
    staff: Staff, tmp_path: Path
) -> None:
    dataset_id, run_id = sync_of(staff, tmp_path)
    queued = state(staff, "health", run_id)
    assert queued | {"queued_at": None} == {
        "id": run_id, "status": "queued", "finished": False, "trigger": "manual", "attempt": 1,
        "phase": None, "rows": None, "bytes": None, "queued_at": None, "started_at": None,
        "ended_at": None, "duration_seconds": None, "result": None, "error": None,
        "dataset_id": dataset_id, "dataset_url": None,
    }  # fmt: skip
    page = staff.as_("health").get(f"/manage/runs/{run_id}").text
    assert "Waiting for the worker to start it." in page
    assert f'data-run-json="/manage/runs/{run_id}.json"' in page
    assert '<script src="/static/js/run-progress.js' in page
    assert f'<a href="/manage/runs/{run_id}" data-run-refresh>Refresh</a>' in page
    assert "<script>" not in page  # the CSP runs no inline script
    assert staff.as_("health").get("/static/js/run-progress.js").status_code == 200

    # A worker claims it and reports progress through the queue's store.
    with staff.engine.begin() as conn:
        assert claim_run(conn, run_id, worker="elsewhere:1", now=NOW)
    progress = ProgressReporter(queue_for(staff.settings).huey, run_id)
    progress.rows(12_345)
    progress.phase("loading")
    running = state(staff, "health", run_id)
    assert (running["status"], running["phase"], running["rows"]) == ("running", "loading", 12_345)
    fragment = staff.as_("health").get(f"/manage/runs/{run_id}", headers={"X-Fragment": "run"})
    assert "<html" not in fragment.text
    assert "Loading and checking the rows:" in fragment.text
    assert "12,345" in fragment.text
    assert "<progress" in fragment.text

    with staff.engine.begin() as conn:
        fail_run(conn, run_id, error="The share did not answer.", now=NOW)
    progress.clear()
    failed = state(staff, "health", run_id)
    assert (failed["status"], failed["finished"], failed["error"]) == (
        "failed", True, "The share did not answer."
    )  # fmt: skip
    assert (failed["phase"], failed["result"]) == (None, None)
    page = staff.as_("health").get(f"/manage/runs/{run_id}").text
    assert "The run failed:" in page
    assert "readers still see the data as it was" in page
    assert "data-run-refresh" not in page

    again = queued_run_id(staff.post("health", f"/manage/d/{dataset_id}/sync", {}))
    assert finished_run(staff.settings, staff.engine, again).status == "succeeded"
    done = state(staff, "health", again)
    assert done["result"] == {
        "rows_added": 3, "rows_changed": 0, "rows_removed": 2, "version": 2, "warnings": [],
        "outcome": None,
    }  # fmt: skip
    assert done["dataset_url"] == f"/manage/d/{dataset_id}"
    assert done["duration_seconds"] >= 0
    page = staff.as_("health").get(f"/manage/runs/{again}").text
    assert "Done." in page
    assert "3 rows added, 2 rows removed; version 2." in page
    assert f'href="/manage/d/{dataset_id}"' in page


def test_who_may_see_a_run(staff: Staff, tmp_path: Path) -> None:
    _internal, internal_run = sync_of(staff, tmp_path, "internal")
    _private, private_run = sync_of(staff, tmp_path, "private")
    expected = {
        # who: (internal dataset's run, private dataset's run)
        "health": (200, 200),
        "approver": (200, 200),  # a publisher of the dataset's department
        "admin": (200, 200),
        "police": (403, 404),  # sees the internal dataset, may not change it
        "viewer": (403, 404),
        None: (401, 401),
    }
    for who, statuses in expected.items():
        for run_id, status in zip((internal_run, private_run), statuses, strict=True):
            for url in (f"/manage/runs/{run_id}", f"/manage/runs/{run_id}.json"):
                assert staff.as_(who).get(url).status_code == status, (who, url)
    missing = staff.as_("admin").get("/manage/runs/999999.json")
    assert missing.status_code == 404
    assert "There is no run 999999" in missing.text
    assert staff.as_("admin").get("/manage/runs/999999").status_code == 404
    assert staff.as_("admin").get("/manage/runs/x.json").status_code == 400  # not a run id

    # A new dataset's upload has no dataset until it is done: its sender and admins only.
    token = staged_token(upload(staff, "health", PERMITS_CSV, "permits.csv"))
    form = {"title": "Queued permits", "privacy-owner_email-action": "hash", "save": "private"}
    upload_run = queued_run_id(staff.post("health", f"/manage/uploads/{token}", form))
    for who, status in (("health", 200), ("admin", 200), ("approver", 404), ("police", 404)):
        assert staff.as_(who).get(f"/manage/runs/{upload_run}").status_code == status, who
        assert staff.as_(who).get(f"/manage/runs/{upload_run}.json").status_code == status, who


def test_a_saved_upload_is_queued_and_the_worker_makes_the_dataset(staff: Staff) -> None:
    token = staged_token(upload(staff, "health", PERMITS_CSV, "permits.csv"))
    form = {
        "title": "Queued permits",
        "row_identifier": "0",
        "privacy-owner_email-action": "hash",
        "save": "internal",
    }
    run_id = queued_run_id(staff.post("health", f"/manage/uploads/{token}", form))
    # The upload is handed to the run: a second click finds it gone, and nothing exists yet.
    assert staff.post("health", f"/manage/uploads/{token}", form).status_code == 404
    assert staff.as_("health").get(f"/manage/uploads/{token}").status_code == 404
    assert staff.dataset_count() == 0
    queued = state(staff, "health", run_id)
    assert (queued["status"], queued["trigger"], queued["dataset_id"]) == ("queued", "upload", None)
    page = staff.as_("health").get(f"/manage/runs/{run_id}").text
    assert "new dataset “Queued permits”" in page

    run = finished_run(staff.settings, staff.engine, run_id)
    assert run.status == "succeeded", run.error
    assert run.dataset_id is not None
    record = staff.record(run.dataset_id)
    assert (record.title, record.audience, record.row_identifier, record.owner_id) == (
        "Queued permits", "internal", "permit_id", staff.ids["health"],
    )  # fmt: skip
    rows = rows_of(staff, run.dataset_id)
    assert len(rows) == 12
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["owner_email"]) for r in rows)
    assert list(uploads_dir(staff.settings).iterdir()) == []  # the worker removed the file
    done = state(staff, "health", run_id)
    assert done["dataset_url"] == f"/manage/d/{run.dataset_id}"
    assert done["result"]["rows_added"] == 12
    imported = staff.events("dataset.import")
    assert [(e.actor, e.dataset_id) for e in imported] == [("health@city.example", run.dataset_id)]
    decided = staff.events("privacy.decide")
    assert [(e.detail["column"], e.detail["decision"], e.detail["run_id"]) for e in decided] == [
        ("owner_email", "hash", run_id)
    ]


def test_a_queued_upload_that_fails_says_why_and_makes_nothing(staff: Staff) -> None:
    repeated = b"Permit ID,Fee\nP-1,10\nP-1,20\nP-2,30\n"
    token = staged_token(upload(staff, "health", repeated, "permits.csv"))
    form = {"title": "Repeated permits", "row_identifier": "0", "save": "private"}
    run_id = queued_run_id(staff.post("health", f"/manage/uploads/{token}", form))
    run = finished_run(staff.settings, staff.engine, run_id)
    assert run.status == "failed"
    assert "P-1" in (run.error or "")
    assert staff.dataset_count() == 0
    assert list(uploads_dir(staff.settings).iterdir()) == []
    page = html.unescape(staff.as_("health").get(f"/manage/runs/{run_id}").text)
    assert "The run failed:" in page
    assert run.error in page
    assert "Correct the file and upload it again." in page
    assert state(staff, "health", run_id)["error"] == run.error


def test_a_queued_public_save_with_renamed_columns_is_submitted_for_approval(
    staff: Staff,
) -> None:
    token = staged_token(upload(staff, "health", PERMITS_CSV, "permits.csv"))
    form = {"title": "Renamed permits", "col-1-field": "fee paid", "col-1-display": "Fee paid",
            "col-1-description": "In dollars", "row_identifier": "0", "save": "public",
            "privacy-owner_email-action": "drop"}  # fmt: skip
    run_id = queued_run_id(staff.post("health", f"/manage/uploads/{token}", form))
    assert staff.dataset_count() == 0  # nothing is saved in the request

    run = finished_run(staff.settings, staff.engine, run_id)
    assert (run.status, run.outcome, run.rows_added, run.version) == (
        "succeeded",
        "submitted",
        12,
        1,
    )
    assert run.dataset_id is not None
    record = staff.record(run.dataset_id)
    assert record.audience == "private"  # until an approver publishes it
    assert record.row_identifier == "permit_id"
    columns = {c.field_name: (c.display_name, c.description) for c in record.columns}
    assert columns == {"permit_id": ("Permit ID", ""), "fee_paid": ("Fee paid", "In dollars")}
    with staff.engine.connect() as conn:
        draft = drafts.get_draft(conn, run.dataset_id)
    assert draft is not None
    assert draft.status == "submitted"
    assert draft.metadata is not None
    assert draft.metadata.audience == "public"
    assert state(staff, "health", run_id)["result"]["outcome"] == "submitted"
    page = html.unescape(staff.as_("health").get(f"/manage/runs/{run_id}").text)
    assert "Submitted for approval: an approver will publish it" in page
    assert f'href="/manage/d/{run.dataset_id}?saved=submitted"' in page
    spanish = staff.as_("health").get(f"/manage/runs/{run_id}", headers={"Accept-Language": "es"})
    assert "Enviado para su aprobación" in html.unescape(spanish.text)

    # The audit log: the import and the decision, by the publisher, naming the dataset and run.
    imported = staff.events("dataset.import")
    assert [(e.actor, e.dataset_id, e.detail["file"], e.detail["run_id"]) for e in imported] == [
        ("health@city.example", run.dataset_id, "permits.csv", run_id)
    ]
    decided = staff.events("privacy.decide")
    assert [(e.actor, e.dataset_id, e.detail) for e in decided] == [
        ("health@city.example", run.dataset_id,
         {"column": "owner_email", "decision": "drop", "run_id": run_id}),
    ]  # fmt: skip
    assert [e.actor for e in staff.events("draft.submit")] == ["health@city.example"]


def test_a_queued_replace_of_a_public_dataset_waits_in_a_draft(staff: Staff) -> None:
    dataset_id = staff.make("public")
    url = f"/manage/d/{dataset_id}/replace"
    content = b"Permit,Fee,Owner Email\nP-77,700,pat@example.org\nP-78,800,sam@example.org\n"
    token = staged_token(upload(staff, "health", content, "v2.csv", url))
    form = {"save": "replace", "privacy-owner_email-action": "hash"}
    run_id = queued_run_id(staff.post("health", f"/manage/uploads/{token}", form))

    run = finished_run(staff.settings, staff.engine, run_id)
    assert (run.status, run.outcome, run.dataset_id) == ("succeeded", "draft", dataset_id)
    # No version was made: the live rows are those of before.
    assert (run.rows_added, run.rows_changed, run.rows_removed, run.version) == (None,) * 4
    assert [r["permit"] for r in rows_of(staff, dataset_id)] == ["P-1", "P-2"]
    with staff.engine.connect() as conn:
        draft = drafts.get_draft(conn, dataset_id)
    assert draft is not None
    assert draft.status == "draft"
    result = state(staff, "health", run_id)["result"]
    assert (result["outcome"], result["version"], result["rows_added"]) == ("draft", None, None)
    page = html.unescape(staff.as_("health").get(f"/manage/runs/{run_id}").text)
    assert "Saved as a draft, waiting for approval" in page
    assert "rows added" not in page
    assert "no rows changed" not in page
    assert f'href="/manage/d/{dataset_id}?saved=draft"' in page
    decided = staff.events("privacy.decide")
    assert [(e.dataset_id, e.detail["column"], e.detail["run_id"]) for e in decided] == [
        (dataset_id, "owner_email", run_id)
    ]
    assert staff.events("dataset.replace") == []  # nothing went live


def test_a_queued_save_is_made_with_the_publishers_rights_when_it_runs(staff: Staff) -> None:
    """The worker saves as the account that asked: one that may no longer change the dataset
    (moved to another department meanwhile) gets a failed run, and nothing changes."""
    dataset_id = staff.make("internal")
    url = f"/manage/d/{dataset_id}/replace"
    token = staged_token(upload(staff, "approver", b"Permit,Fee\nP-9,1\n", "v2.csv", url))
    run_id = queued_run_id(staff.post("approver", f"/manage/uploads/{token}", {"save": "replace"}))
    with staff.engine.begin() as conn:
        conn.execute(
            users.update().where(users.c.id == staff.ids["approver"]).values(department="Police")
        )
    run = finished_run(staff.settings, staff.engine, run_id)
    assert run.status == "failed"
    assert run.error == f"You may not change dataset '{dataset_id}'"
    assert run.outcome is None
    assert [r["permit"] for r in rows_of(staff, dataset_id)] == ["P-1", "P-2"]
