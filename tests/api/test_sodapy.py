"""The real sodapy client against a real uvicorn server on a loopback port."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from fastapi import FastAPI
from sodapy import Socrata

from civicport.api.http_protocol import SodaHttpToolsProtocol
from civicport.app import create_app
from civicport.config import Settings
from loopback import serving

MakeDataset = Callable[..., str]


@contextlib.contextmanager
def running(app: FastAPI, **options: Any) -> Iterator[str]:
    """Serve `app` on loopback (tests/loopback.py); yields '127.0.0.1:PORT', as sodapy wants."""
    with serving(app, **options) as base:
        yield base.removeprefix("http://")


@pytest.fixture
def served(settings: Settings, engine) -> Iterator[tuple[str, FastAPI]]:
    """('127.0.0.1:PORT', app) for a uvicorn server (default options) running the app."""
    app = create_app(settings)
    with running(app) as domain:
        yield domain, app


@pytest.fixture
def socrata(served: tuple[str, FastAPI]) -> Iterator[Socrata]:
    domain, _ = served
    adapter = {"prefix": "http://", "adapter": requests.adapters.HTTPAdapter()}
    with Socrata(domain, None, session_adapter=adapter) as client:
        yield client


def test_get_with_select_where_order(socrata: Socrata, inspections: str) -> None:
    rows = socrata.get(inspections, select="name, score", where="score > 80 OR ratio > 1",
                       order="score DESC")  # fmt: skip
    assert rows == [
        {"name": 'Joe\'s "Diner"', "score": "92"},
        {"name": "Pizza Place", "score": "75.5"},
    ]
    table = socrata.get(inspections, content_type="csv", select="name", order="name")
    assert table == [["name"], ['Joe\'s "Diner"'], ["Pizza Place"], ["Taco Stand"]]
    assert socrata.get(inspections, name="Taco Stand")[0]["name"] == "Taco Stand"


def test_get_all_pages_without_gaps_or_duplicates(
    socrata: Socrata, make_dataset: MakeDataset
) -> None:
    dataset = make_dataset([("n", "number")], [(i,) for i in range(2345)])
    values = [int(row["n"]) for row in socrata.get_all(dataset)]
    assert values == list(range(2345))


def test_get_metadata(socrata: Socrata, inspections: str) -> None:
    view = socrata.get_metadata(inspections)
    assert view["id"] == inspections
    assert view["name"] == "Restaurant inspections"
    assert [c["fieldName"] for c in view["columns"]][:2] == ["name", "score"]


def test_datasets_pages_through_the_catalog(socrata: Socrata, make_dataset: MakeDataset) -> None:
    ids = {make_dataset([("a", "text")], [("x",)], title=f"Set {i}") for i in range(5)}
    make_dataset([("a", "text")], [("x",)], title="Hidden", audience="private")
    assert {d["resource"]["id"] for d in socrata.datasets()} == ids
    assert len(socrata.datasets(limit=2, offset=3)) == 2


def test_errors_reach_sodapy_with_their_message(socrata: Socrata, inspections: str) -> None:
    with pytest.raises(requests.HTTPError, match="No such column"):
        socrata.get(inspections, where="nope = 1")
    with pytest.raises(requests.HTTPError, match="404"):
        socrata.get("abcd-2345")


def test_100kb_query_string_gets_a_clean_answer(settings: Settings, inspections: str) -> None:
    names = ",".join(f"'n{i}'" for i in range(13000))
    params = {"$where": f"name in ({names}, 'Pizza Place')"}
    assert len(params["$where"]) > 100_000
    # The server `civicport serve` runs: httptools cannot read URLs over 64 KB, and says so
    # in SODA's error shape instead of a bare text 400.
    with running(create_app(settings), http=SodaHttpToolsProtocol) as domain:
        url = f"http://{domain}/resource/{inspections}.json"
        refused = requests.get(url, params=params, timeout=30)
        small = requests.get(url, params={"$where": "name = 'Pizza Place'"}, timeout=30)
    assert refused.status_code == 414
    body = refused.json()
    assert body["error"] is True
    assert body["code"] == body["errorCode"] == "request.uri-too-long"
    assert "Shorten the query" in body["message"]
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert [r["name"] for r in small.json()] == ["Pizza Place"]


def test_client_going_away_mid_stream_returns_the_connection(
    served: tuple[str, FastAPI], make_dataset: MakeDataset
) -> None:
    domain, app = served
    dataset = make_dataset([("t", "text")], [("x" * 200,) for _ in range(20_000)])
    with requests.get(
        f"http://{domain}/resource/{dataset}.csv?$limit=100000", stream=True, timeout=30
    ) as response:
        assert response.status_code == 200
        next(response.iter_content(64 * 1024))
    deadline = time.monotonic() + 10
    while app.state.engine.pool.checkedout():
        assert time.monotonic() < deadline, "the streaming connection was never returned"
        time.sleep(0.05)
