"""The privacy review of a dataset already loaded (/manage/d/{id}): the publisher resolves each
flagged column in the browser, the decisions are recorded and applied to the stored rows, and
the dataset can then be made public. On both databases, with Chicago's affordable rental
housing developments (real addresses and phone numbers) and a made-up contact email column.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from civicport.auth.accounts import create_user, user_by_id
from civicport.auth.audit import list_events
from civicport.auth.sessions import SESSION_COOKIE, session_token
from civicport.catalog import drafts
from civicport.catalog.records import DatasetMetadata, DatasetRecord
from civicport.catalog.service import import_table
from civicport.catalog.store import get_dataset
from civicport.config import Settings
from civicport.db.schema import users
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.privacy import store
from civicport.privacy.decisions import Choice
from civicport.privacy.guard import unresolved
from civicport.web.csrf import CSRF_COOKIE

HOUSING = Path("/work/shared/data/misc/chicago_affordable_rental_housing_developments.csv")
pytestmark = pytest.mark.skipif(not HOUSING.is_file(), reason="shared/data is not available")
CSRF = "privacy-review-csrf-token"
ROWS = 120
COLUMNS = [
    ColumnSpec("property_name", "Property Name", "text"),
    ColumnSpec("address", "Address", "text"),
    ColumnSpec("zip_code", "Zip Code", "text"),
    ColumnSpec("phone_number", "Phone Number", "text"),
    ColumnSpec("management_company", "Management Company", "text"),
    ColumnSpec("contact_email", "Contact Email", "text"),
]
PHONE_REASON = "Leasing office numbers, which the city publishes for applicants"
RESOLVED = {
    "privacy-contact_email-action": "hash",
    "privacy-address-action": "generalize",
    "privacy-phone_number-action": "accept",
    "privacy-phone_number-reason": PHONE_REASON,
}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]+")


def housing_rows() -> list[tuple[str, ...]]:
    """The file's first ROWS developments, with a leasing contact's email made up per row."""
    with HOUSING.open(encoding="utf-8", newline="") as file:
        rows = []
        for i, row in enumerate(csv.DictReader(file)):
            if i == ROWS:
                break
            company = re.sub(r"[^a-z]+", "", row["Management Company"].lower()) or "city"
            rows.append(
                (
                    row["Property Name"],
                    row["Address"],
                    row["Zip Code"],
                    row["Phone Number"],
                    row["Management Company"],
                    f"leasing{i}@{company[:20]}.example.com",
                )
            )
    return rows


@dataclass
class Office:
    """The app, its database, staff accounts and their session cookies."""

    client: TestClient
    engine: sa.Engine
    settings: Settings
    ids: dict[str, int] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    def post(self, who: str, url: str, data: dict[str, Any], *, csrf: bool = True) -> Response:
        self.client.cookies.clear()
        self.client.cookies.set(CSRF_COOKIE, CSRF)
        self.client.cookies.set(SESSION_COOKIE, self.cookies[who])
        form = {"csrf_token": CSRF, **data} if csrf else data
        return self.client.post(url, data=form, follow_redirects=False)

    def get(self, who: str, url: str) -> Response:
        self.client.cookies.clear()
        self.client.cookies.set(SESSION_COOKIE, self.cookies[who])
        return self.client.get(url)

    def record(self, dataset_id: str) -> DatasetRecord:
        with self.engine.connect() as conn:
            return get_dataset(conn, dataset_id)

    def stored(self, dataset_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            data_table = get_dataset(conn, dataset_id).data_table
            result = conn.exec_driver_sql(f'SELECT * FROM "{data_table}" ORDER BY _id')
            return [dict(row._mapping) for row in result]

    def decisions(self, dataset_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return {d.field_name: d for d in store.decisions(conn, dataset_id)}

    def events(self, action: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list_events(conn, action=action)

    def housing(self, audience: str = "private", **privacy: Choice) -> str:
        """The housing contacts imported by the Health publisher, as from the command line."""
        metadata = DatasetMetadata(
            title="Affordable rental housing contacts", department="Health", audience=audience
        )
        result = import_table(
            self.engine,
            ParsedTable(columns=COLUMNS, rows=iter(housing_rows())),
            metadata=metadata,
            owner_id=self.ids["health"],
            privacy_decisions=privacy or None,
            decided_by="cli" if privacy else None,
        )
        return result.dataset_id


@pytest.fixture
def office(client: TestClient, app: FastAPI, engine: sa.Engine, settings: Settings) -> Office:
    office = Office(client, engine, settings)
    accounts = {
        "admin": ("admin", None),
        "health": ("publisher", "Health"),
        "police": ("publisher", "Police"),
        "viewer": ("viewer", "Health"),
    }
    with engine.begin() as conn:
        for name, (role, department) in accounts.items():
            principal = create_user(
                conn,
                email=f"{name}@city.example",
                role=role,
                department=department,
                password="correct horse battery",
            )
            hashed = conn.execute(
                sa.select(users.c.password_hash).where(users.c.id == principal.user_id)
            ).scalar_one()
            office.ids[name] = principal.user_id
            office.cookies[name] = session_token(app.state.signing_key, principal.user_id, hashed)
    return office


def test_publisher_resolves_each_column_then_the_dataset_can_go_public(office: Office) -> None:
    dataset_id = office.housing()
    url = f"/manage/d/{dataset_id}"
    page = office.get("health", url)
    assert page.status_code == 200
    text = page.text
    assert 'action="/manage/d/' + dataset_id + '/privacy"' in text
    assert 'name="privacy-contact_email-action" value="hash"' in text
    assert 'name="privacy-address-action" value="generalize"' in text
    assert 'name="privacy-contact_email-action" value="generalize"' not in text  # not for emails
    assert "holds email addresses" in text
    assert "***-***-7862" in text  # masked examples only
    assert "773-205-7862" not in text
    assert "leasing0@" not in text

    done = office.post("health", url + "/privacy", RESOLVED)

    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{url}?saved=applied"
    rows = office.stored(dataset_id)
    assert len(rows) == ROWS
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["contact_email"]) for r in rows)
    assert not [v for r in rows for v in r.values() if isinstance(v, str) and EMAIL.search(v)]
    assert rows[0]["address"] == "4400 BLOCK OF W. LAWRENCE AVE."
    addresses = [r["address"] for r in rows]
    # Every house number is gone; intersections ('60th/Halsted') had none to hide.
    assert not [a for a in addresses if re.match(r"\d+ ", a) and " BLOCK OF " not in a]
    assert sum(" BLOCK OF " in a for a in addresses) > 100
    assert rows[0]["phone_number"] == "773-205-7862"  # accepted: as it was
    decided = office.decisions(dataset_id)
    assert {c: d.action for c, d in decided.items()} == {
        "contact_email": "hash",
        "address": "generalize",
        "phone_number": "accept",
    }
    assert decided["phone_number"].reason == PHONE_REASON
    assert {d.decided_by for d in decided.values()} == {"health@city.example"}
    assert all(d.applied for d in decided.values())
    assert sorted(e.detail["column"] for e in office.events("privacy.decide")) == [
        "address",
        "contact_email",
        "phone_number",
    ]
    assert office.events("privacy.apply")[0].actor == "health@city.example"
    after = office.get("health", f"{url}?saved=applied").text
    assert "The privacy decisions are saved and applied" in after
    assert 'id="privacy-title"' not in after  # nothing left to review

    # Now it can go public: the Health department needs an approver, the admin.
    asked = office.post("health", url + "/audience", {"audience": "public"})
    assert asked.headers["location"] == f"{url}?saved=draft"
    office.post("health", url + "/draft/submit", {})
    approved = office.post("admin", url + "/approve", {})
    assert approved.status_code == 303, approved.text
    assert office.record(dataset_id).audience == "public"


def test_bad_choices_are_400_beside_their_field_and_record_nothing(office: Office) -> None:
    dataset_id = office.housing()
    url = f"/manage/d/{dataset_id}/privacy"

    no_reason = office.post("health", url, {**RESOLVED, "privacy-phone_number-reason": ""})
    assert no_reason.status_code == 400
    assert 'id="f-privacy-phone_number-reason-error"' in no_reason.text
    assert "Column “Phone Number”: Say why this column may be published" in no_reason.text
    assert 'value="hash" checked' in no_reason.text  # what was chosen is kept

    emails_generalized = office.post(
        "health", url, {**RESOLVED, "privacy-contact_email-action": "generalize"}
    )
    assert emails_generalized.status_code == 400
    assert 'id="f-privacy-contact_email-action-error"' in emails_generalized.text

    unknown = office.post("health", url, {**RESOLVED, "privacy-zip_code-action": "drop"})
    assert unknown.status_code == 400
    assert 'href="#f-privacy"' in unknown.text
    assert "nothing to decide about “zip_code”" in unknown.text

    nothing = office.post("health", url, {})
    assert nothing.status_code == 400
    assert "Choose what to do with at least one column." in nothing.text

    assert office.decisions(dataset_id) == {}
    assert office.events("privacy.decide") == []
    assert EMAIL.fullmatch(office.stored(dataset_id)[0]["contact_email"])


def test_who_may_resolve(office: Office) -> None:
    private = office.housing()
    internal = office.housing("internal")
    assert office.post("police", f"/manage/d/{private}/privacy", RESOLVED).status_code == 404
    assert office.post("viewer", f"/manage/d/{internal}/privacy", RESOLVED).status_code == 403
    assert office.post("police", f"/manage/d/{internal}/privacy", RESOLVED).status_code == 403
    office.client.cookies.clear()
    anonymous = office.client.post(f"/manage/d/{private}/privacy", data=RESOLVED)
    assert anonymous.status_code == 401
    no_token = office.post("health", f"/manage/d/{private}/privacy", RESOLVED, csrf=False)
    assert no_token.status_code == 403
    assert office.decisions(private) == office.decisions(internal) == {}
    assert office.events("privacy.decide") == []


def test_decisions_made_elsewhere_are_applied_from_the_page_through_the_draft(
    office: Office,
) -> None:
    accepted = {
        "contact_email": Choice("accept", "Leasing inboxes"),
        "address": Choice("accept", "Buildings, not homes"),
        "phone_number": Choice("accept", PHONE_REASON),
    }
    dataset_id = office.housing("public", **accepted)
    with office.engine.begin() as conn:  # `civicport privacy decide … contact_email hash`
        store.decide(conn, dataset_id, "contact_email", "hash", reason="", actor="cli")
    url = f"/manage/d/{dataset_id}"
    page = office.get("health", url).text
    assert "Decided, not yet applied to the stored rows" in page
    assert "Column Contact Email: hash the values (decided by cli)" in page
    assert "Apply the decisions to the stored rows" in page

    done = office.post("health", url + "/privacy", {})

    # A publisher's change to a public dataset waits for an approver; the live rows wait too.
    assert done.headers["location"] == f"{url}?saved=draft"
    assert EMAIL.fullmatch(office.stored(dataset_id)[0]["contact_email"])
    with office.engine.connect() as conn:
        assert drafts.get_draft(conn, dataset_id).row_count == ROWS
    office.post("health", url + "/draft/submit", {})
    assert office.post("admin", url + "/approve", {}).status_code == 303
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["contact_email"]) for r in office.stored(dataset_id))
    with office.engine.connect() as conn:
        assert unresolved(conn, dataset_id) == []


def test_rows_that_cannot_change_keep_the_decisions_and_say_why(office: Office) -> None:
    dataset_id = office.housing("public", contact_email=Choice("accept", "Leasing inboxes"),
                                address=Choice("accept", "Buildings, not homes"),
                                phone_number=Choice("accept", PHONE_REASON))  # fmt: skip
    url = f"/manage/d/{dataset_id}"
    with office.engine.begin() as conn:
        store.decide(conn, dataset_id, "contact_email", "hash", reason="", actor="cli")
    # A draft with new data: applying to the live rows would throw its rows away.
    table = ParsedTable(columns=COLUMNS, rows=iter(housing_rows()[:10]))
    with office.engine.connect() as conn:
        health = user_by_id(conn, office.ids["health"])
    drafts.edit_dataset(office.engine, office.settings, health, dataset_id, table=table)

    refused = office.post("health", url + "/privacy", {})

    assert refused.status_code == 409
    assert "The decisions are saved, but the stored rows could not be changed yet" in refused.text
    assert "has a draft with new data" in refused.text
    assert not office.decisions(dataset_id)["contact_email"].applied
