"""The privacy guard on every load (create, replace, append, upsert, writes), on both backends,
with real files that hold personal data."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from civicport.api.errors import status_for
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_file, import_table, write_rows
from civicport.catalog.store import dataset_exists, get_dataset
from civicport.db.schema import datasets, privacy_decisions, privacy_findings
from civicport.errors import InvalidUpload, NotFound
from civicport.ingest.reader import read_file
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.privacy import store
from civicport.privacy.decisions import Choice, PrivacyUnresolved
from civicport.privacy.guard import check_publishable, unresolved
from civicport.privacy.transforms import hash_value, hundred_block

SALARY_REASON = "Salaries of city employees are public record"
HASHED = re.compile(r"[0-9a-f]{16}")
EMPLOYEE_DECISIONS = {
    "Name": Choice("hash"),
    "employee_annual_salary": Choice("accept", SALARY_REASON),
}


def public(title: str, **fields: object) -> DatasetMetadata:
    return DatasetMetadata(title=title, audience="public", **fields)  # type: ignore[arg-type]


def count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def names_in(path: Path) -> list[str]:
    """The Name column as the reader yields it (what the guard hashes)."""
    table = read_file(path)
    index = [c.field_name for c in table.columns].index("name")
    return [row[index] for row in table.rows]


def salt_of(engine: sa.Engine, dataset_id: str) -> str:
    with engine.connect() as conn:
        return store.dataset_salt(conn, dataset_id)


# -- refused, then resolved -----------------------------------------------------------------------


def test_public_import_of_employee_names_is_refused_and_nothing_is_created(
    engine, employees
) -> None:
    with pytest.raises(PrivacyUnresolved) as refused:
        import_file(engine, employees, metadata=public("Employees"), dataset_id="empl-0001")

    error = refused.value
    assert status_for(error) == 409
    assert "Column 'Name' holds people's names" in error.message
    assert "[name: person_name]" in error.message
    assert "drop, hash or accept it with a written reason" in error.message
    assert error.data["unresolved"] == [
        {
            "column": "name",
            "kind": "person_name",
            "actions": ["drop", "hash", "accept"],
            "message": error.data["unresolved"][0]["message"],
        }
    ]
    with engine.connect() as conn:
        assert not dataset_exists(conn, "empl-0001")
    assert count(engine, datasets) == count(engine, privacy_findings) == 0
    assert not [t for t in sa.inspect(engine).get_table_names() if "empl" in t]


def test_decisions_given_with_the_import_are_applied_and_kept(engine, employees, stored) -> None:
    result = import_file(
        engine,
        employees,
        metadata=public("Employees"),
        dataset_id="empl-0001",
        privacy_decisions=EMPLOYEE_DECISIONS,
        decided_by="coordinator@city.example",
    )

    assert result.row_count == 3000
    salt = salt_of(engine, "empl-0001")
    rows = stored("empl-0001", "name", "position_title", "employee_annual_salary")
    raw = names_in(employees)
    assert [r[0] for r in rows] == [hash_value(n, salt=salt) for n in raw]
    assert all(HASHED.fullmatch(r[0]) for r in rows)
    assert rows[0][1:] == ("WATER RATE TAKER", 88968)  # the rest is as published
    with engine.connect() as conn:
        found = store.findings(conn, "empl-0001")
        decided = {d.field_name: d for d in store.decisions(conn, "empl-0001")}
        assert unresolved(conn, "empl-0001") == []
        check_publishable(conn, "empl-0001")
        assert get_dataset(conn, "empl-0001").columns[0].soda_type == "text"
    assert [(f.column, f.kind) for f in found] == [("name", "person_name")]
    assert all("AARON" not in example for example in found[0].examples)  # masked
    assert (decided["name"].action, decided["name"].kinds) == ("hash", ("person_name",))
    salary = decided["employee_annual_salary"]
    assert (salary.action, salary.reason, salary.decided_by) == (
        "accept",
        SALARY_REASON,
        "coordinator@city.example",
    )
    assert all(d.applied for d in decided.values())


def test_a_replace_reapplies_the_decisions_and_hashes_stay_the_same(
    engine, employees, tmp_path, stored
) -> None:
    import_file(
        engine,
        employees,
        metadata=public("Employees"),
        dataset_id="empl-0001",
        privacy_decisions=EMPLOYEE_DECISIONS,
        decided_by="cli",
    )
    first = dict(zip(names_in(employees), (r[0] for r in stored("empl-0001", "name")), strict=True))

    # Next month's file: the same people and some new ones, and no decisions given this time.
    later = tmp_path / "later.csv"
    lines = employees.read_text(encoding="utf-8").splitlines(keepends=True)
    later.write_text(lines[0] + "".join(lines[1001:]) + "".join(lines[1:11]), encoding="utf-8")
    result = import_file(engine, later, metadata=None, dataset_id="empl-0001", mode="replace")

    assert result.row_count == 2010
    # Unchanged rows keep their place (the replace is applied as a diff), so compare as sets:
    # each person of the new file is stored with the hash they had the first time.
    stored_now = [r[0] for r in stored("empl-0001", "name")]
    assert sorted(stored_now) == sorted(first[name] for name in names_in(later))
    assert not set(names_in(later)) & set(stored_now)  # no raw name stored


def test_a_hashed_value_is_stable_across_an_append(engine, employees, stored) -> None:
    import_file(
        engine,
        employees,
        metadata=public("Employees"),
        dataset_id="empl-0001",
        privacy_decisions={"name": Choice("hash"), "department": Choice("drop")},
        decided_by="cli",
    )
    columns = [ColumnSpec("name", "Name", "text"), ColumnSpec("department", "Department", "text")]
    columns.append(ColumnSpec("position_title", "Position Title", "text"))
    again = ParsedTable(columns, iter([("AARON,  ELVIA J", "WATER MGMNT", "WATER RATE TAKER")]))
    import_table(engine, again, metadata=None, dataset_id="empl-0001", mode="append")

    names = [r[0] for r in stored("empl-0001", "name")]
    assert names[-1] == names[0] == hash_value("AARON,  ELVIA J", salt=salt_of(engine, "empl-0001"))
    with engine.connect() as conn:
        kept = [c.field_name for c in get_dataset(conn, "empl-0001").columns]
    assert "department" not in kept  # dropped at creation, and the appended value too


def test_large_files_read_in_worker_processes_pass_the_guard_too(
    engine, employees_file, stored
) -> None:
    table = read_file(employees_file, parallel=True)
    assert table.column_batches is not None
    import_table(
        engine,
        table,
        metadata=public("Employees"),
        dataset_id="empl-0002",
        privacy_decisions={"name": Choice("hash"), "department": Choice("drop")},
        decided_by="cli",
    )

    salt = salt_of(engine, "empl-0002")
    rows = stored("empl-0002", "name", "position_title")
    assert len(rows) == 32181
    raw = names_in(employees_file)
    assert [r[0] for r in rows] == [hash_value(n, salt=salt) for n in raw]
    with engine.connect() as conn:
        kept = [c.field_name for c in get_dataset(conn, "empl-0002").columns]
    assert kept == ["name", "position_title", "employee_annual_salary"]


# -- generalising -------------------------------------------------------------------------------


def test_a_generalised_address_column_stores_hundred_blocks(engine, potholes, stored) -> None:
    import_file(
        engine,
        potholes,
        metadata=public("Potholes", category="Transportation"),
        dataset_id="pthl-0001",
        type_overrides={"zip_code": "text", "parcel_id_no": "text"},
        privacy_decisions={"STREET ADDRESS": Choice("generalize")},
        decided_by="cli",
    )

    table = read_file(potholes)
    index = [c.field_name for c in table.columns].index("street_address")
    raw = [row[index] for row in table.rows]
    kept = [r[0] for r in stored("pthl-0001", "street_address")]
    assert raw[0] == "4900 E 63rd St"
    assert kept[0] == "4900 BLOCK OF E 63RD ST"
    assert kept == [None if a is None else hundred_block(a) for a in raw]
    assert sum(1 for k in kept if k and " BLOCK OF " in k) > 0.9 * len(kept)


def test_exact_places_in_a_public_safety_dataset_are_coarsened(engine, crimes, stored) -> None:
    decisions = {name: Choice("generalize") for name in ("Latitude", "Longitude", "Location")}
    import_file(
        engine,
        crimes,
        metadata=public("Crimes", category="Public Safety"),
        dataset_id="crim-0001",
        privacy_decisions=decisions,
        decided_by="cli",
    )

    rows = stored("crim-0001", "latitude", "longitude", "location__lon", "location__lat")
    # The first crime: 41.753985135, -87.664263469 in the file.
    assert [float(v) for v in rows[0]] == [41.754, -87.664, -87.664, 41.754]
    for row in rows:
        for value in row:
            if value is not None:
                assert float(value) == round(float(value), 3)
    with engine.connect() as conn:
        assert unresolved(conn, "crim-0001") == []


def test_exact_places_are_not_flagged_outside_sensitive_categories(engine, crimes) -> None:
    import_file(
        engine, crimes, metadata=public("Crimes", category="Transportation"), dataset_id="crim-0002"
    )
    with engine.connect() as conn:
        assert store.findings(conn, "crim-0002") == []


def test_generalize_is_refused_for_what_cannot_be_generalised(engine, employees) -> None:
    with pytest.raises(
        InvalidUpload, match="person_name, which cannot be generalised: drop or hash"
    ):
        import_file(
            engine,
            employees,
            metadata=public("Employees"),
            privacy_decisions={"name": Choice("generalize")},
            decided_by="cli",
        )
    with pytest.raises(InvalidUpload, match="'position_title' has nothing to generalise"):
        import_file(
            engine,
            employees,
            metadata=public("Employees"),
            privacy_decisions={"name": Choice("hash"), "position_title": Choice("generalize")},
            decided_by="cli",
        )
    with pytest.raises(InvalidUpload, match="column 'nickname', which the data does not have"):
        import_file(
            engine,
            employees,
            metadata=public("Employees"),
            privacy_decisions={"nickname": Choice("drop")},
            decided_by="cli",
        )
    assert count(engine, datasets) == 0


# -- publishing ---------------------------------------------------------------------------------


def test_a_private_import_keeps_its_findings_and_cannot_be_made_public_until_resolved(
    engine, crimes
) -> None:
    result = import_file(
        engine, crimes, metadata=DatasetMetadata(title="Crimes", category="Public Safety")
    )
    dataset_id = result.dataset_id

    with engine.connect() as conn, pytest.raises(PrivacyUnresolved) as refused:
        check_publishable(conn, dataset_id)
    message = refused.value.message
    assert f"Dataset '{dataset_id}' cannot be made public" in message
    for column in ("latitude", "longitude", "location"):
        assert f"[{column}: exact_location]" in message
    assert "drop, hash, generalize or accept it with a written reason" in message
    assert status_for(refused.value) == 409

    with engine.begin() as conn:
        store.decide(conn, dataset_id, "latitude", "accept", reason="Block-level", actor="cli")
        store.decide(conn, dataset_id, "longitude", "drop", reason="", actor="cli")
        pending = store.decide(conn, dataset_id, "location", "generalize", reason="", actor="cli")
    assert not pending.applied
    with engine.connect() as conn:
        left = unresolved(conn, dataset_id)
    # Decided after the rows were loaded: nothing is published until a load applies them.
    assert [(u.column, u.kind) for u in left] == [("location", "pending"), ("longitude", "pending")]
    assert "civicport privacy apply" in left[0].message

    import_file(engine, crimes, metadata=None, dataset_id=dataset_id, mode="replace")
    with engine.connect() as conn:
        check_publishable(conn, dataset_id)
        columns = [c.field_name for c in get_dataset(conn, dataset_id).columns]
    assert "longitude" not in columns
    assert "latitude" in columns


def test_decide_checks_what_it_is_told(engine, crimes) -> None:
    dataset_id = import_file(
        engine, crimes, metadata=DatasetMetadata(title="Crimes", category="Public Safety")
    ).dataset_id
    with engine.begin() as conn:
        with pytest.raises(InvalidUpload, match="needs a written reason"):
            store.decide(conn, dataset_id, "location", "accept", reason="  ", actor="cli")
        with pytest.raises(InvalidUpload, match="'primary_type' has nothing to generalise"):
            store.decide(conn, dataset_id, "primary_type", "generalize", reason="", actor="cli")
        with pytest.raises(InvalidUpload, match="has no column 'suspect'"):
            store.decide(conn, dataset_id, "suspect", "drop", reason="", actor="cli")
        with pytest.raises(InvalidUpload, match="Unknown privacy decision 'blur'"):
            store.decide(conn, dataset_id, "location", "blur", reason="", actor="cli")
        with pytest.raises(NotFound):
            store.decide(conn, "nope-0000", "location", "drop", reason="", actor="cli")
    assert count(engine, privacy_decisions) == 0


def test_an_accepted_column_is_flagged_again_for_a_new_kind_of_data(engine, employees) -> None:
    dataset_id = import_file(
        engine,
        employees,
        metadata=public("Employees"),
        privacy_decisions={
            "name": Choice("accept", "Names of public employees are public record"),
        },
        decided_by="cli",
    ).dataset_id
    columns = [ColumnSpec("name", "Name", "text"), ColumnSpec("position_title", "Title", "text")]
    emails = [(f"worker{i}@example.org", "CLERK") for i in range(5)]

    with pytest.raises(PrivacyUnresolved, match=r"\[name: email\]"):
        write_rows(engine, dataset_id, [ParsedTable(columns, iter(emails))])

    with engine.connect() as conn:
        assert get_dataset(conn, dataset_id).row_count == 3000
        assert [f.kind for f in store.findings(conn, dataset_id)] == ["person_name"]


def test_numbers_stay_exact_when_generalised(engine) -> None:
    columns = [ColumnSpec("latitude", "Latitude", "number"), ColumnSpec("ward", "Ward", "number")]
    rows = [(Decimal(f"41.7539851{i}"), i) for i in range(10)]
    dataset_id = import_table(
        engine,
        ParsedTable(columns, iter(rows)),
        metadata=public("Overdoses", category="Health"),
        privacy_decisions={"latitude": Choice("generalize")},
        decided_by="cli",
    ).dataset_id
    with engine.connect() as conn:
        table = get_dataset(conn, dataset_id).data_table
        values = {r[0] for r in conn.exec_driver_sql(f'SELECT latitude FROM "{table}"')}
    assert {Decimal(str(v)) for v in values} == {Decimal("41.754")}
