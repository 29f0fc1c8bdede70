"""`civicport rules show|set|reset`: the checks a dataset's loads must pass (docs/checks.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from civicport.auth.audit import record_event
from civicport.catalog.store import get_dataset, set_load_rules
from civicport.cli.database import migrated_database
from civicport.cli.output import fail, reporting_errors
from civicport.ingest.checks import RULES, LoadRules

rules_app = typer.Typer(
    help="The checks a dataset's loads must pass before they become current.",
    no_args_is_help=True,
)


@rules_app.command("show")
def show_command(dataset_id: str = typer.Argument(..., help="The dataset's id.")) -> None:
    """Each rule and what it does (off, warn or block), and the per-column type policy."""
    with reporting_errors(), migrated_database() as engine, engine.connect() as conn:
        rules = LoadRules.from_json(get_dataset(conn, dataset_id).load_rules)
    _print(rules)


@rules_app.command("set")
def set_command(
    dataset_id: str = typer.Argument(..., help="The dataset's id."),
    settings: list[str] = typer.Argument(
        ...,
        help="RULE=off|warn|block, max_row_drop=SHARE (0..1), or type:COLUMN=reject|null|text.",
    ),
) -> None:
    """Change some rules of a dataset; the others keep their values."""
    with reporting_errors(), migrated_database() as engine, engine.begin() as conn:
        current = LoadRules.from_json(get_dataset(conn, dataset_id).load_rules).to_json()
        changed = LoadRules.from_json(_apply(current, settings))
        set_load_rules(conn, dataset_id, changed.to_json(), now=dt.datetime.now(dt.UTC))
        _audit(conn, dataset_id, changed.to_json(), reset=False)
    _print(changed)


@rules_app.command("reset")
def reset_command(dataset_id: str = typer.Argument(..., help="The dataset's id.")) -> None:
    """Put the dataset's rules back to the defaults."""
    with reporting_errors(), migrated_database() as engine, engine.begin() as conn:
        get_dataset(conn, dataset_id)
        set_load_rules(conn, dataset_id, None, now=dt.datetime.now(dt.UTC))
        _audit(conn, dataset_id, LoadRules().to_json(), reset=True)
    _print(LoadRules())


def _audit(conn: sa.Connection, dataset_id: str, rules: dict[str, Any], *, reset: bool) -> None:
    """The same event the management page records for a change of rules."""
    record_event(
        conn, actor="cli", action="dataset.rules", dataset_id=dataset_id,
        detail={"rules": rules, "reset": reset},
    )  # fmt: skip


def _apply(current: dict[str, Any], settings: list[str]) -> dict[str, Any]:
    rules = dict(current, type_policy=dict(current["type_policy"]))
    for setting in settings:
        name, sep, value = setting.partition("=")
        if not sep or not name or not value:
            fail(f"'{setting}' is not NAME=VALUE, e.g. row_drop=block or type:fee=null")
        if name.startswith("type:"):
            rules["type_policy"][name.removeprefix("type:")] = value
        elif name == "max_row_drop":
            try:
                rules[name] = float(value)
            except ValueError:
                fail(f"max_row_drop is a share between 0 and 1, like 0.3, not '{value}'")
        else:
            rules[name] = value
    return rules


def _print(rules: LoadRules) -> None:
    table = Table("rule", "does")
    for rule in RULES:
        table.add_row(rule, rules.action(rule))
    table.add_row("max_row_drop", f"{rules.max_row_drop:.0%}")
    for column, policy in sorted(rules.type_policy.items()):
        table.add_row(f"type:{column}", policy)
    Console().print(table)
