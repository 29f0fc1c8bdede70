"""The real sodapy client writing through the Producer API of a real uvicorn server (loopback)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
import requests
import sqlalchemy as sa
from sodapy import Socrata
from test_producer import CASE_ROWS, CASES, make_key
from test_sodapy import running

from civicport.app import create_app
from civicport.config import Settings

MakeDataset = Callable[..., str]
ADAPTER = {"prefix": "http://", "adapter": requests.adapters.HTTPAdapter()}


@pytest.fixture
def domain(settings: Settings, engine: sa.Engine) -> Iterator[str]:
    with running(create_app(settings)) as served:
        yield served


@pytest.fixture
def cases(make_dataset: MakeDataset) -> str:
    return make_dataset(CASES, CASE_ROWS, row_identifier="case_id", department="Public Works")


@pytest.fixture
def writer(domain: str, engine: sa.Engine) -> Iterator[Socrata]:
    key_id, secret = make_key(engine, "works@city.example", "publisher", "Public Works")
    with Socrata(domain, None, username=key_id, password=secret, session_adapter=ADAPTER) as c:
        yield c


def names(client: Socrata, dataset: str) -> dict[str, str | None]:
    return {r["case_id"]: r.get("name") for r in client.get(dataset, order="case_id")}


def test_upsert_json_and_csv(writer: Socrata, cases: str) -> None:
    result = writer.upsert(cases, [{"case_id": "C1", "name": "Renamed"},
                                   {"case_id": "C4", "name": "Fourth", "score": 4}])  # fmt: skip
    assert result == {"By RowIdentifier": 1, "Rows Updated": 1, "Rows Deleted": 0,
                      "Rows Created": 1, "Errors": 0, "By SID": 0}  # fmt: skip
    # A file object is streamed as text/csv.
    result = writer.upsert(cases, io.StringIO("case_id,name,:deleted\nC5,Fifth,false\nC2,,true\n"))
    assert (result["Rows Created"], result["Rows Deleted"]) == (1, 1)
    assert names(writer, cases) == {"C1": "Renamed", "C3": "Third", "C4": "Fourth",
                                    "C5": "Fifth"}  # fmt: skip


def test_replace(writer: Socrata, cases: str) -> None:
    result = writer.replace(cases, [{"case_id": "N1", "name": "New"}])
    assert result["Rows Created"] == 1
    assert result["Rows Deleted"] == 3
    assert names(writer, cases) == {"N1": "New"}


def test_delete_row(writer: Socrata, cases: str) -> None:
    response = writer.delete(cases, row_id="C2")
    assert response == [{"typ": "delete", "id": response[0]["id"]}]
    assert sorted(names(writer, cases)) == ["C1", "C3"]
    with pytest.raises(requests.HTTPError, match="404"):
        writer.delete(cases, row_id="C2")


def test_errors_reach_the_caller(domain: str, writer: Socrata, cases: str) -> None:
    with pytest.raises(requests.HTTPError, match="(?s)400.*colour"):
        writer.upsert(cases, [{"case_id": "C1", "colour": "red"}])
    anonymous = Socrata(domain, None, session_adapter=ADAPTER)
    with anonymous, pytest.raises(requests.HTTPError, match="401"):
        anonymous.upsert(cases, [{"case_id": "C1", "name": "x"}])
    wrong = Socrata(domain, None, username="cpk_x", password="y", session_adapter=ADAPTER)
    with wrong, pytest.raises(requests.HTTPError, match="401"):
        wrong.replace(cases, [])
    assert names(writer, cases)["C1"] == "First"


def test_other_departments_publisher_is_refused(domain: str, engine: sa.Engine, cases: str) -> None:
    key_id, secret = make_key(engine, "parks@city.example", "publisher", "Parks")
    with Socrata(domain, None, username=key_id, password=secret, session_adapter=ADAPTER) as c:
        with pytest.raises(requests.HTTPError, match="403"):
            c.upsert(cases, [{"case_id": "C1", "name": "x"}])
        with pytest.raises(requests.HTTPError, match="403"):
            c.delete(cases, row_id="C1")


def test_served_app_is_the_one_under_test(domain: str) -> None:
    # Guards the fixture: writes above went to this server, not an in-process client.
    assert requests.get(f"http://{domain}/resource/zzzz-zzzz.json", timeout=5).status_code == 404
