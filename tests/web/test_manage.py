"""Publishing in the browser (/manage): upload → review (schema, metadata, privacy) → save,
editing, replacing, drafts and approvals, who may reach which page, and the audit log page.

Everything goes through the ASGI app with signed-in sessions (the session cookie as
auth.sessions signs it) and the CSRF token every form carries, on both databases.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from queued_runs import finished_run, queued_run_id

from civicport.app import create_app
from civicport.auth.accounts import create_user
from civicport.auth.audit import list_events
from civicport.auth.sessions import SESSION_COOKIE, session_token
from civicport.catalog import drafts
from civicport.catalog.records import DatasetMetadata, DatasetRecord
from civicport.catalog.service import import_table
from civicport.catalog.store import get_dataset
from civicport.catalog.versions import list_versions
from civicport.config import Settings
from civicport.db.schema import datasets, users
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.web.csrf import CSRF_COOKIE
from civicport.web.routes.manage_staging import uploads_dir

DATA = Path("/work/shared/data")
HOUSING = DATA / "misc" / "chicago_affordable_rental_housing_developments.csv"
needs_data = pytest.mark.skipif(not HOUSING.is_file(), reason="shared/data is not available")
PASSWORD = "correct horse battery"
CSRF = "test-csrf-token-0123456789"
ACCOUNTS = {
    "admin": ("admin", None, False),
    "health": ("publisher", "Health", False),
    "approver": ("publisher", "Health", True),
    "police": ("publisher", "Police", False),
    "viewer": ("viewer", "Health", False),
}
# The housing file's flagged columns and a decision that resolves each.
HOUSING_DECISIONS = {
    "privacy-phone_number-action": "drop",
    "privacy-address-action": "generalize",
    "privacy-location_address-action": "generalize",
}


@dataclass
class Staff:
    """The app, its database and one account per role; `as_(name)` signs the client in."""

    client: TestClient
    app: FastAPI
    engine: sa.Engine
    settings: Settings
    ids: dict[str, int] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    def as_(self, name: str | None) -> TestClient:
        self.client.cookies.clear()
        self.client.cookies.set(CSRF_COOKIE, CSRF)
        if name is not None:
            self.client.cookies.set(SESSION_COOKIE, self.cookies[name])
        return self.client

    def post(self, name: str | None, url: str, data: dict[str, Any], **kwargs: Any) -> Response:
        client = self.as_(name)
        return client.post(url, data={"csrf_token": CSRF, **data}, follow_redirects=False, **kwargs)

    def record(self, dataset_id: str) -> DatasetRecord:
        with self.engine.connect() as conn:
            return get_dataset(conn, dataset_id)

    def dataset_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(datasets)).scalar_one()

    def events(self, action: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list_events(conn, action=action)

    def make(self, audience: str, *, owner: str = "health", title: str = "Permits") -> str:
        """A dataset of the Health department owned by `owner`."""
        table = ParsedTable(
            columns=[ColumnSpec("permit", "Permit", "text"), ColumnSpec("fee", "Fee", "number")],
            rows=iter([("P-1", 10), ("P-2", 20)]),
        )
        metadata = DatasetMetadata(title=title, department="Health", audience=audience)
        result = import_table(self.engine, table, metadata=metadata, owner_id=self.ids[owner])
        return result.dataset_id


def make_staff(client: TestClient, app: FastAPI, engine: sa.Engine, settings: Settings) -> Staff:
    staff = Staff(client, app, engine, settings)
    with engine.begin() as conn:
        for name, (role, department, approver) in ACCOUNTS.items():
            principal = create_user(
                conn,
                email=f"{name}@city.example",
                role=role,
                department=department,
                password=PASSWORD,
                can_approve=approver,
            )
            hashed = conn.execute(
                sa.select(users.c.password_hash).where(users.c.id == principal.user_id)
            ).scalar_one()
            staff.ids[name] = principal.user_id
            staff.cookies[name] = session_token(app.state.signing_key, principal.user_id, hashed)
    return staff


@pytest.fixture
def staff(client: TestClient, app: FastAPI, engine: sa.Engine, settings: Settings) -> Staff:
    return make_staff(client, app, engine, settings)


def upload(staff: Staff, name: str, content: bytes, file_name: str, url: str = "/manage/new"):
    return staff.post(name, url, {}, files={"file": (file_name, content, "text/csv")})


def staged_token(response: Response) -> str:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/manage/uploads/([\w-]+)", response.headers["location"])
    assert match is not None, response.headers["location"]
    return match.group(1)


def saved_id(response: Response, outcome: str) -> str:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/manage/d/(\w{4}-\w{4})\?saved=(\w+)", response.headers["location"])
    assert match is not None, response.headers["location"]
    assert match.group(2) == outcome
    return match.group(1)


def queued_save(staff: Staff, response: Response, outcome: str) -> str:
    """Run the save the review page queued (the test app has no worker of its own), check what
    it did (catalog.publishing.OUTCOMES), and return its dataset's id."""
    run = finished_run(staff.settings, staff.engine, queued_run_id(response))
    assert (run.status, run.outcome) == ("succeeded", outcome), run.error
    assert run.dataset_id is not None
    return run.dataset_id


