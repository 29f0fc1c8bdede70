"""`civicport import --privacy` and `civicport privacy show|decide`, on both backends, with real
city employee names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from civicport.auth.audit import list_events
from civicport.privacy import store

EMPLOYEES = Path("/work/shared/data/misc/chicago_employee_names_salaries_position_titles.csv")
CRIMES = Path("/work/shared/data/police/chicago_crimes_2016-01-01_to_03_sample.csv")
SALARY = "employee_annual_salary=accept:Salaries of city employees are public record"


@pytest.fixture
def employees(tmp_path: Path) -> Path:
    """The first 1,000 employees of Chicago's file."""
    if not EMPLOYEES.exists():
        pytest.skip(f"{EMPLOYEES} not available")
    lines = EMPLOYEES.read_text(encoding="utf-8").splitlines(keepends=True)[:1001]
    path = tmp_path / "employees.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_a_refused_import_prints_the_findings_and_the_flags_and_creates_nothing(
    cli, employees, dataset_count
) -> None:
    result = cli("import", employees, "--title", "Employees", "--audience", "public")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Column 'Name' holds people's names" in result.stderr
    assert "--privacy name=drop|hash|accept:REASON" in result.stderr
    assert "Nothing was imported" in result.stderr
    assert dataset_count() == 0


def test_import_with_decisions_hashes_and_records_them(cli, engine, employees) -> None:
    result = cli(
        "import", employees, "--title", "Employees", "--audience", "public",
        "--id", "empl-0001", "--privacy", "Name=hash", "--privacy", SALARY,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "empl-0001"
    with engine.connect() as conn:
        decided = {d.field_name: d for d in store.decisions(conn, "empl-0001")}
        events = list_events(conn, action="privacy.decide", dataset_id="empl-0001")
        table = conn.exec_driver_sql("SELECT data_table FROM datasets").scalar_one()
        names = [r[0] for r in conn.exec_driver_sql(f'SELECT name FROM "{table}"')]
    assert {c: d.action for c, d in decided.items()} == {
        "name": "hash",
        "employee_annual_salary": "accept",
    }
    assert decided["name"].decided_by == "cli"
    assert not [n for n in names if "," in n]  # "LAST,  FIRST" names are all hashed
    assert sorted(e.detail["decision"] for e in events) == ["accept", "hash"]
    assert {e.actor for e in events} == {"cli"}

    shown = cli("privacy", "show", "empl-0001")
    assert shown.exit_code == 0, shown.output
    assert "person_name" in shown.stdout
    assert "resolved" in shown.stdout
    assert "Every finding is resolved." in shown.stdout


def test_a_bad_privacy_flag_is_refused_before_anything_is_read(
    cli, employees, dataset_count
) -> None:
    result = cli("import", employees, "--title", "E", "--privacy", "name=blur")
    assert result.exit_code == 1
    assert "'blur' is not a privacy decision" in result.stderr
    result = cli("import", employees, "--title", "E", "--privacy", "salary=accept")
    assert result.exit_code == 1
    assert "needs a written reason" in result.stderr
    assert dataset_count() == 0


def test_privacy_decide_records_the_decision_and_an_audit_event(cli, engine) -> None:
    if not CRIMES.exists():
        pytest.skip(f"{CRIMES} not available")
    imported = cli(
        "import", CRIMES, "--title", "Crimes", "--category", "Public Safety", "--id", "crim-0001"
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    assert "3 finding(s) unresolved" in imported.stderr

    shown = cli("privacy", "show", "crim-0001")
    assert shown.exit_code == 0, shown.output
    assert "exact_location" in shown.stdout
    assert "3 unresolved" in shown.stdout
    assert "--privacy location=drop|hash|generalize|accept:REASON" in shown.stdout

    refused = cli("privacy", "decide", "crim-0001", "latitude", "accept")
    assert refused.exit_code == 1
    assert "needs a written reason" in refused.stderr

    accepted = cli(
        "privacy", "decide", "crim-0001", "latitude", "accept", "--reason", "Block-level only"
    )
    assert accepted.exit_code == 0, accepted.output
    dropped = cli("privacy", "decide", "crim-0001", "longitude", "drop")
    assert dropped.exit_code == 0, dropped.output
    assert "--mode replace" in dropped.stderr  # decided after the rows were loaded

    with engine.connect() as conn:
        decided = {d.field_name: d for d in store.decisions(conn, "crim-0001")}
        events = list_events(conn, action="privacy.decide", dataset_id="crim-0001")
    assert (decided["latitude"].reason, decided["latitude"].decided_by) == (
        "Block-level only",
        "cli",
    )
    assert not decided["longitude"].applied
    assert [e.detail["column"] for e in events] == ["longitude", "latitude"]  # newest first


def test_privacy_show_of_an_unknown_dataset_fails(cli) -> None:
    result = cli("privacy", "show", "nope-0000")
    assert result.exit_code == 1
    assert "Dataset 'nope-0000' not found" in result.stderr


def test_privacy_apply_changes_the_stored_rows(cli, engine, employees) -> None:
    imported = cli("import", employees, "--title", "Employees", "--id", "empl-0002")
    assert imported.exit_code == 0, imported.output
    with engine.connect() as conn:
        table = conn.exec_driver_sql("SELECT data_table FROM datasets").scalar_one()
        raw = [r[0] for r in conn.exec_driver_sql(f'SELECT name FROM "{table}" ORDER BY _id')]
    assert sum("," in n for n in raw) > 900  # "LAST,  FIRST M"
    nothing = cli("privacy", "apply", "empl-0002")
    assert nothing.exit_code == 0, nothing.output
    assert "Nothing to apply" in nothing.stdout

    decided = cli("privacy", "decide", "empl-0002", "name", "hash")
    assert decided.exit_code == 0, decided.output
    assert "civicport privacy apply empl-0002" in decided.stderr
    assert "pending" in cli("privacy", "show", "empl-0002").stdout

    applied = cli("privacy", "apply", "empl-0002")

    assert applied.exit_code == 0, applied.output
    assert "empl-0002: 1,000 rows loaded again through name → hash." in applied.stdout
    with engine.connect() as conn:
        data_table = conn.exec_driver_sql("SELECT data_table FROM datasets").scalar_one()
        names = [
            r[0] for r in conn.exec_driver_sql(f'SELECT name FROM "{data_table}" ORDER BY _id')
        ]
        decision = {d.field_name: d for d in store.decisions(conn, "empl-0002")}["name"]
        events = list_events(conn, action="privacy.apply", dataset_id="empl-0002")
    assert data_table != table
    assert len(names) == len(raw) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{16}", n) for n in names)
    assert len(set(names)) == len(set(raw))  # the same names hash the same
    assert decision.applied
    assert events[0].actor == "cli"
    assert "pending" not in cli("privacy", "show", "empl-0002").stdout


def test_privacy_apply_of_an_unknown_dataset_fails(cli) -> None:
    result = cli("privacy", "apply", "nope-0000")
    assert result.exit_code == 1
    assert "Dataset 'nope-0000' not found" in result.stderr
