"""Producer API writes pass the privacy guard: decisions apply to the rows written, and personal
data no decision covers is refused from a public dataset (409 in SODA's error shape, nothing
written). Real files, both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from civicport.auth.accounts import create_user
from civicport.auth.keys import create_key
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_file
from civicport.catalog.store import get_dataset
from civicport.privacy import store
from civicport.privacy.decisions import Choice, PrivacyUnresolved
from civicport.privacy.guard import check_publishable
from civicport.privacy.transforms import hash_value

Auth = tuple[str, str]
SALARY_REASON = "Salaries of city employees are public record"


@pytest.fixture
def admin(engine: sa.Engine) -> Auth:
    with engine.begin() as conn:
        create_user(conn, email="admin@city.example", role="admin")
        return create_key(conn, email="admin@city.example")


def load_employees(engine: sa.Engine, path: Path, *, audience: str = "public") -> str:
    """The employees, public, names hashed, departments dropped, salaries accepted."""
    return import_file(
        engine,
        path,
        metadata=DatasetMetadata(title="Employees", audience=audience),
        privacy_decisions={
            "name": Choice("hash"),
            "department": Choice("drop"),
            "employee_annual_salary": Choice("accept", SALARY_REASON),
        },
        decided_by="cli",
    ).dataset_id


def state(engine: sa.Engine, dataset_id: str) -> tuple[int, int]:
    with engine.connect() as conn:
        record = get_dataset(conn, dataset_id)
    return record.data_version, record.row_count


def post(client: TestClient, dataset_id: str, body: Any, auth: Auth) -> Any:
    return client.post(f"/resource/{dataset_id}.json", content=orjson.dumps(body), auth=auth)


def test_an_email_in_a_column_without_a_finding_is_refused_and_nothing_is_written(
    client, engine, employees, admin, stored
) -> None:
    dataset_id = load_employees(engine, employees)
    before = state(engine, dataset_id)
    rows = [
        {"name": f"DOE,  JANE {i}", "position_title": f"clerk{i}@cityofchicago.org"}
        for i in range(4)
    ]

    response = post(client, dataset_id, rows, admin)

    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == body["errorCode"] == "privacy.unresolved"
    assert body["error"] is True
    assert response.headers["x-error-code"] == "privacy.unresolved"
    assert f"Dataset '{dataset_id}' is public" in body["message"]
    assert "[position_title: email]" in body["message"]
    assert "clerk0" not in body["message"]  # the error never repeats the personal data
    assert body["data"]["unresolved"][0]["column"] == "position_title"
    assert body["data"]["unresolved"][0]["kind"] == "email"
    assert state(engine, dataset_id) == before
    assert not [r for r in stored(dataset_id, "position_title") if "@" in (r[0] or "")]
    with engine.connect() as conn:
        assert [f.kind for f in store.findings(conn, dataset_id)] == ["person_name"]


def test_written_rows_go_through_the_decisions(client, engine, employees, admin, stored) -> None:
    dataset_id = load_employees(engine, employees)
    row = {
        "name": "DOE,  JANE Q",
        "position_title": "CLERK",
        "department": "FINANCE",  # a dropped column: ignored, never stored
        "employee_annual_salary": "50000",
    }

    response = post(client, dataset_id, [row], admin)

    assert response.status_code == 200, response.text
    assert response.json()["Rows Created"] == 1
    with engine.connect() as conn:
        salt = store.dataset_salt(conn, dataset_id)
        columns = [c.field_name for c in get_dataset(conn, dataset_id).columns]
    assert "department" not in columns
    assert stored(dataset_id, "name", "position_title")[-1] == (
        hash_value("DOE,  JANE Q", salt=salt),
        "CLERK",
    )
    listed = client.get(f"/resource/{dataset_id}.json", params={"$where": "position_title='CLERK'"})
    assert "DOE" not in listed.text


def test_a_put_replace_hashes_the_names_again(client, engine, employees, admin, stored) -> None:
    dataset_id = load_employees(engine, employees)
    rows = [
        {"name": "AARON,  ELVIA J", "position_title": "WATER RATE TAKER"},
        {"name": "ROE,  RICHARD", "position_title": "CLERK"},
    ]

    response = client.put(f"/resource/{dataset_id}.json", content=orjson.dumps(rows), auth=admin)

    assert response.status_code == 200, response.text
    with engine.connect() as conn:
        salt = store.dataset_salt(conn, dataset_id)
    first = stored(dataset_id, "name")[0][0]
    assert first == hash_value("AARON,  ELVIA J", salt=salt)
    assert [r[0] for r in stored(dataset_id, "name")] == [
        hash_value(r["name"], salt=salt) for r in rows
    ]


def test_an_upsert_into_a_generalised_address_column_stores_the_hundred_block(
    client, engine, potholes, admin, stored
) -> None:
    dataset_id = import_file(
        engine,
        potholes,
        metadata=DatasetMetadata(title="Potholes", category="Transportation", audience="public"),
        row_identifier="case_id",
        type_overrides={"zip_code": "text", "parcel_id_no": "text"},
        privacy_decisions={"street_address": Choice("generalize")},
        decided_by="cli",
    ).dataset_id

    response = post(
        client,
        dataset_id,
        [
            {"case_id": 2020002530, "street_address": "4917 E 63rd St Apt 2"},
            {"case_id": 9999999999, "street_address": "118 W 9th St"},
        ],
        admin,
    )

    assert response.status_code == 200, response.text
    assert (response.json()["Rows Updated"], response.json()["Rows Created"]) == (1, 1)
    kept = dict(stored(dataset_id, "case_id", "street_address"))
    assert kept[2020002530] == "4900 BLOCK OF E 63RD ST"
    assert kept[9999999999] == "100 BLOCK OF W 9TH ST"


def test_a_private_dataset_takes_the_write_and_then_cannot_be_made_public(
    client, engine, employees, admin
) -> None:
    dataset_id = load_employees(engine, employees, audience="private")
    rows = [{"name": f"DOE,  JANE {i}", "position_title": f"c{i}@example.org"} for i in range(4)]

    response = post(client, dataset_id, rows, admin)

    assert response.status_code == 200, response.text
    with engine.connect() as conn, pytest.raises(PrivacyUnresolved, match=r"position_title: email"):
        check_publishable(conn, dataset_id)