def rows_of(staff: Staff, dataset_id: str) -> list[dict[str, str]]:
    client = staff.as_("admin")
    answer = client.get(f"/resource/{dataset_id}.csv", params={"$limit": 1000})
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


HOUSING_FORM = {
    "title": "Affordable rental housing",
    "description": "Developments supported by the **city**.",
    "category": "Housing",
    "tags": "housing, rentals",
    "contact_email": "housing@city.example",
    "col-3-display": "Development name",
    "col-3-description": "The property's name",
}


# -- the whole publishing flow ------------------------------------------------------------------


@needs_data
def test_publish_flow_upload_review_submit_approve(staff: Staff) -> None:
    token = staged_token(upload(staff, "health", HOUSING.read_bytes(), "housing.csv"))
    # The staged file is named by the token, never by the sender's file name.
    assert [p.name for p in uploads_dir(staff.settings).iterdir() if p.suffix == ".csv"] == [
        f"{token}.csv"
    ]

    review = staff.as_("health").get(f"/manage/uploads/{token}")
    assert review.status_code == 200
    text = review.text
    order = [text.index(h) for h in ("Columns", "About the dataset", "Privacy review", "Save")]
    assert order == sorted(order)
    assert 'value="Phone Number"' in text
    assert '<option value="point" selected' in text
    assert "holds phone numbers" in text
    assert "***-***-7862" in text
    assert "773-205-7862" not in text  # findings show masked examples only
    assert 'name="privacy-address-action" value="generalize"' in text
    assert 'name="privacy-phone_number-action" value="generalize"' not in text

    # Public with unresolved findings: 400, the review page says what is missing, nothing made.
    refused = staff.post("health", f"/manage/uploads/{token}", {**HOUSING_FORM, "save": "public"})
    assert refused.status_code == 400
    # Each unresolved column is named in the summary at the top and beside its fieldset.
    assert refused.text.count("Decide what to do with it before the dataset") == 6
    assert "Column “Phone Number”: Decide what to do" in refused.text
    assert 'href="#f-privacy-phone_number-action"' in refused.text
    assert 'aria-invalid="true"' not in refused.text.split("privacy-title")[0]  # schema is fine
    assert staff.dataset_count() == 0

    form = {**HOUSING_FORM, **HOUSING_DECISIONS, "save": "public"}
    dataset_id = queued_save(
        staff, staff.post("health", f"/manage/uploads/{token}", form), "submitted"
    )
    assert list(uploads_dir(staff.settings).glob(f"{token}*")) == []
    record = staff.record(dataset_id)
    assert record.audience == "private"  # until an approver publishes it
    assert record.owner_id == staff.ids["health"]
    assert record.department == "Health"
    names = {c.field_name: c for c in record.columns}
    assert "phone_number" not in names
    assert names["property_name"].display_name == "Development name"
    assert names["property_name"].description == "The property's name"

    page = staff.as_("health").get(f"/manage/d/{dataset_id}?saved=submitted")
    assert "Submitted for approval" in page.text
    assert "Waiting for approval" in page.text

    approvals = staff.as_("admin").get("/manage/approvals")
    assert "Affordable rental housing" in approvals.text
    preview = staff.as_("admin").get(f"/manage/d/{dataset_id}/preview")
    assert preview.status_code == 200
    assert "Draft — not published" in preview.text
    assert "<strong>city</strong>" in preview.text  # the description as the page renders it
    assert staff.as_(None).get(f"/d/{dataset_id}").status_code == 404

    approved = staff.post("admin", f"/manage/d/{dataset_id}/approve", {})
    assert approved.status_code == 303
    assert staff.record(dataset_id).audience == "public"
    assert staff.as_(None).get(f"/d/{dataset_id}").status_code == 200
    rows = rows_of(staff, dataset_id)
    assert len(rows) == record.row_count > 200
    assert "phone_number" not in rows[0]
    assert sum("BLOCK OF" in r["address"] for r in rows) > 200
    assert not any(re.match(r"\d+ [NSEW]\. ", r["address"]) for r in rows)

    assert [e.dataset_id for e in staff.events("dataset.import")] == [dataset_id]
    decided = {e.detail["column"]: e.detail["decision"] for e in staff.events("privacy.decide")}
    assert decided == {
        "phone_number": "drop",
        "address": "generalize",
        "location_address": "generalize",
    }
    assert staff.events("draft.approve")[0].actor == "admin@city.example"


