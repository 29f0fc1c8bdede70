"""The SODA Producer API: upsert, replace and delete rows with an API key, on both backends."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from civicport.app import create_app
from civicport.auth.accounts import create_user
from civicport.auth.keys import create_key
from civicport.catalog import store
from civicport.config import Settings

MakeDataset = Callable[..., str]
Auth = tuple[str, str]

CASES = [("case_id", "text"), ("name", "text"), ("score", "number"),
         ("opened", "floating_timestamp"), ("kind", "text"), ("open", "checkbox"),
         ("location", "point")]  # fmt: skip
CASE_ROWS = [
    ("C1", "First", 10, None, "pothole", True, (-72.68, 41.76)),
    ("C2", "Second", 20, None, "graffiti", False, None),
    ("C3", "Third", None, None, "pothole", None, None),
]
COUNTERS = {"By RowIdentifier", "Rows Updated", "Rows Deleted", "Rows Created", "Errors", "By SID"}


def make_key(engine: sa.Engine, email: str, role: str, department: str | None = None) -> Auth:
    with engine.begin() as conn:
        create_user(conn, email=email, role=role, department=department)
        return create_key(conn, email=email)


@pytest.fixture
def admin(engine: sa.Engine) -> Auth:
    return make_key(engine, "admin@city.example", "admin")


@pytest.fixture
def cases(make_dataset: MakeDataset) -> str:
    """A public dataset of service requests identified by case_id, owned by Public Works."""
    return make_dataset(CASES, CASE_ROWS, row_identifier="case_id", department="Public Works")


def rows(client: TestClient, dataset: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(f"/resource/{dataset}.json", params={"$order": ":id", **params})
    assert response.status_code == 200, response.text
    return response.json()


def by_case(client: TestClient, dataset: str) -> dict[str, dict[str, Any]]:
    return {row["case_id"]: row for row in rows(client, dataset)}


def version(engine: sa.Engine, dataset: str) -> tuple[int, int]:
    with engine.connect() as conn:
        record = store.get_dataset(conn, dataset)
    return record.data_version, record.row_count


def post(client: TestClient, path: str, body: Any, auth: Auth | None, **kw: Any) -> Any:
    content = body if isinstance(body, str | bytes) else orjson.dumps(body)
    return client.post(path, content=content, auth=auth, **kw)


def test_json_upsert_updates_only_the_fields_sent_and_counts(
    client: TestClient, engine: sa.Engine, cases: str, admin: Auth
) -> None:
    before = version(engine, cases)
    payload = [
        {"case_id": "C1", "score": "11"},
        {"case_id": "C9", "name": "Ninth", "score": 9.25, "opened": "2024-03-01T08:30:00",
         "open": True, "location": {"type": "Point", "coordinates": [-72.6, 41.7]}},
        {"case_id": "C3", "name": None},
    ]  # fmt: skip
    response = post(client, f"/resource/{cases}.json", payload, admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"By RowIdentifier": 2, "Rows Updated": 2, "Rows Deleted": 0,
                               "Rows Created": 1, "Errors": 0, "By SID": 0}  # fmt: skip
    assert list(response.json()) == ["By RowIdentifier", "Rows Updated", "Rows Deleted",
                                     "Rows Created", "Errors", "By SID"]  # fmt: skip
    got = by_case(client, cases)
    assert got["C1"]["score"] == "11"
    assert got["C1"]["name"] == "First"  # not sent: unchanged
    assert got["C1"]["location"] == {"type": "Point", "coordinates": [-72.68, 41.76]}
    assert "name" not in got["C3"]  # explicit null clears it
    assert got["C3"]["kind"] == "pothole"
    assert got["C9"] == {
        "case_id": "C9", "name": "Ninth", "score": "9.25", "opened": "2024-03-01T08:30:00.000",
        "open": True, "location": {"type": "Point", "coordinates": [-72.6, 41.7]},
    }  # fmt: skip
    assert version(engine, cases) == (before[0] + 1, 4)


def test_single_object_body_and_no_content_type(
    client: TestClient, cases: str, admin: Auth
) -> None:
    # sodapy sends JSON without a Content-Type header, to the path without extension too.
    response = post(client, f"/resource/{cases}", {"case_id": "C2", "score": 21}, admin)
    assert response.status_code == 200, response.text
    assert response.json()["Rows Updated"] == 1
    assert by_case(client, cases)["C2"]["score"] == "21"


def test_csv_upsert_empty_cell_sets_null(client: TestClient, cases: str, admin: Auth) -> None:
    body = 'case_id,name,score,location\nC1,,12,"POINT (-72.5 41.5)"\nC4,"Fourth, new",4,\n'
    response = post(client, f"/resource/{cases}", body, admin,
                    headers={"Content-Type": "text/csv"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["Rows Created"] == 1
    assert response.json()["Rows Updated"] == 1
    got = by_case(client, cases)
    assert "name" not in got["C1"]
    assert got["C1"]["score"] == "12"
    assert got["C1"]["kind"] == "pothole"
    assert got["C1"]["location"] == {"type": "Point", "coordinates": [-72.5, 41.5]}
    assert got["C4"] == {"case_id": "C4", "name": "Fourth, new", "score": "4"}


def test_deleted_rows_and_missing_ones_count_as_errors(
    client: TestClient, engine: sa.Engine, cases: str, admin: Auth
) -> None:
    payload = [
        {"case_id": "C2", ":deleted": True},
        {"case_id": "nope", ":deleted": True},
        {"case_id": "C5", "name": "Fifth", ":deleted": False},
    ]
    response = post(client, f"/resource/{cases}.json", payload, admin)
    assert response.status_code == 200, response.text
    assert response.json() == {"By RowIdentifier": 1, "Rows Updated": 0, "Rows Deleted": 1,
                               "Rows Created": 1, "Errors": 1, "By SID": 0}  # fmt: skip
    assert sorted(by_case(client, cases)) == ["C1", "C3", "C5"]
    assert version(engine, cases)[1] == 3
    csv_body = "case_id,:deleted\nC1,true\nC3,false\n"
    response = post(client, f"/resource/{cases}.json", csv_body, admin,
                    headers={"Content-Type": "text/csv; charset=utf-8"})  # fmt: skip
    assert response.json()["Rows Deleted"] == 1
    assert sorted(by_case(client, cases)) == ["C3", "C5"]


def test_summary_follows_upserts_and_deletes(
    client: TestClient, make_dataset: MakeDataset, admin: Auth
) -> None:
    data = [(f"C{i}", "pothole" if i % 3 else "graffiti") for i in range(300)]
    dataset = make_dataset([("case_id", "text"), ("kind", "text")], data,
                           row_identifier="case_id")  # fmt: skip
    payload = [{"case_id": "C1", "kind": "litter"}, {"case_id": "new", "kind": "litter"},
               {"case_id": "C0", ":deleted": True}]  # fmt: skip
    assert post(client, f"/resource/{dataset}.json", payload, admin).status_code == 200
    grouped = client.get(f"/resource/{dataset}.json",
                         params={"$select": "kind, count(*) AS n", "$group": "kind",
                                 "$order": "kind"}).json()  # fmt: skip
    assert [(g["kind"], int(g["n"])) for g in grouped] == [
        ("graffiti", 99), ("litter", 2), ("pothole", 199)
    ]  # fmt: skip
    count = client.get(f"/resource/{dataset}.json", params={"$select": "count(*)"}).json()
    assert int(count[0]["count"]) == 300


def test_append_when_no_row_identifier(
    client: TestClient, engine: sa.Engine, make_dataset: MakeDataset, admin: Auth
) -> None:
    dataset = make_dataset([("name", "text"), ("score", "number")], [("a", 1)])
    payload = [{"name": "b"}, {"score": "3"}]
    response = post(client, f"/resource/{dataset}.json", payload, admin)
    assert response.json() == {"By RowIdentifier": 0, "Rows Updated": 0, "Rows Deleted": 0,
                               "Rows Created": 2, "Errors": 0, "By SID": 0}  # fmt: skip
    assert rows(client, dataset) == [{"name": "a", "score": "1"}, {"name": "b"}, {"score": "3"}]
    response = post(client, f"/resource/{dataset}.json", [{"name": "a", ":deleted": True}], admin)
    assert response.status_code == 400
    assert response.json()["code"] == "soda.row.delete-without-primary-key"
    assert version(engine, dataset)[1] == 3


def test_put_replaces_every_row_and_keeps_the_columns(
    client: TestClient, engine: sa.Engine, cases: str, admin: Auth
) -> None:
    columns_before = client.get(f"/api/views/{cases}.json").json()["columns"]
    payload = [{"case_id": "R1", "name": "Only", "score": 1}, {"case_id": "R2"}]
    response = client.put(f"/resource/{cases}.json", content=orjson.dumps(payload), auth=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {"By RowIdentifier": 0, "Rows Updated": 0, "Rows Deleted": 3,
                               "Rows Created": 2, "Errors": 0, "By SID": 0}  # fmt: skip
    assert rows(client, cases) == [
        {"case_id": "R1", "name": "Only", "score": "1"},
        {"case_id": "R2"},
    ]
    columns_after = client.get(f"/api/views/{cases}.json").json()["columns"]
    assert [c["fieldName"] for c in columns_after] == [c["fieldName"] for c in columns_before]
    # Still upserts by the same identifier.
    response = post(client, f"/resource/{cases}", [{"case_id": "R2", "name": "Two"}], admin)
    assert response.json()["Rows Updated"] == 1
    csv_body = "case_id,name\nX1,From CSV\n"
    response = client.put(f"/resource/{cases}", content=csv_body, auth=admin,
                          headers={"Content-Type": "text/csv"})  # fmt: skip
    assert response.json()["Rows Created"] == 1
    assert rows(client, cases) == [{"case_id": "X1", "name": "From CSV"}]
    assert version(engine, cases)[1] == 1


def test_delete_one_row_by_identifier_or_system_id(
    client: TestClient, engine: sa.Engine, cases: str, admin: Auth
) -> None:
    before = version(engine, cases)
    response = client.delete(f"/resource/{cases}/C2.json", auth=admin)
    assert response.status_code == 200, response.text
    assert response.json() == [{"typ": "delete", "id": response.json()[0]["id"]}]
    assert response.json()[0]["id"].startswith("row-")
    assert sorted(by_case(client, cases)) == ["C1", "C3"]
    assert version(engine, cases) == (before[0] + 1, 2)
    row_id = rows(client, cases, **{"$select": ":id, case_id"})[0][":id"]
    assert client.delete(f"/resource/{cases}/{row_id}", auth=admin).json() == [
        {"typ": "delete", "id": row_id}
    ]
    assert sorted(by_case(client, cases)) == ["C3"]
    for missing in ("C2", "row-zzzz", "nothing"):
        response = client.delete(f"/resource/{cases}/{missing}.json", auth=admin)
        assert response.status_code == 404
        assert response.json()["code"] == "soda.row.not-found"
    assert version(engine, cases) == (before[0] + 2, 1)


def test_delete_by_number_identifier_and_without_identifier(
    client: TestClient, make_dataset: MakeDataset, admin: Auth
) -> None:
    numbered = make_dataset([("n", "number"), ("v", "text")], [(1, "a"), (2, "b")],
                            row_identifier="n")  # fmt: skip
    assert client.delete(f"/resource/{numbered}/2", auth=admin).status_code == 200
    assert client.delete(f"/resource/{numbered}/x.json", auth=admin).status_code == 404
    assert rows(client, numbered) == [{"n": "1", "v": "a"}]
    plain = make_dataset([("v", "text")], [("a",), ("b",)])
    first = rows(client, plain, **{"$select": ":id"})[0][":id"]
    assert client.delete(f"/resource/{plain}/{first}.json", auth=admin).status_code == 200
    assert rows(client, plain) == [{"v": "b"}]


# --- errors ------------------------------------------------------------------------------------


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == body["errorCode"] == code
    assert body["error"] is True
    assert response.headers["x-error-code"] == code
    return body


def test_unknown_column_names_it(
    client: TestClient, engine: sa.Engine, cases: str, admin: Auth
) -> None:
    before = version(engine, cases)
    payload = [{"case_id": "C1", "score": 1}, {"case_id": "C7", "colour": "red"}]
    body = assert_error(post(client, f"/resource/{cases}.json", payload, admin), 400,
                        "soda.row.column-not-found")  # fmt: skip
    assert "colour" in body["message"]
    assert body["data"]["column"] == "colour"
    response = post(client, f"/resource/{cases}", "case_id,colour\nC1,red\n", admin,
                    headers={"Content-Type": "text/csv"})  # fmt: skip
    assert "colour" in assert_error(response, 400, "soda.row.column-not-found")["message"]
    assert version(engine, cases) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("score", "lots"), ("opened", "yesterday"), ("open", "maybe"), ("location", "nowhere")],
)
def test_maltyped_value_names_row_and_column(
    client: TestClient, cases: str, admin: Auth, field: str, value: str
) -> None:
    payload = [{"case_id": "C1"}, {"case_id": "C2", field: value}]
    body = assert_error(post(client, f"/resource/{cases}.json", payload, admin), 400,
                        "soda.column.maltyped")  # fmt: skip
    assert body["data"]["row"] == 2
    assert body["data"]["column"] == field
    assert "Row 2" in body["message"]
    assert field in body["message"]


@pytest.mark.parametrize("body", ['[{"case_id": "C1"', "{'a': 1}", "[NaN]", "", "\xff"])
def test_malformed_json(client: TestClient, cases: str, admin: Auth, body: str) -> None:
    response = post(client, f"/resource/{cases}.json", body.encode("latin-1"), admin)
    assert_error(response, 400, "req.body.malformed-json")


def test_rows_must_be_objects(client: TestClient, cases: str, admin: Auth) -> None:
    for body in ([1, 2], "3", [{"case_id": "C1"}, ["C2"]]):
        response = post(client, f"/resource/{cases}.json", body, admin)
        assert_error(response, 400, "soda.row.upsert-row-not-an-object")


def test_missing_or_repeated_identifier(client: TestClient, cases: str, admin: Auth) -> None:
    response = post(client, f"/resource/{cases}.json", [{"name": "no id"}], admin)
    assert_error(response, 400, "soda.row.primary-key-nonexistent-or-null")
    response = post(client, f"/resource/{cases}.json", [{"case_id": None, "name": "x"}], admin)
    assert_error(response, 400, "soda.row.primary-key-nonexistent-or-null")
    payload = [{"case_id": "C1", "name": "a"}, {"case_id": "C1", "score": 2}]
    response = post(client, f"/resource/{cases}.json", payload, admin)
    assert response.status_code == 400
    assert "C1" in response.json()["message"]


def test_unsupported_content_type(client: TestClient, cases: str, admin: Auth) -> None:
    response = post(client, f"/resource/{cases}.json", "<rows/>", admin,
                    headers={"Content-Type": "application/xml"})  # fmt: skip
    assert_error(response, 415, "req.content-type.not-json")


@pytest.mark.parametrize(
    "auth_header",
    [None, "Basic " + base64.b64encode(b"cpk_nobody:secret").decode(), "Basic !!!",
     "Bearer abc", "Basic " + base64.b64encode(b"no-colon").decode()],
)  # fmt: skip
def test_no_or_wrong_credentials_401(
    client: TestClient, engine: sa.Engine, cases: str, auth_header: str | None
) -> None:
    headers = {"Authorization": auth_header} if auth_header else {}
    for response in (
        client.post(f"/resource/{cases}.json", content=b"[]", headers=headers),
        client.put(f"/resource/{cases}", content=b"[]", headers=headers),
        client.delete(f"/resource/{cases}/C1.json", headers=headers),
        client.post("/resource/zzzz-zzzz.json", content=b"[]", headers=headers),
    ):
        assert_error(response, 401, "authentication_required")
        assert response.headers["www-authenticate"] == 'Basic realm="civicport"'
    assert version(engine, cases)[1] == 3


def test_wrong_secret_401(client: TestClient, engine: sa.Engine, cases: str, admin: Auth) -> None:
    response = post(client, f"/resource/{cases}.json", [], (admin[0], admin[1] + "x"))
    assert_error(response, 401, "authentication_required")


def test_not_allowed_to_write_403(
    client: TestClient, engine: sa.Engine, cases: str, make_dataset: MakeDataset
) -> None:
    viewer = make_key(engine, "viewer@city.example", "viewer", "Public Works")
    parks = make_key(engine, "parks@city.example", "publisher", "Parks")
    works = make_key(engine, "works@city.example", "publisher", "Public Works")
    payload = [{"case_id": "C1", "name": "changed"}]
    for auth in (viewer, parks):
        assert_error(post(client, f"/resource/{cases}.json", payload, auth), 403,
                     "permission_denied")  # fmt: skip
        response = client.put(f"/resource/{cases}.json", content=orjson.dumps(payload), auth=auth)
        assert_error(response, 403, "permission_denied")
        assert_error(client.delete(f"/resource/{cases}/C1", auth=auth), 403, "permission_denied")
    assert by_case(client, cases)["C1"]["name"] == "First"
    # The department's own publisher may.
    assert post(client, f"/resource/{cases}.json", payload, works).status_code == 200
    assert by_case(client, cases)["C1"]["name"] == "changed"


def test_invisible_dataset_is_404_like_a_missing_one(
    client: TestClient, engine: sa.Engine, make_dataset: MakeDataset, admin: Auth
) -> None:
    secret = make_dataset(CASES, CASE_ROWS, row_identifier="case_id", audience="private",
                          department="Police")  # fmt: skip
    parks = make_key(engine, "parks@city.example", "publisher", "Parks")
    hidden = post(client, f"/resource/{secret}.json", [{"case_id": "C1"}], parks)
    absent = post(client, "/resource/zzzz-zzzz.json", [{"case_id": "C1"}], parks)
    assert_error(hidden, 404, "dataset.missing")
    assert_error(absent, 404, "dataset.missing")
    assert hidden.json()["message"] == absent.json()["message"]
    assert_error(client.delete(f"/resource/{secret}/C1", auth=parks), 404, "dataset.missing")
    assert_error(post(client, "/resource/not-an-id.json", [], parks), 404, "dataset.missing")
    # An admin sees and writes it.
    response = post(client, f"/resource/{secret}.json", [{"case_id": "C1", "name": "x"}], admin)
    assert response.json()["Rows Updated"] == 1


@pytest.fixture
def small_client(settings: Settings, engine: sa.Engine) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"max_upload_bytes": 200}))
    with TestClient(app) as client:
        yield client


def test_body_too_large_413(
    small_client: TestClient, engine: sa.Engine, cases: str, admin: Auth
) -> None:
    payload = [{"case_id": f"C{i}", "name": "x" * 20} for i in range(20)]
    response = post(small_client, f"/resource/{cases}.json", payload, admin)
    assert_error(response, 413, "req.body.too-large")

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield orjson.dumps(payload)

    response = small_client.post(f"/resource/{cases}.json", content=chunked(), auth=admin)
    assert_error(response, 413, "req.body.too-large")
    assert version(engine, cases)[1] == 3
    small = post(small_client, f"/resource/{cases}.json", [{"case_id": "C1", "score": 3}], admin)
    assert small.status_code == 200


def test_ten_thousand_rows_with_one_bad_value_change_nothing(
    client: TestClient, engine: sa.Engine, make_dataset: MakeDataset, admin: Auth
) -> None:
    data = [(f"C{i}", i, "pothole") for i in range(5000)]
    dataset = make_dataset([("case_id", "text"), ("score", "number"), ("kind", "text")], data,
                           row_identifier="case_id")  # fmt: skip
    before_rows = rows(client, dataset, **{"$limit": "20000", "$select": ":*, *"})
    before = version(engine, dataset)
    payload: list[dict[str, Any]] = [
        {"case_id": f"C{i}", "score": i + 1, "kind": "fixed"} for i in range(10_000)
    ]
    payload[4999]["score"] = "five thousand"
    body = assert_error(post(client, f"/resource/{dataset}.json", payload, admin), 400,
                        "soda.column.maltyped")  # fmt: skip
    assert body["data"] == {"row": 5000, "column": "score", "type": "number"}
    assert "Row 5,000" in body["message"]
    assert version(engine, dataset) == before
    assert rows(client, dataset, **{"$limit": "20000", "$select": ":*, *"}) == before_rows
    payload[4999] = {"case_id": "C1", "kind": "again"}  # a repeated identifier
    response = post(client, f"/resource/{dataset}.json", payload, admin)
    assert response.status_code == 400
    assert "C1" in response.json()["message"]
    assert version(engine, dataset) == before
    # And without the bad row, all of it applies.
    payload[4999] = {"case_id": "C4999", "score": 5000, "kind": "fixed"}
    response = post(client, f"/resource/{dataset}.json", payload, admin)
    assert response.json()["Rows Updated"] == 5000
    assert response.json()["Rows Created"] == 5000
    assert version(engine, dataset) == (before[0] + 1, 10_000)


def test_failure_after_a_first_group_is_applied_rolls_it_back(
    client: TestClient, engine: sa.Engine, cases: str, admin: Auth,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from civicport.catalog import service

    calls = []
    real = service.upsert_rows

    def failing_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "upsert_rows", failing_second)
    before, before_rows = version(engine, cases), rows(client, cases)
    payload = [{"case_id": "C1", "name": "changed"}, {"case_id": "C2", "score": 5},
               {"case_id": "C8", "name": "new"}]  # fmt: skip
    with TestClient(client.app, raise_server_exceptions=False) as quiet:
        response = post(quiet, f"/resource/{cases}.json", payload, admin)
    assert response.status_code == 500
    assert len(calls) == 2
    assert version(engine, cases) == before
    assert rows(client, cases) == before_rows


def test_paths_with_dots_and_other_extensions(
    client: TestClient, make_dataset: MakeDataset, admin: Auth
) -> None:
    dataset = make_dataset([("code", "text")], [("1.5",), ("2",)], row_identifier="code")
    assert client.delete(f"/resource/{dataset}/1.5", auth=admin).status_code == 200
    assert rows(client, dataset) == [{"code": "2"}]
    response = post(client, f"/resource/{dataset}.csv", [{"code": "3"}], admin)
    assert_error(response, 404, "dataset.missing")
    response = post(client, f"/resource/{dataset}?fmt=csv", [{"code": "3"}], admin)
    assert response.status_code == 200
