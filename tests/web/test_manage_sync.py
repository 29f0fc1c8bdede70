"""A dataset's source page (/manage/d/{id}/source): setting, changing and removing its source
without ever showing a secret, "Run now" and the run history, the load rules, who may reach
each form, and the failed-sync markers on the staff pages. Through the ASGI app with signed-in
sessions and CSRF tokens, on both databases; queued syncs are run by the real task
(queued_runs)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from queued_runs import (
    finished_run,
    queued_run_id,
    settings,  # noqa: F401 -- the fixture: file sources may read the share
    share,
)
from test_manage import CSRF, Staff, make_staff

from civicport.app import create_app
from civicport.auth.sessions import SESSION_COOKIE
from civicport.catalog.sources import SourceRecord, get_source
from civicport.catalog.store import set_load_rules
from civicport.config import Settings
from civicport.ingest.checks import RULES, LoadRules
from civicport.web.csrf import CSRF_COOKIE

SECRET = "s3cret-api-key-value"
HOOK = "https://hooks.chat.example/T01/secret-hook-path"
URL_SOURCE = {
    "kind": "url",
    "location": "https://data.city.example/permits.csv",
    "headers": f"X-Api-Key: {SECRET}",
    "schedule": "every 6 hours",
    "mode": "replace",
    "webhook": HOOK,
    "max_attempts": "4",
    "enabled": "on",
}

staff = pytest.fixture(make_staff, name="staff")


def source_of(staff: Staff, dataset_id: str) -> SourceRecord | None:
    with staff.engine.connect() as conn:
        return get_source(conn, dataset_id)


def set_source_form(staff: Staff, who: str, dataset_id: str, **fields: Any) -> Response:
    """The source form as a browser sends it: a mode and a number of tries are always chosen."""
    form = {"mode": "replace", "max_attempts": "3", **fields}
    return staff.post(who, f"/manage/d/{dataset_id}/source", form)


def share_csv(path: Path, rows: int) -> Path:
    path.write_text(
        "permit,fee\n" + "".join(f"S-{i},{i * 10}\n" for i in range(rows)), encoding="utf-8"
    )
    return path


# -- the source and its secrets -----------------------------------------------------------------


def test_a_source_is_set_shown_without_secrets_and_changed_keeping_them(staff: Staff) -> None:
    dataset_id = staff.make("private")
    page = staff.as_("health").get(f"/manage/d/{dataset_id}/source")
    assert page.status_code == 200
    assert "This dataset has no source" in page.text

    saved = set_source_form(staff, "health", dataset_id, **URL_SOURCE)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/manage/d/{dataset_id}/source?saved=source"
    stored = source_of(staff, dataset_id)
    assert stored is not None
    assert dict(stored.spec.headers) == {"X-Api-Key": SECRET}
    assert (stored.schedule, stored.mode, stored.max_attempts) == ("every 6 hours", "replace", 4)
    assert stored.webhook_url == HOOK
    assert stored.next_run_at is not None

    page = staff.as_("health").get(f"/manage/d/{dataset_id}/source?saved=source").text
    assert "The source is saved." in page
    assert "URL https://data.city.example/permits.csv" in page
    assert "X-Api-Key" in page
    assert "hooks.chat.example" in page
    assert SECRET not in page
    assert "secret-hook-path" not in page
    assert "every 6 hours" in page
    assert "Next run" in page
    # The form leaves the header's value out, and says that an empty value keeps it.
    assert "X-Api-Key: </textarea>" in page
    assert "leave its value empty" in page
    spanish = staff.as_("health").get(f"/manage/d/{dataset_id}/source", params={"lang": "es"})
    assert "Origen y calendario de Permits" in spanish.text
    assert "Ejecutar ahora" in spanish.text

    # Edited without retyping the secrets: the header value and the webhook stay.
    edit = {**URL_SOURCE, "headers": "X-Api-Key:\nAccept: text/csv", "webhook": ""}
    edit["schedule"] = "0 6 * * *"
    del edit["enabled"]
    assert set_source_form(staff, "health", dataset_id, **edit).status_code == 303
    stored = source_of(staff, dataset_id)
    assert stored is not None
    assert dict(stored.spec.headers) == {"X-Api-Key": SECRET, "Accept": "text/csv"}
    assert stored.webhook_url == HOOK
    assert (stored.schedule, stored.enabled) == ("0 6 * * *", False)
    page = staff.as_("health").get(f"/manage/d/{dataset_id}/source").text
    assert "turned off: it runs only when asked" in page

    # Deleting the header's line removes it; the box removes the webhook.
    edit.update(headers="", remove_webhook="on")
    assert set_source_form(staff, "health", dataset_id, **edit).status_code == 303
    stored = source_of(staff, dataset_id)
    assert stored is not None
    assert (dict(stored.spec.headers), stored.webhook_url) == ({}, None)

    events = staff.events("source.set")
    assert [e.actor for e in events] == ["health@city.example"] * 3
    assert events[0].detail == {"kind": "url", "schedule": "0 6 * * *", "mode": "replace"}  # newest
    assert SECRET not in str([e.detail for e in events])


def test_a_location_holding_a_password_is_not_shown_and_kept_when_left_empty(
    staff: Staff,
) -> None:
    dataset_id = staff.make("private")
    location = "postgresql+psycopg://reader:hunter2pass@gis.city.example/city"
    form = {"kind": "sql", "location": location, "query": "SELECT * FROM permits"}
    assert set_source_form(staff, "health", dataset_id, **form).status_code == 303
    page = staff.as_("health").get(f"/manage/d/{dataset_id}/source").text
    assert "hunter2pass" not in page
    assert "reader:***@gis.city.example" in page
    assert "holds a password or key, so it is not shown" in page
    again = {**form, "location": "", "query": "SELECT permit FROM permits"}
    assert set_source_form(staff, "health", dataset_id, **again).status_code == 303
    stored = source_of(staff, dataset_id)
    assert stored is not None
    assert (stored.spec.location, stored.spec.query) == (location, "SELECT permit FROM permits")


# Each form change and the message it must bring (the URL source otherwise as above).
BAD_SOURCES = [
    ({"schedule": "every blue moon"}, "is not a schedule"),
    ({"location": "ftp://data.city.example/permits.csv"}, "must start with http:// or https://"),
    ({"kind": "gopher"}, "Unknown kind of source"),
    ({"webhook": "javascript:alert(1)"}, "The webhook address must start with http://"),
    ({"max_attempts": "many"}, "Give the number of tries as a whole number"),
    ({"max_attempts": "11"}, "Attempts must be between 1 and 10"),
    ({"headers": "no colon here"}, "Write each header as Name: value"),
    ({"headers": "X-New-Key:"}, "The header X-New-Key has no value."),
    ({"options": "format"}, "Write each option as name = value"),
    ({"options": "colour = red"}, "has no option 'colour'"),
    ({"mode": "upsert"}, "Upsert needs the dataset's row identifier"),
    ({"kind": "sql", "location": "postgresql+psycopg://reader@db.city.example/city",
      "query": "DELETE FROM permits"}, "must read data only"),
]  # fmt: skip


def test_bad_source_input_is_400_with_the_message_and_stores_nothing(staff: Staff) -> None:
    dataset_id = staff.make("private")
    for change, message in BAD_SOURCES:
        answer = set_source_form(staff, "health", dataset_id, **{**URL_SOURCE, **change})
        assert answer.status_code == 400, (change, answer.text)
        assert message in html.unescape(answer.text), change
        assert 'role="alert"' in answer.text
        # What was typed is shown again, so that it can be corrected.
        assert html.escape(next(iter(change.values()))) in answer.text, change
    assert source_of(staff, dataset_id) is None
    assert staff.events("source.set") == []


def test_file_and_sqlite_sources_read_only_inside_the_allowed_folders(
    staff: Staff, tmp_path: Path
) -> None:
    dataset_id = staff.make("private")
    inside = share_csv(share(tmp_path) / "permits.csv", 3)
    outside = share_csv(tmp_path / "elsewhere.csv", 3)
    portal_database = f"sqlite:///{staff.settings.home.resolve()}/civicport.db"
    for who in ("health", "admin"):
        for form in (
            {"kind": "file", "location": str(outside)},
            {"kind": "sql", "location": portal_database, "query": "SELECT * FROM users"},
        ):
            refused = set_source_form(staff, who, dataset_id, **form)
            assert refused.status_code == 400, refused.text
            assert "is outside the folders sources may read from" in html.unescape(refused.text)
    assert source_of(staff, dataset_id) is None
    page = staff.as_("health").get(f"/manage/d/{dataset_id}/source").text
    assert f"may be read from these folders only: {share(tmp_path)}." in page
    saved = set_source_form(staff, "health", dataset_id, kind="file", location=str(inside))
    assert saved.status_code == 303
    stored = source_of(staff, dataset_id)
    assert stored is not None
    assert stored.spec.location == str(inside)

    # Without the setting no folder may be read: the share is refused too.
    closed = create_app(Settings.model_validate(staff.settings.model_dump() | {"source_dirs": []}))
    with TestClient(closed) as client:
        client.cookies.update({CSRF_COOKIE: CSRF, SESSION_COOKIE: staff.cookies["admin"]})
        form = {"csrf_token": CSRF, "kind": "file", "location": str(inside), "mode": "replace",
                "max_attempts": "3"}  # fmt: skip
        refused = client.post(f"/manage/d/{dataset_id}/source", data=form)
        assert refused.status_code == 400
        assert "read from ((none))" in html.unescape(refused.text)
        assert "No folder of the server may be read" in refused.text


def test_who_may_reach_the_source_page_and_its_forms(staff: Staff) -> None:
    private, internal = staff.make("private"), staff.make("internal")
    forms = {"source": URL_SOURCE, "source/remove": {}, "sync": {}, "rules": {}}
    for dataset_id, police, viewer in ((private, 404, 404), (internal, 403, 403)):
        url = f"/manage/d/{dataset_id}/source"
        assert staff.as_(None).get(url).status_code == 401
        assert staff.as_("police").get(url).status_code == police
        assert staff.as_("viewer").get(url).status_code == viewer
        for path, form in forms.items():
            target = f"/manage/d/{dataset_id}/{path}"
            assert staff.post(None, target, form).status_code == 401
            assert staff.post("police", target, form).status_code == police
            assert staff.post("viewer", target, form).status_code == viewer
        # A form without its CSRF token changes nothing either.
        unsigned = staff.as_("health").post(url, data=URL_SOURCE, follow_redirects=False)
        assert unsigned.status_code == 403
        assert source_of(staff, dataset_id) is None
    assert staff.events("source.set") == staff.events("dataset.rules") == []
    manage = staff.as_("health").get(f"/manage/d/{internal}").text
    assert f'href="/manage/d/{internal}/source"' in manage


# -- run now, the history, failures -------------------------------------------------------------


def test_run_now_queues_a_sync_followed_on_its_page_then_listed_in_the_history(
    staff: Staff, tmp_path: Path
) -> None:
    dataset_id = staff.make("internal")
    source_file = share_csv(share(tmp_path) / "permits.csv", 5)
    set_source_form(staff, "health", dataset_id, kind="file", location=str(source_file),
                    max_attempts="1")  # fmt: skip

    run_id = queued_run_id(staff.post("health", f"/manage/d/{dataset_id}/sync", {}))
    page = staff.as_("health").get(f"/manage/d/{dataset_id}/source").text
    assert f'href="/manage/runs/{run_id}"' in page
    assert "Run now</button>" not in page  # a sync is queued: the page links to it instead
    again = staff.post("health", f"/manage/d/{dataset_id}/sync", {})
    assert again.status_code == 409
    assert f"already queued (run {run_id})" in again.text

    run = finished_run(staff.settings, staff.engine, run_id)
    assert (run.status, run.rows_added, run.rows_removed) == ("succeeded", 5, 2)
    assert staff.record(dataset_id).row_count == 5
    history = staff.as_("health").get(f"/manage/d/{dataset_id}/source").text
    row = history.split(f'href="/manage/runs/{run_id}"')[1].split("</tr>")[0]
    assert "Succeeded" in row
    assert "Sync run by hand" in row
    assert "<td>5</td>" in row  # added
    assert "<td>2</td>" in row  # removed (the two permits the file no longer has)

    # The share's file is gone: the next sync fails, the rows stay, and the pages say so.
    source_file.unlink()
    failed_id = queued_run_id(staff.post("health", f"/manage/d/{dataset_id}/sync", {}))
    failed = finished_run(staff.settings, staff.engine, failed_id)
    assert failed.status == "failed"
    assert failed.error
    assert staff.record(dataset_id).row_count == 5
    history = staff.as_("health").get(f"/manage/d/{dataset_id}/source").text
    assert history.index(f"/manage/runs/{failed_id}") < history.index(f"/manage/runs/{run_id}")
    assert failed.error in html.unescape(history)
    marker = "Last sync failed:"
    assert marker in staff.as_("health").get(f"/manage/d/{dataset_id}").text
    assert marker in staff.as_("health").get(f"/d/{dataset_id}").text
    assert marker not in staff.as_("viewer").get(f"/d/{dataset_id}").text
    home = staff.as_("health").get("/manage").text
    listed = home.split(f'href="/manage/d/{dataset_id}"')[1].split("</tr>")[0]
    assert f'href="/manage/runs/{failed_id}"' in listed
    assert "freshness-overdue" in listed


def test_remove_the_source_keeps_the_rows_and_the_history(staff: Staff, tmp_path: Path) -> None:
    dataset_id = staff.make("private")
    source_file = share_csv(share(tmp_path) / "permits.csv", 2)
    set_source_form(staff, "health", dataset_id, kind="file", location=str(source_file),
                    max_attempts="1")  # fmt: skip
    run_id = queued_run_id(staff.post("health", f"/manage/d/{dataset_id}/sync", {}))
    finished_run(staff.settings, staff.engine, run_id)
    removed = staff.post("health", f"/manage/d/{dataset_id}/source/remove", {})
    assert removed.headers["location"] == f"/manage/d/{dataset_id}/source?saved=removed"
    assert source_of(staff, dataset_id) is None
    page = staff.as_("health").get(removed.headers["location"]).text
    assert "The source is removed." in page
    assert f'href="/manage/runs/{run_id}"' in page
    assert [e.actor for e in staff.events("source.remove")] == ["health@city.example"]
    # Without a source there is nothing to run or remove.
    assert staff.post("health", f"/manage/d/{dataset_id}/sync", {}).status_code == 404
    assert staff.post("health", f"/manage/d/{dataset_id}/source/remove", {}).status_code == 404


# -- load rules ---------------------------------------------------------------------------------


def rules_of(staff: Staff, dataset_id: str) -> LoadRules:
    return LoadRules.from_json(staff.record(dataset_id).load_rules)


def test_load_rules_are_shown_saved_and_reset(staff: Staff) -> None:
    dataset_id = staff.make("private")
    page = staff.as_("health").get(f"/manage/d/{dataset_id}/source").text
    assert 'name="rule-row_drop"' in page
    assert 'name="type-fee"' in page  # a number column: its values can fail to fit
    assert 'name="type-permit"' not in page  # text takes anything
    form = {f"rule-{rule}": "warn" for rule in RULES}
    form |= {"rule-row_drop": "block", "rule-schema_drift": "off", "max_row_drop": "30",
             "type-fee": "null"}  # fmt: skip
    saved = staff.post("health", f"/manage/d/{dataset_id}/rules", form)
    assert saved.headers["location"] == f"/manage/d/{dataset_id}/source?saved=rules"
    rules = rules_of(staff, dataset_id)
    assert (rules.row_drop, rules.schema_drift, rules.duplicate_ids) == ("block", "off", "warn")
    assert rules.max_row_drop == pytest.approx(0.3)
    assert rules.type_policy == {"fee": "null"}
    page = staff.as_("health").get(saved.headers["location"]).text
    assert 'value="30"' in page
    assert '<option value="null" selected>' in page
    event = staff.events("dataset.rules")[0]
    assert event.actor == "health@city.example"
    assert event.detail["rules"]["row_drop"] == "block"

    reset = staff.post("health", f"/manage/d/{dataset_id}/rules", {**form, "action": "reset"})
    assert reset.headers["location"].endswith("saved=rules-reset")
    assert staff.record(dataset_id).load_rules is None
    assert rules_of(staff, dataset_id) == LoadRules()


def test_policies_of_columns_the_form_does_not_show_are_kept(staff: Staff) -> None:
    dataset_id = staff.make("private")
    with staff.engine.begin() as conn:
        kept = {"type_policy": {"gone_column": "text"}}
        set_load_rules(conn, dataset_id, kept, now=staff.record(dataset_id).metadata_updated_at)
    form = {f"rule-{rule}": "warn" for rule in RULES} | {"max_row_drop": "50", "type-fee": "text"}
    assert staff.post("health", f"/manage/d/{dataset_id}/rules", form).status_code == 303
    assert rules_of(staff, dataset_id).type_policy == {"gone_column": "text", "fee": "text"}


BAD_RULES = [
    ("rule-row_drop", "sometimes", "The load rule row_drop must be one of off, warn, block"),
    ("max_row_drop", "150", "Give the largest drop as a percentage from 0 to 100."),
    ("max_row_drop", "half", "Give the largest drop as a percentage from 0 to 100."),
    ("type-fee", "maybe", "must be one of reject, null, text"),
]


def test_bad_rules_are_400_with_the_message_and_store_nothing(staff: Staff) -> None:
    dataset_id = staff.make("private")
    form = {f"rule-{rule}": "warn" for rule in RULES}
    form |= {"max_row_drop": "50", "type-fee": "reject"}
    for field, value, message in BAD_RULES:
        answer = staff.post("health", f"/manage/d/{dataset_id}/rules", {**form, field: value})
        assert answer.status_code == 400, field
        assert message in answer.text, field
    assert staff.record(dataset_id).load_rules is None
    assert staff.events("dataset.rules") == []
