"""The audit log's storage: record, list, filter; an event shares its change's transaction."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from civicport.auth.accounts import create_user
from civicport.auth.audit import events_csv, list_events, record_event


def test_record_and_list_newest_first(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        record_event(conn, actor="cli", action="dataset.import", dataset_id="abcd-1234",
                     detail={"mode": "create", "rows_created": 3})  # fmt: skip
        record_event(conn, actor="ann@city.example", action="dataset.upsert",
                     dataset_id="abcd-1234", detail={"Rows Created": 1, "key_id": "cpk_1"},
                     client="10.0.0.1")  # fmt: skip
    with engine.connect() as conn:
        events = list_events(conn)
    assert [e.action for e in events] == ["dataset.upsert", "dataset.import"]
    newest = events[0]
    assert newest.actor == "ann@city.example"
    assert newest.detail == {"Rows Created": 1, "key_id": "cpk_1"}
    assert newest.client == "10.0.0.1"
    assert newest.at.tzinfo is not None
    assert abs(newest.at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert events[1].detail == {"mode": "create", "rows_created": 3}
    assert events[1].client is None


def test_filters(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        record_event(conn, actor="cli", action="user.create")
        record_event(
            conn, actor="ann@city.example", action="dataset.upsert", dataset_id="abcd-1234"
        )
        record_event(
            conn, actor="ann@city.example", action="dataset.replace", dataset_id="wxyz-9876"
        )
        record_event(conn, actor="anonymous", action="app_token.register")
    with engine.connect() as conn:
        assert {e.action for e in list_events(conn, actor="ANN@city.example")} == {
            "dataset.upsert",
            "dataset.replace",
        }
        assert [e.dataset_id for e in list_events(conn, dataset_id="wxyz-9876")] == ["wxyz-9876"]
        assert [e.actor for e in list_events(conn, action="app_token.register")] == ["anonymous"]
        assert len(list_events(conn, since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))) == 4
        assert list_events(conn, since=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)) == []
        naive_past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1)
        assert len(list_events(conn, since=naive_past)) == 4
        assert len(list_events(conn, limit=2)) == 2
        assert [e.action for e in list_events(conn, limit=1, offset=3)] == ["user.create"]
        future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        assert len(list_events(conn, until=future)) == 4
        assert list_events(conn, until=future - dt.timedelta(hours=2)) == []


def test_an_event_in_a_rolled_back_transaction_is_gone(engine: sa.Engine) -> None:
    def change_that_fails() -> None:
        with engine.begin() as conn:
            create_user(conn, email="bob@city.example", role="viewer")
            detail = {"email": "bob@city.example"}
            record_event(conn, actor="cli", action="user.create", detail=detail)
            raise RuntimeError("the change fails after the event is written")

    with pytest.raises(RuntimeError):
        change_that_fails()
    with engine.connect() as conn:
        assert list_events(conn) == []


@pytest.mark.parametrize("key", ["secret", "password", "key_secret", "password_hash"])
def test_a_detail_naming_a_secret_is_refused(engine: sa.Engine, key: str) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match=key):
        record_event(conn, actor="cli", action="key.create", detail={key: "x"})


def test_csv_export(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        record_event(conn, actor="cli", action="dataset.import", dataset_id="abcd-1234",
                     detail={"mode": "replace", "row_count": 2})  # fmt: skip
    with engine.connect() as conn:
        text = events_csv(list_events(conn))
    header, row = text.splitlines()
    assert header == "id,at,actor,action,dataset_id,detail,client"
    assert ",cli,dataset.import,abcd-1234," in row
    assert '"{""mode"": ""replace"", ""row_count"": 2}"' in row