@needs_data
def test_save_as_internal_is_on_browse_for_staff_only(staff: Staff) -> None:
    token = staged_token(upload(staff, "health", HOUSING.read_bytes(), "housing.csv"))
    form = {**HOUSING_FORM, "title": "Housing internal Zorbulon", "save": "internal"}
    dataset_id = queued_save(
        staff, staff.post("health", f"/manage/uploads/{token}", form), "internal"
    )
    assert staff.record(dataset_id).audience == "internal"
    # A second click on Save finds the upload gone instead of making a second dataset.
    assert staff.post("health", f"/manage/uploads/{token}", form).status_code == 404
    assert staff.dataset_count() == 1
    assert "Zorbulon" in staff.as_("viewer").get("/browse").text
    assert "Zorbulon" not in staff.as_(None).get("/browse").text
    listed = staff.as_("health").get("/manage").text
    assert f"/manage/d/{dataset_id}" in listed
    assert "Internal" in listed


def test_admin_publishes_directly_and_schema_choices_apply(staff: Staff, tmp_path: Path) -> None:
    content = b"Permit ID,Fee,Issued\nP-1,10,2024-01-02\nP-2,20,2024-02-03\n"
    token = staged_token(upload(staff, "admin", content, "permits.csv"))
    form = {
        "title": "Permits",
        "department": "Buildings",
        "col-0-field": "permit number",
        "col-1-type": "text",
        "row_identifier": "0",
        "save": "public",
    }
    dataset_id = queued_save(staff, staff.post("admin", f"/manage/uploads/{token}", form), "public")
    record = staff.record(dataset_id)
    assert record.audience == "public"
    assert record.department == "Buildings"
    assert record.row_identifier == "permit_number"
    assert {c.field_name: c.soda_type for c in record.columns} == {
        "permit_number": "text",
        "fee": "text",
        "issued": "floating_timestamp",
    }
    assert staff.events("dataset.audience_change")[0].detail == {"from": "private", "to": "public"}


