"""The command line records its changes in the audit log, and `civicport audit list` shows and
exports it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

from civicport.auth.audit import list_events
from civicport.db.schema import audit_events


def test_users_add_and_keys_create_are_recorded_without_the_secret(cli, engine) -> None:
    assert cli("users", "add", "Ana@City.gov", "--role", "publisher", "--department", "Health",
               "--password", "correct horse battery").exit_code == 0  # fmt: skip
    made = cli("keys", "create", "ana@city.gov")
    assert made.exit_code == 0, made.output
    key_id, secret = made.stdout.split()
    with engine.connect() as conn:
        key_event, user_event = list_events(conn)
    assert (user_event.actor, user_event.action) == ("cli", "user.create")
    assert user_event.detail == {"email": "ana@city.gov", "role": "publisher",
                                 "department": "Health", "can_approve": False}  # fmt: skip
    assert (key_event.actor, key_event.action) == ("cli", "key.create")
    assert key_event.detail == {"key_id": key_id, "email": "ana@city.gov"}
    for event in (user_event, key_event):
        text = json.dumps(event.as_dict())
        assert secret not in text
        assert "correct horse" not in text


def test_a_failed_command_records_nothing(cli, engine) -> None:
    assert cli("keys", "create", "ghost@city.gov").exit_code == 1
    with engine.connect() as conn:
        assert list_events(conn) == []


def test_import_is_recorded(cli, engine, tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text("case_id,name\nC1,One\nC2,Two\n", encoding="utf-8")
    dataset_id = cli("import", path, "--title", "Cases", "--row-id", "case_id").stdout.strip()
    path.write_text("case_id,name\nC2,Deux\nC3,Three\n", encoding="utf-8")
    assert cli("import", path, "--mode", "upsert", "--id", dataset_id).exit_code == 0
    with engine.connect() as conn:
        upsert, create = list_events(conn, dataset_id=dataset_id)
    assert (create.actor, create.action, create.dataset_id) == ("cli", "dataset.import", dataset_id)
    assert create.detail["mode"] == "create"
    assert create.detail["rows_created"] == 2
    assert upsert.detail["mode"] == "upsert"
    assert (upsert.detail["rows_created"], upsert.detail["rows_updated"]) == (1, 1)
    assert upsert.detail["row_count"] == 3


def test_audit_list_exports_csv_and_json_and_filters(cli) -> None:
    cli("users", "add", "ana@city.gov", "--role", "admin")
    cli("keys", "create", "ana@city.gov")
    exported = cli("audit", "list", "--format", "json")
    assert exported.exit_code == 0, exported.output
    events = json.loads(exported.stdout)
    assert [e["action"] for e in events] == ["key.create", "user.create"]
    assert set(events[0]) == {"id", "at", "actor", "action", "dataset_id", "detail", "client"}

    table = list(csv.DictReader(io.StringIO(cli("audit", "list", "--format", "csv").stdout)))
    assert [r["action"] for r in table] == ["key.create", "user.create"]
    assert json.loads(table[1]["detail"])["email"] == "ana@city.gov"

    only = json.loads(cli("audit", "list", "--action", "user.create", "--format", "json").stdout)
    assert [e["action"] for e in only] == ["user.create"]
    later = cli("audit", "list", "--since", "2999-01-01T00:00", "--format", "json")
    assert json.loads(later.stdout) == []
    assert json.loads(cli("audit", "list", "--actor", "bob@x.org", "--format", "json").stdout) == []

    shown = cli("audit", "list")
    assert shown.exit_code == 0, shown.output
    assert "key.create" in shown.stdout
    assert "user.create" in shown.stdout

    bad = cli("audit", "list", "--since", "yesterday")
    assert bad.exit_code == 1
    assert "ISO 8601" in bad.stderr


def test_audit_prune_deletes_old_events_and_records_itself(cli, engine) -> None:
    cli("users", "add", "ana@city.gov", "--role", "admin")
    with engine.begin() as conn:
        conn.execute(
            audit_events.update().values(at=dt.datetime.now(dt.UTC) - dt.timedelta(days=400))
        )
    cli("keys", "create", "ana@city.gov")  # a recent event, kept
    pruned = cli("audit", "prune", "--older-than", "365")
    assert pruned.exit_code == 0, pruned.output
    assert "Deleted 1 audit events" in pruned.stdout
    with engine.connect() as conn:
        prune, key = list_events(conn)
    assert (prune.actor, prune.action, prune.detail["deleted"]) == ("cli", "audit.prune", 1)
    assert key.action == "key.create"
    assert cli("audit", "prune", "--older-than", "0").exit_code != 0
