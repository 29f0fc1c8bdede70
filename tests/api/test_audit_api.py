"""The write API and app-token registration are recorded in the audit log; admins read it at
/api/audit.json and /api/audit.csv with an API key; nobody else can."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable

import orjson
import sqlalchemy as sa
from fastapi.testclient import TestClient

from civicport.auth.accounts import create_user
from civicport.auth.audit import list_events
from civicport.auth.keys import create_key

MakeDataset = Callable[..., str]
Auth = tuple[str, str]

CASES = [("case_id", "text"), ("name", "text")]
CASE_ROWS = [("C1", "First"), ("C2", "Second")]


def make_key(engine: sa.Engine, email: str, role: str, department: str | None = None) -> Auth:
    with engine.begin() as conn:
        create_user(conn, email=email, role=role, department=department)
        return create_key(conn, email=email)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["code"] == code


def test_producer_writes_are_recorded_and_admins_read_them(
    client: TestClient, engine: sa.Engine, make_dataset: MakeDataset
) -> None:
    cases = make_dataset(CASES, CASE_ROWS, row_identifier="case_id", department="Works")
    admin = make_key(engine, "boss@city.example", "admin")
    publisher = make_key(engine, "pat@city.example", "publisher", "Works")
    body = orjson.dumps([{"case_id": "C1", "name": "Uno"}, {"case_id": "C9", "name": "Nine"}])
    assert client.post(f"/resource/{cases}.json", content=body, auth=publisher).status_code == 200
    replaced = client.put(f"/resource/{cases}.json", content=b'[{"case_id": "C5"}]', auth=admin)
    assert replaced.status_code == 200, replaced.text
    assert client.delete(f"/resource/{cases}/C5.json", auth=admin).status_code == 200
    # Refused and failed writes leave no event.
    assert client.post(f"/resource/{cases}.json", content=b"[", auth=admin).status_code == 400
    assert client.post(f"/resource/{cases}.json", content=body).status_code == 401

    answer = client.get("/api/audit.json", auth=admin)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert "no-store" in answer.headers["cache-control"]
    events = answer.json()
    assert [e["action"] for e in events] == [
        "dataset.delete_rows",
        "dataset.replace",
        "dataset.upsert",
    ]
    delete, replace, upsert = events
    assert upsert["actor"] == "pat@city.example"
    assert upsert["dataset_id"] == cases
    assert upsert["detail"]["Rows Created"] == 1
    assert upsert["detail"]["Rows Updated"] == 1
    assert upsert["detail"]["key_id"] == publisher[0]
    assert upsert["client"]
    assert replace["actor"] == "boss@city.example"
    assert (replace["detail"]["Rows Created"], replace["detail"]["Rows Deleted"]) == (1, 3)
    assert delete["detail"]["Rows Deleted"] == 1
    assert delete["detail"]["key_id"] == admin[0]

    mine = client.get("/api/audit.json", params={"actor": "pat@city.example"}, auth=admin)
    assert [e["action"] for e in mine.json()] == ["dataset.upsert"]
    assert client.get("/api/audit.json", params={"dataset": "zzzz-9999"}, auth=admin).json() == []
    one = client.get("/api/audit.json", params={"limit": 1, "offset": 1}, auth=admin).json()
    assert [e["action"] for e in one] == ["dataset.replace"]

    exported = client.get("/api/audit.csv", params={"action": "dataset.upsert"}, auth=admin)
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    (row,) = csv.DictReader(io.StringIO(exported.text))
    assert row["actor"] == "pat@city.example"
    assert json.loads(row["detail"])["Rows Created"] == 1

    # Never a secret anywhere in the log.
    everything = client.get("/api/audit.json", auth=admin).text
    for _, secret in (admin, publisher):
        assert secret not in everything


def test_only_admins_may_read_the_log(client: TestClient, engine: sa.Engine) -> None:
    publisher = make_key(engine, "pat@city.example", "publisher", "Works")
    admin_id, _ = make_key(engine, "boss@city.example", "admin")
    for fmt in ("json", "csv"):
        anonymous = client.get(f"/api/audit.{fmt}")
        assert_error(anonymous, 401, "authentication_required")
        assert anonymous.headers["www-authenticate"].startswith("Basic")
        assert_error(client.get(f"/api/audit.{fmt}", auth=(admin_id, "wrong")), 401,
                     "authentication_required")  # fmt: skip
        assert_error(client.get(f"/api/audit.{fmt}", auth=publisher), 403, "permission_denied")


def test_bad_parameters(client: TestClient, engine: sa.Engine) -> None:
    admin = make_key(engine, "boss@city.example", "admin")
    assert_error(client.get("/api/audit.xml", auth=admin), 406, "format.unsupported")
    assert_error(client.get("/api/audit.json", params={"since": "soon"}, auth=admin), 400,
                 "invalid_request")  # fmt: skip
    assert_error(client.get("/api/audit.json", params={"limit": -1}, auth=admin), 400,
                 "invalid_request")  # fmt: skip
    assert client.get("/api/audit.json", params={"since": "2000-01-01"}, auth=admin).json() == []


def test_app_token_registration_is_recorded(client: TestClient, engine: sa.Engine) -> None:
    page = client.get("/developers")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = client.post(
        "/developers/tokens",
        data={"csrf_token": csrf.group(1), "app_name": "Bus times", "email": "dev@example.org"},
    )
    assert answer.status_code == 200, answer.text
    with engine.connect() as conn:
        (event,) = list_events(conn)
    assert (event.actor, event.action) == ("anonymous", "app_token.register")
    assert event.detail == {"app_name": "Bus times", "email": "dev@example.org"}
    assert event.client
    with engine.connect() as conn:
        token = conn.exec_driver_sql("SELECT token FROM app_tokens").scalar_one()
    assert token not in json.dumps(event.as_dict())