def test_accepting_a_finding_needs_a_written_reason(staff: Staff) -> None:
    content = b"Inspector,Contact\n" + b"".join(
        f"Inspector {i},inspector{i}@city.example\n".encode() for i in range(10)
    )
    token = staged_token(upload(staff, "admin", content, "inspectors.csv"))
    form = {"title": "Inspectors", "save": "public", "privacy-contact-action": "accept"}
    unexplained = staff.post("admin", f"/manage/uploads/{token}", form)
    assert unexplained.status_code == 400
    assert "Column “Contact”: Say why this column may be published as it is." in unexplained.text
    assert staff.dataset_count() == 0
    reason = "Work addresses that the city publishes on its website"
    form["privacy-contact-reason"] = reason
    dataset_id = queued_save(staff, staff.post("admin", f"/manage/uploads/{token}", form), "public")
    assert rows_of(staff, dataset_id)[0]["contact"] == "inspector0@city.example"
    decided = staff.events("privacy.decide")[0]
    assert decided.dataset_id == dataset_id
    assert decided.detail == {
        "column": "contact",
        "decision": "accept",
        "reason": reason,
        "run_id": decided.detail["run_id"],  # the run that saved it
    }


def test_bad_type_choice_is_400_with_the_readers_message(staff: Staff) -> None:
    token = staged_token(upload(staff, "health", b"Name,Fee\nA,10\nB,ten\n", "fees.csv"))
    form = {"title": "Fees", "col-0-type": "number", "save": "private"}
    answer = staff.post("health", f"/manage/uploads/{token}", form)
    assert answer.status_code == 400
    assert "name" in answer.text
    assert "row" in answer.text.lower()
    assert staff.dataset_count() == 0
    invalid = staff.post("health", f"/manage/uploads/{token}", {"title": "", "save": "private"})
    assert invalid.status_code == 400
    assert 'href="#f-title"' in invalid.text
    assert "Give the dataset a title." in invalid.text
    assert staff.dataset_count() == 0


# -- bad uploads --------------------------------------------------------------------------------


def test_malformed_and_unsupported_files_are_400_with_the_reason(staff: Staff) -> None:
    broken = upload(staff, "health", b'Name,Note\nA,"never closed\nB,x\n', "broken.csv")
    assert broken.status_code == 400
    assert "broken.csv" in broken.text
    assert 'aria-invalid="true"' in broken.text
    unknown = upload(staff, "health", b"MZ\x90\x00", "tool.exe")
    assert unknown.status_code == 400
    assert ".csv" in unknown.text
    empty = upload(staff, "health", b"", "empty.csv")
    assert empty.status_code == 400
    assert list(uploads_dir(staff.settings).glob("*")) == []
    assert staff.dataset_count() == 0


def test_oversized_upload_is_413(engine: sa.Engine, settings: Settings) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 1000})
    app = create_app(small)
    with TestClient(app) as client:
        staff = make_staff(client, app, engine, small)
        answer = upload(staff, "health", b"a,b\n" + b"1,2\n" * 1000, "big.csv")
        assert answer.status_code == 413
        assert "too large" in answer.text
    assert not uploads_dir(small).exists() or list(uploads_dir(small).iterdir()) == []


def test_staged_uploads_are_private_and_expire(staff: Staff) -> None:
    token = staged_token(upload(staff, "health", b"a,b\n1,2\n", "mine.csv"))
    assert staff.as_("police").get(f"/manage/uploads/{token}").status_code == 404
    assert staff.as_("admin").get(f"/manage/uploads/{token}").status_code == 404
    assert staff.post("police", f"/manage/uploads/{token}", {"save": "private"}).status_code == 404
    assert staff.as_("health").get("/manage/uploads/..%2Fsecret_key").status_code == 404
    two_days_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).timestamp()
    for path in uploads_dir(staff.settings).iterdir():
        os.utime(path, (two_days_ago, two_days_ago))
    staged_token(upload(staff, "health", b"a,b\n1,2\n", "next.csv"))
    assert staff.as_("health").get(f"/manage/uploads/{token}").status_code == 404


