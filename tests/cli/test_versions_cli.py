"""`civicport versions` and `civicport rules`: a dataset's versions and load rules from the
command line, on both backends."""

from __future__ import annotations

import json

import sqlalchemy as sa

from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_table
from civicport.catalog.store import get_dataset
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.privacy.decisions import Choice

COLUMNS = [ColumnSpec("permit", "Permit", "text"), ColumnSpec("fee", "Fee", "number")]


def _load(engine: sa.Engine, rows: list[tuple[str, int]], dataset_id: str | None = None) -> str:
    table = ParsedTable(columns=COLUMNS, rows=iter(rows))
    if dataset_id:
        import_table(engine, table, metadata=None, dataset_id=dataset_id, mode="replace")
        return dataset_id
    return import_table(
        engine, table, metadata=DatasetMetadata(title="Permits"), row_identifier="permit",
        privacy_decisions={"permit": Choice("accept", "made up")}, decided_by="tests",
    ).dataset_id  # fmt: skip


def _actions(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.exec_driver_sql("SELECT action FROM audit_events ORDER BY id").scalars())


def test_list_diff_and_rollback(cli, engine) -> None:
    dataset_id = _load(engine, [("P1", 10), ("P2", 20)])
    _load(engine, [("P1", 10), ("P2", 25), ("P3", 30)], dataset_id)

    listed = cli("versions", "list", dataset_id, "--format", "json")
    assert listed.exit_code == 0, listed.output
    shown = [(v["version"], v["current"], v["operation"], v["made_by"])
             for v in json.loads(listed.stdout)]  # fmt: skip
    assert shown == [(2, True, "replace", "cli"), (1, False, "create", "cli")]
    assert cli("versions", "list", dataset_id).exit_code == 0  # the table for people

    diff = cli("versions", "diff", dataset_id, 1, 2)
    assert diff.exit_code == 0, diff.output
    changes = {c["key"]: c for c in map(json.loads, diff.stdout.splitlines())}
    assert {k: c["change"] for k, c in changes.items()} == {"P2": "changed", "P3": "added"}
    assert changes["P2"]["columns"] == ["fee"]

    rolled = cli("versions", "rollback", dataset_id, 1)
    assert rolled.exit_code == 0, rolled.output
    assert "version 3, the rows of version 1" in rolled.stdout
    with engine.connect() as conn:
        assert get_dataset(conn, dataset_id).row_count == 2
    assert _actions(engine)[-1] == "dataset.rollback"


def test_versions_refuse_what_cannot_be_done(cli, engine) -> None:
    dataset_id = _load(engine, [("P1", 10)])
    missing = cli("versions", "rollback", dataset_id, 9)
    assert missing.exit_code == 1
    assert "has no version 9; versions 1 to 1 are kept" in missing.output
    current = cli("versions", "rollback", dataset_id, 1)
    assert current.exit_code == 1
    assert "already the current one" in current.output
    assert cli("versions", "list", "nope-0000").exit_code == 1


def test_rules_set_show_and_reset(cli, engine) -> None:
    dataset_id = _load(engine, [("P1", 10)])
    changed = cli("rules", "set", dataset_id, "row_drop=block", "max_row_drop=0.2", "type:fee=null")
    assert changed.exit_code == 0, changed.output
    with engine.connect() as conn:
        rules = get_dataset(conn, dataset_id).load_rules
    assert rules is not None
    assert (rules["row_drop"], rules["max_row_drop"], rules["type_policy"]) == (
        "block", 0.2, {"fee": "null"},
    )  # fmt: skip
    assert "20%" in cli("rules", "show", dataset_id).output
    assert cli("rules", "reset", dataset_id).exit_code == 0
    with engine.connect() as conn:
        assert get_dataset(conn, dataset_id).load_rules is None
    assert _actions(engine)[-2:] == ["dataset.rules", "dataset.rules"]


def test_bad_rules_are_refused_and_nothing_is_stored(cli, engine) -> None:
    dataset_id = _load(engine, [("P1", 10)])
    for args, message in (
        (["row_drop=sometimes"], "must be one of off, warn, block"),
        (["row_drops=block"], "Unknown load rule 'row_drops'"),
        (["max_row_drop=half"], "share between 0 and 1"),
        (["type:fee=guess"], "fee"),
        (["row_drop"], "is not NAME=VALUE"),
    ):
        result = cli("rules", "set", dataset_id, *args)
        assert result.exit_code == 1, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
    with engine.connect() as conn:
        assert get_dataset(conn, dataset_id).load_rules is None
