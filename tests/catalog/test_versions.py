"""Versions: every load is one, applied as a diff; any kept version can be read back, diffed
and rolled back to; `:updated_at` tells what changed. On both backends."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from civicport.auth.accounts import create_user
from civicport.auth.keys import create_key
from civicport.catalog.diffs import diff_versions
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.rollback import roll_back
from civicport.catalog.service import delete_rows, import_file, import_table, write_rows
from civicport.catalog.store import get_dataset, set_load_rules
from civicport.catalog.versions import get_version, list_versions, prune_versions
from civicport.config import Settings
from civicport.db.engine import make_engine
from civicport.db.migrate import upgrade
from civicport.errors import Conflict, InvalidUpload, NotFound
from civicport.ingest.checks import LoadRejected
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.privacy.decisions import Choice

PERMITS = [("permit", "text"), ("kind", "text"), ("fee", "number")]
FIRST = [("P1", "fence", 50), ("P2", "deck", 120), ("P3", "roof", 300), ("P4", "shed", 80)]
# P2's fee changed, P3 removed, P5 added; P1 and P4 as they were.
SECOND = [("P1", "fence", 50), ("P2", "deck", 150), ("P4", "shed", 80), ("P5", "pool", 900)]
ACCEPT = {name: Choice("accept", "made-up permits") for name, _ in PERMITS}


def make_table(columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> ParsedTable:
    specs = [ColumnSpec(name, name.title(), kind) for name, kind in columns]
    return ParsedTable(columns=specs, rows=iter(rows))


def make_key(engine: sa.Engine, email: str, role: str) -> tuple[str, str]:
    with engine.begin() as conn:
        create_user(conn, email=email, role=role)
        return create_key(conn, email=email)


def load(engine: sa.Engine, rows: list[tuple[Any, ...]], dataset_id: str | None = None, *,
         key: str | None = "permit", columns: list[tuple[str, str]] = PERMITS) -> Any:  # fmt: skip
    table = make_table(columns, rows)
    if dataset_id is None:
        return import_table(
            engine, table, metadata=DatasetMetadata(title="Permits", audience="public"),
            row_identifier=key, privacy_decisions=ACCEPT, decided_by="tests",
        )  # fmt: skip
    return import_table(engine, table, metadata=None, dataset_id=dataset_id, mode="replace")


def api_rows(client: TestClient, dataset_id: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(f"/resource/{dataset_id}.json", params={"$order": ":id", **params})
    assert response.status_code == 200, response.text
    return response.json()


def csv_rows(client: TestClient, path: str) -> list[dict[str, str]]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


@pytest.mark.parametrize("key", ["permit", None])
def test_a_replace_is_applied_as_a_diff_and_unchanged_rows_keep_their_ids(
    engine: sa.Engine, client: TestClient, key: str | None
) -> None:
    dataset_id = load(engine, FIRST, key=key).dataset_id
    before = {r["permit"]: r for r in api_rows(client, dataset_id, **{"$select": ":*, *"})}
    time.sleep(0.01)
    result = load(engine, SECOND, dataset_id)

    if key:  # P2 is the same row with a new fee
        assert (result.rows_created, result.rows_updated, result.rows_deleted) == (1, 1, 1)
    else:  # without an identifier a changed row is one removed and one added
        assert (result.rows_created, result.rows_updated, result.rows_deleted) == (2, 0, 2)
    assert result.version == 2
    after = {r["permit"]: r for r in api_rows(client, dataset_id, **{"$select": ":*, *"})}
    assert sorted(after) == ["P1", "P2", "P4", "P5"]
    assert after["P2"]["fee"] == "150"
    for same in ("P1", "P4"):
        assert after[same][":id"] == before[same][":id"]
        assert after[same][":updated_at"] == before[same][":updated_at"]
    # "What changed since the first load" names exactly the new and changed rows.
    since = before["P1"][":updated_at"]
    changed = api_rows(client, dataset_id, **{"$where": f":updated_at > '{since}'"})
    assert sorted(r["permit"] for r in changed) == (["P2", "P5"])


def test_each_version_has_its_counts_and_author_and_can_be_downloaded(
    engine: sa.Engine, client: TestClient
) -> None:
    dataset_id = load(engine, FIRST).dataset_id
    load(engine, SECOND, dataset_id)
    with engine.connect() as conn:
        versions = list_versions(conn, dataset_id)
    counts = [(v.operation, v.rows_added, v.rows_changed, v.rows_removed, v.row_count)
              for v in versions]  # fmt: skip
    assert counts == [("replace", 1, 1, 1, 4), ("create", 4, 0, 0, 4)]
    assert versions[0].made_by == "cli"

    old = csv_rows(client, f"/api/views/{dataset_id}/rows.csv?version=1")
    assert [(r["Permit"], r["Fee"]) for r in old] == [(p, str(f)) for p, _, f in FIRST]
    current = csv_rows(client, f"/api/views/{dataset_id}/rows.csv?version=2")
    assert sorted(r["Permit"] for r in current) == ["P1", "P2", "P4", "P5"]

    listed = client.get(f"/api/views/{dataset_id}/versions.json").json()
    assert [(v["version"], v["current"]) for v in listed] == [(2, True), (1, False)]
    assert "made_by" not in listed[0]  # who made it is for those who may change the dataset


def test_the_diff_between_two_versions_is_keyed_by_the_row_identifier(
    engine: sa.Engine, client: TestClient
) -> None:
    dataset_id = load(engine, FIRST).dataset_id
    load(engine, SECOND, dataset_id)
    response = client.get(f"/api/views/{dataset_id}/diff.json", params={"from": 1, "to": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"], body["key"]) == (1, 2, "permit")
    changes = {c["key"]: c for c in body["changes"]}
    assert {k: c["change"] for k, c in changes.items()} == {
        "P2": "changed", "P3": "removed", "P5": "added",
    }  # fmt: skip
    assert changes["P2"]["columns"] == ["fee"]
    assert (changes["P2"]["before"]["fee"], changes["P2"]["after"]["fee"]) == ("120", "150")
    assert changes["P3"]["after"] is None
    assert changes["P5"]["before"] is None


def test_rolling_back_restores_the_rows_as_a_new_version(
    engine: sa.Engine, client: TestClient
) -> None:
    dataset_id = load(engine, FIRST).dataset_id
    original = api_rows(client, dataset_id, **{"$select": ":*, *"})
    load(engine, SECOND, dataset_id)
    result = roll_back(engine, dataset_id, 1, made_by="tests")

    assert (result.version, result.rows_created, result.rows_updated, result.rows_deleted) == (
        3, 1, 1, 1,
    )  # fmt: skip
    restored = api_rows(client, dataset_id, **{"$select": ":*, *"})
    unstamped = [{k: v for k, v in r.items() if k != ":updated_at"} for r in restored]
    assert unstamped == [{k: v for k, v in r.items() if k != ":updated_at"} for r in original]
    # P2 and P3 changed again (back), so a client following :updated_at fetches them again.
    stamped = {r["permit"]: r[":updated_at"] for r in restored}
    assert stamped["P2"] > stamped["P1"] == original[0][":updated_at"]
    with engine.connect() as conn:
        latest = list_versions(conn, dataset_id)[0]
        diff = diff_versions(conn, get_dataset(conn, dataset_id), 1, 3)
        assert list(diff.changes(conn)) == []  # version 3 holds exactly version 1's rows
    assert (latest.operation, latest.detail) == ("rollback", {"to": 1})
    # The rolled-back-from version is kept: rolling back again undoes the rollback.
    roll_back(engine, dataset_id, 2, made_by="tests")
    assert sorted(r["permit"] for r in api_rows(client, dataset_id)) == ["P1", "P2", "P4", "P5"]


def test_new_columns_start_a_new_table_and_old_versions_stay_readable(
    engine: sa.Engine, client: TestClient
) -> None:
    dataset_id = load(engine, FIRST).dataset_id
    wider = [*PERMITS, ("ward", "text")]
    import_table(engine, make_table(wider, [(*r, "3") for r in SECOND]), metadata=None,
                 dataset_id=dataset_id, mode="replace")  # fmt: skip
    assert csv_rows(client, f"/api/views/{dataset_id}/rows.csv?version=1")[0] == {
        "Permit": "P1", "Kind": "fence", "Fee": "50",
    }  # fmt: skip
    with engine.connect() as conn, pytest.raises(Conflict, match="different columns"):
        diff_versions(conn, get_dataset(conn, dataset_id), 1, 2)
    roll_back(engine, dataset_id, 1, made_by="tests")
    assert api_rows(client, dataset_id)[0] == {"permit": "P1", "kind": "fence", "fee": "50"}


def test_upserts_deletes_and_appends_are_versions_too(
    engine: sa.Engine, client: TestClient
) -> None:
    dataset_id = load(engine, FIRST).dataset_id
    upsert = make_table(PERMITS, [("P1", "fence", 55), ("P9", "sign", 10), ("P4", "shed", 80)])
    result = write_rows(engine, dataset_id, [upsert], made_by="clerk@city.example")
    assert (result.rows_created, result.rows_updated) == (1, 1)  # P4 unchanged: not an update
    delete_rows(engine, dataset_id, ["P2"], made_by="clerk@city.example")
    with engine.connect() as conn:
        versions = list_versions(conn, dataset_id)
    assert [(v.version, v.operation, v.made_by) for v in versions[:2]] == [
        (3, "delete", "clerk@city.example"), (2, "upsert", "clerk@city.example"),
    ]  # fmt: skip
    at_two = csv_rows(client, f"/api/views/{dataset_id}/rows.csv?version=2")
    assert {r["Permit"]: r["Fee"] for r in at_two} == {
        "P1": "55", "P2": "120", "P3": "300", "P4": "80", "P9": "10",
    }  # fmt: skip
    at_one = csv_rows(client, f"/api/views/{dataset_id}/rows.csv?version=1")
    assert {r["Permit"]: r["Fee"] for r in at_one} == {p: str(f) for p, _, f in FIRST}


def test_pruning_keeps_the_newest_versions_and_drops_unused_tables(engine: sa.Engine) -> None:
    dataset_id = load(engine, FIRST).dataset_id
    wider = [*PERMITS, ("ward", "text")]
    import_table(engine, make_table(wider, [(*r, "1") for r in FIRST]), metadata=None,
                 dataset_id=dataset_id, mode="replace")  # fmt: skip
    for fee in (1, 2, 3):
        rows = [(permit, kind, fee, "1") for permit, kind, _ in FIRST]
        import_table(engine, make_table(wider, rows), metadata=None, dataset_id=dataset_id,
                     mode="replace")  # fmt: skip
    with engine.begin() as conn:
        first_table = list_versions(conn, dataset_id)[-1].data_table
        unused = prune_versions(conn, get_dataset(conn, dataset_id), 2)
        kept = [v.version for v in list_versions(conn, dataset_id)]
    assert kept == [5, 4]
    assert unused == [first_table]
    with engine.connect() as conn, pytest.raises(NotFound, match="versions 4 to 5 are kept"):
        get_version(conn, dataset_id, 1)


def test_a_load_that_fails_changes_nothing_and_makes_no_version(
    engine: sa.Engine, client: TestClient
) -> None:
    dataset_id = load(engine, FIRST).dataset_id
    duplicated = [("P1", "fence", 1), ("P1", "deck", 2)]
    with pytest.raises(InvalidUpload, match="in rows 1 and 2"):
        load(engine, duplicated, dataset_id)
    with engine.connect() as conn:
        assert [v.version for v in list_versions(conn, dataset_id)] == [1]
        assert get_dataset(conn, dataset_id).data_version == 1
    assert [r["permit"] for r in api_rows(client, dataset_id)] == ["P1", "P2", "P3", "P4"]


def test_version_requests_that_cannot_be_answered_say_why(
    engine: sa.Engine, client: TestClient
) -> None:
    dataset_id = load(engine, FIRST).dataset_id
    # Words, digits that are not ASCII, and numbers no database integer holds: all 400.
    for text in ("latest", "²", "99999999999999999999"):
        for path in (
            f"/api/views/{dataset_id}/rows.csv?version={text}",
            f"/api/views/{dataset_id}/diff.json?from=1&to={text}",
        ):
            bad = client.get(path)
            assert bad.status_code == 400, (path, bad.text)
            assert "not a version number" in bad.json()["message"]
    missing = client.get(f"/api/views/{dataset_id}/rows.csv?version=7")
    assert missing.status_code == 404
    assert "has no version 7; versions 1 to 1 are kept" in missing.json()["message"]
    anonymous = client.post(f"/api/views/{dataset_id}/rollback.json?version=1")
    assert anonymous.status_code == 401
    admin = make_key(engine, "admin@city.example", "admin")
    same = client.post(f"/api/views/{dataset_id}/rollback.json?version=1", auth=admin)
    assert same.status_code == 409
    assert "already the current one" in same.json()["message"]


def test_an_api_rollback_is_made_by_the_key_holder_and_audited(
    engine: sa.Engine, client: TestClient
) -> None:
    dataset_id = load(engine, FIRST).dataset_id
    load(engine, SECOND, dataset_id)
    admin = make_key(engine, "admin@city.example", "admin")
    response = client.post(f"/api/views/{dataset_id}/rollback.json?version=1", auth=admin)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 3
    listed = client.get(f"/api/views/{dataset_id}/versions.json", auth=admin).json()
    assert (listed[0]["operation"], listed[0]["made_by"]) == ("rollback", "admin@city.example")
    with engine.connect() as conn:
        actions = conn.exec_driver_sql("SELECT action FROM audit_events").scalars().all()
    assert "dataset.rollback" in actions


def test_a_blocking_rule_refuses_the_load_and_warnings_travel_with_the_version(
    engine: sa.Engine, client: TestClient
) -> None:
    dataset_id = load(engine, FIRST).dataset_id
    with engine.begin() as conn:
        set_load_rules(conn, dataset_id, {"row_drop": "block"}, now=dt.datetime.now(dt.UTC))
    with pytest.raises(LoadRejected, match="75% fewer than the 4 of the current version"):
        load(engine, FIRST[:1], dataset_id)
    assert [r["permit"] for r in api_rows(client, dataset_id)] == ["P1", "P2", "P3", "P4"]

    with engine.begin() as conn:
        set_load_rules(conn, dataset_id, {"row_drop": "warn"}, now=dt.datetime.now(dt.UTC))
    result = load(engine, FIRST[:1], dataset_id)
    assert result.version == 2
    assert result.warnings == (
        "The new data has 1 row, 75% fewer than the 4 of the current version "
        "(the limit is a 50% drop)",
    )


def test_points_outside_the_city_boundary_setting_are_reported(
    settings: Settings, tmp_path: Path
) -> None:
    square = {
        "type": "Polygon",
        "coordinates": [[[-73, 41], [-72, 41], [-72, 42], [-73, 42], [-73, 41]]],
    }
    boundary = tmp_path / "city.geojson"
    boundary.write_text(json.dumps(square))
    engine = make_engine(settings.model_copy(update={"city_boundary": boundary}))
    upgrade(engine)
    columns = [("site", "text"), ("location", "point")]
    rows = [("inside", (-72.5, 41.5)), ("outside", (-80.0, 35.0))]
    try:
        result = import_table(
            engine, make_table(columns, rows),
            metadata=DatasetMetadata(title="Sites", audience="private"),
        )  # fmt: skip
    finally:
        engine.dispose()
    assert any("outside the city boundary" in w for w in result.warnings)


def test_a_value_that_does_not_fit_its_column_follows_the_type_policy(
    engine: sa.Engine, client: TestClient, tmp_path: Path
) -> None:
    first = tmp_path / "inspections.csv"
    first.write_text("site,inspected\nA,2024-01-05\nB,2024-02-11\nC,2024-03-09\n")
    dataset_id = import_file(
        engine, first, metadata=DatasetMetadata(title="Inspections", audience="public"),
        privacy_decisions={"site": Choice("accept", "made-up sites")}, decided_by="tests",
    ).dataset_id  # fmt: skip
    later = tmp_path / "later.csv"
    later.write_text("site,inspected\nA,2024-01-05\nB,31/02/2019\nC,2024-03-09\nD,soon\n")

    # Rejected by default, in words that name the row and column; nothing changes.
    with pytest.raises(InvalidUpload, match=r"[Rr]ow 2, column inspected: '31/02/2019' is not a"):
        import_file(engine, later, metadata=None, dataset_id=dataset_id, mode="replace")
    assert len(api_rows(client, dataset_id)) == 3

    # Emptied with a warning once the dataset's rules say so for that column.
    with engine.begin() as conn:
        rules = {"type_policy": {"inspected": "null"}}
        set_load_rules(conn, dataset_id, rules, now=dt.datetime.now(dt.UTC))
    result = import_file(engine, later, metadata=None, dataset_id=dataset_id, mode="replace")
    assert any("2 values were not dates and were left empty" in w for w in result.warnings)
    stored = {r["site"]: r.get("inspected") for r in api_rows(client, dataset_id)}
    assert stored == {
        "A": "2024-01-05T00:00:00.000",
        "B": None,
        "C": "2024-03-09T00:00:00.000",
        "D": None,
    }


def test_rows_dropped_as_repeated_identifiers_leave_ids_that_pages_still_seek_right(
    engine: sa.Engine, client: TestClient
) -> None:
    dataset_id = load(engine, FIRST).dataset_id
    with engine.begin() as conn:
        set_load_rules(conn, dataset_id, {"duplicate_ids": "warn"}, now=dt.datetime.now(dt.UTC))
    wider = [*PERMITS, ("ward", "text")]  # new columns: a table of its own
    rows = [
        ("P1", "fence", 1, "1"),
        ("P1", "deck", 2, "2"),
        ("P2", "roof", 3, "3"),
        ("P3", "shed", 4, "4"),
    ]
    result = import_table(engine, make_table(wider, rows), metadata=None, dataset_id=dataset_id,
                          mode="replace")  # fmt: skip
    assert result.row_count == 3
    with engine.connect() as conn:
        assert get_dataset(conn, dataset_id).ids_dense is False  # the second P1 left a gap
    paged = api_rows(client, dataset_id, **{"$offset": "1", "$limit": "1"})
    assert [r["permit"] for r in paged] == ["P2"]