# -- editing, replacing, drafts -----------------------------------------------------------------


def test_edit_metadata_audience_then_draft_approved_by_the_department_approver(
    staff: Staff,
) -> None:
    dataset_id = staff.make("private")
    page = staff.as_("health").get(f"/manage/d/{dataset_id}")
    assert page.status_code == 200
    assert 'value="Permits"' in page.text

    edited = staff.post(
        "health",
        f"/manage/d/{dataset_id}/metadata",
        {"title": "Building permits", "department": "Police", "source_link": "javascript:x"},
    )
    assert edited.status_code == 400  # the link
    assert "A link must start with https://" in edited.text
    assert staff.record(dataset_id).title == "Permits"
    edited = staff.post(
        "health",
        f"/manage/d/{dataset_id}/metadata",
        {"title": "Building permits", "department": "Police"},
    )
    assert saved_id(edited, "changed") == dataset_id
    record = staff.record(dataset_id)
    assert record.title == "Building permits"
    assert record.department == "Health"  # a publisher cannot move it to another department

    assert (
        staff.post(
            "health", f"/manage/d/{dataset_id}/audience", {"audience": "internal"}
        ).status_code
        == 303
    )
    assert staff.record(dataset_id).audience == "internal"

    # Public needs an approver: the change waits in a draft, previewed, submitted, approved.
    answer = staff.post("health", f"/manage/d/{dataset_id}/audience", {"audience": "public"})
    assert saved_id(answer, "draft") == dataset_id
    assert staff.record(dataset_id).audience == "internal"
    assert staff.post("health", f"/manage/d/{dataset_id}/draft/submit", {}).status_code == 303
    home = staff.as_("approver").get("/manage")
    assert f"/manage/d/{dataset_id}/preview" in home.text
    assert staff.as_("approver").get(f"/manage/d/{dataset_id}/preview").status_code == 200
    assert staff.post("approver", f"/manage/d/{dataset_id}/approve", {}).status_code == 303
    assert staff.record(dataset_id).audience == "public"


def test_reject_needs_a_comment_and_the_author_reads_it(staff: Staff) -> None:
    dataset_id = staff.make("public")
    answer = staff.post("health", f"/manage/d/{dataset_id}/metadata", {"title": "Permits 2025"})
    assert saved_id(answer, "draft") == dataset_id
    staff.post("health", f"/manage/d/{dataset_id}/draft/submit", {})

    silent = staff.post("admin", f"/manage/d/{dataset_id}/reject", {"comment": "  "})
    assert silent.status_code == 400
    assert "Say why the draft is rejected" in silent.text
    with staff.engine.connect() as conn:
        assert drafts.get_draft(conn, dataset_id).status == "submitted"

    comment = "Spell out what the fee covers."
    rejected = staff.post("admin", f"/manage/d/{dataset_id}/reject", {"comment": comment})
    assert rejected.status_code == 303
    page = staff.as_("health").get(f"/manage/d/{dataset_id}")
    assert "Rejected" in page.text
    assert comment in page.text
    assert staff.record(dataset_id).title == "Permits"
    # The author may not approve their own change; another publisher may not even review it.
    assert staff.post("health", f"/manage/d/{dataset_id}/approve", {}).status_code == 403
    discarded = staff.post("health", f"/manage/d/{dataset_id}/draft/discard", {})
    assert discarded.status_code == 303
    with staff.engine.connect() as conn:
        assert drafts.get_draft(conn, dataset_id) is None


def test_replace_data_through_the_review_page(staff: Staff) -> None:
    dataset_id = staff.make("internal")
    assert staff.as_("health").get(f"/manage/d/{dataset_id}/replace").status_code == 200
    content = (
        b"Permit,Fee,Owner Email\n"
        b"P-7,70,pat@example.org\nP-8,80,sam@example.org\nP-9,90,al@example.org\n"
    )
    token = staged_token(
        upload(staff, "health", content, "new.csv", f"/manage/d/{dataset_id}/replace")
    )
    review = staff.as_("health").get(f"/manage/uploads/{token}")
    assert "Review the new data" in review.text
    assert "About the dataset" not in review.text
    assert "holds email addresses" in review.text
    form = {"save": "replace", "privacy-owner_email-action": "hash"}
    assert (
        queued_save(staff, staff.post("health", f"/manage/uploads/{token}", form), "replaced")
        == dataset_id
    )
    with staff.engine.connect() as conn:
        assert [v.version for v in list_versions(conn, dataset_id)] == [2, 1]
    rows = rows_of(staff, dataset_id)
    assert [r["permit"] for r in rows] == ["P-7", "P-8", "P-9"]
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["owner_email"]) for r in rows)
    assert staff.record(dataset_id).title == "Permits"


def test_new_data_for_a_public_dataset_waits_in_a_draft_its_preview_shows_the_staged_rows(
    staff: Staff,
) -> None:
    dataset_id = staff.make("public")
    url = f"/manage/d/{dataset_id}/replace"
    token = staged_token(
        upload(staff, "health", b"Permit,Fee\nP-77,700\nP-78,800\n", "v2.csv", url)
    )
    assert queued_save(
        staff, staff.post("health", f"/manage/uploads/{token}", {"save": "replace"}), "draft"
    )
    live = staff.as_(None).get(f"/d/{dataset_id}").text
    assert "P-1" in live
    assert "P-77" not in live
    assert [r["permit"] for r in rows_of(staff, dataset_id)] == ["P-1", "P-2"]
    preview = staff.as_("health").get(f"/manage/d/{dataset_id}/preview")
    assert preview.status_code == 200
    assert "Draft — not published" in preview.text
    assert "noindex" in preview.text
    assert "P-77" in preview.text
    assert "P-1<" not in preview.text
    fragment = staff.as_("health").get(
        f"/manage/d/{dataset_id}/preview",
        params={"f.permit": "P-78"},
        headers={"X-Fragment": "view"},
    )
    assert "P-78" in fragment.text
    assert "P-77" not in fragment.text
    assert "Draft — not published" not in fragment.text
    page = staff.as_("health").get(f"/manage/d/{dataset_id}")
    assert "It replaces the data with 2 rows." in page.text


def test_collaborators_from_another_department_may_then_manage_it(staff: Staff) -> None:
    dataset_id = staff.make("private")
    url = f"/manage/d/{dataset_id}/collaborators"
    unknown = staff.post(
        "health", url, {"collaborators": "police@city.example\nnobody@city.example"}
    )
    assert unknown.status_code == 400
    assert "nobody@city.example" in unknown.text
    assert staff.record(dataset_id).collaborators == frozenset()
    assert staff.as_("police").get(f"/manage/d/{dataset_id}").status_code == 404
    saved = staff.post("health", url, {"collaborators": "Police@City.example"})
    assert saved_id(saved, "collaborators") == dataset_id
    assert staff.record(dataset_id).collaborators == {staff.ids["police"]}
    page = staff.as_("police").get(f"/manage/d/{dataset_id}")
    assert page.status_code == 200
    assert "police@city.example" in page.text
    assert staff.events("dataset.collaborators")[0].actor == "health@city.example"


# -- who may reach what -------------------------------------------------------------------------


def test_other_department_gets_404_private_403_internal_and_viewers_no_forms(
    staff: Staff,
) -> None:
    private, internal = staff.make("private"), staff.make("internal")
    assert staff.as_("police").get(f"/manage/d/{private}").status_code == 404
    assert staff.as_("police").get(f"/manage/d/{internal}").status_code == 403
    assert staff.post("police", f"/manage/d/{private}/metadata", {"title": "x"}).status_code == 404
    assert staff.post("police", f"/manage/d/{internal}/metadata", {"title": "x"}).status_code == 403
    assert staff.as_("viewer").get(f"/manage/d/{internal}").status_code == 403
    assert staff.as_("viewer").get("/manage/new").status_code == 403
    assert staff.as_("viewer").get(f"/manage/d/{internal}/replace").status_code == 403
    assert staff.as_("viewer").get("/manage").status_code == 200
    assert f"/manage/d/{internal}" not in staff.as_("police").get("/manage").text
    anonymous = staff.as_(None).get("/manage")
    assert anonymous.status_code == 401
    assert "/account/sign-in?next=" in anonymous.text
    assert staff.as_(None).get(f"/manage/d/{internal}").status_code == 401
    assert staff.record(private).title == staff.record(internal).title == "Permits"
    # A draft's preview: only those who may change or approve it.
    staff.post("health", f"/manage/d/{internal}/audience", {"audience": "public"})
    assert staff.as_("health").get(f"/manage/d/{internal}/preview").status_code == 200
    assert staff.as_("viewer").get(f"/manage/d/{internal}/preview").status_code == 404
    assert staff.as_("police").get(f"/manage/d/{internal}/preview").status_code == 404


def test_missing_csrf_token_is_403_and_changes_nothing(staff: Staff) -> None:
    dataset_id = staff.make("private")
    client = staff.as_("health")
    answer = client.post(f"/manage/d/{dataset_id}/metadata", data={"title": "Hacked"})
    assert answer.status_code == 403
    answer = client.post(
        f"/manage/d/{dataset_id}/metadata", data={"title": "Hacked", "csrf_token": "wrong" * 5}
    )
    assert answer.status_code == 403
    files = {"file": ("x.csv", b"a\n1\n", "text/csv")}
    assert client.post("/manage/new", files=files).status_code == 403
    assert staff.record(dataset_id).title == "Permits"
    assert not uploads_dir(staff.settings).exists() or not any(
        uploads_dir(staff.settings).iterdir()
    )


# -- the audit log ------------------------------------------------------------------------------


def test_audit_page_for_admins_only_with_filters_and_csv(staff: Staff) -> None:
    first, second = staff.make("private"), staff.make("private")
    staff.post("health", f"/manage/d/{first}/metadata", {"title": "First"})
    staff.post("health", f"/manage/d/{second}/audience", {"audience": "internal"})
    for name in ("health", "viewer", "approver"):
        assert staff.as_(name).get("/manage/audit").status_code == 404
        assert staff.as_(name).get("/manage/audit.csv").status_code == 404
    assert "/manage/audit" not in staff.as_("health").get("/manage").text

    admin = staff.as_("admin")
    assert 'href="/manage/audit"' in admin.get("/manage").text
    page = admin.get("/manage/audit")
    assert page.status_code == 200
    assert page.text.index("dataset.audience_change") < page.text.index("dataset.metadata_edit")
    only = admin.get("/manage/audit", params={"action": "dataset.metadata_edit"}).text
    assert first in only
    assert "dataset.audience_change" not in only
    by_dataset = admin.get("/manage/audit", params={"dataset": second}).text
    assert "dataset.audience_change" in by_dataset
    assert "dataset.metadata_edit" not in by_dataset

    today = dt.datetime.now(dt.UTC).date()
    exported = admin.get(
        "/manage/audit.csv",
        params={"actor": "health@city.example", "from": str(today), "to": str(today)},
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["action"] for r in rows} == {"dataset.metadata_edit", "dataset.audience_change"}
    yesterday = str(today - dt.timedelta(days=1))
    assert (
        list(
            csv.DictReader(
                io.StringIO(admin.get("/manage/audit.csv", params={"to": yesterday}).text)
            )
        )
        == []
    )
    bad = admin.get("/manage/audit", params={"from": "last tuesday"})
    assert bad.status_code == 400
    assert "is not a date" in bad.text
