"""`civicport privacy show|decide|apply`: what the privacy guard found in a dataset, decisions,
and applying them to the rows already stored.

civicport privacy show abcd-1234
civicport privacy decide abcd-1234 name hash
civicport privacy decide abcd-1234 salary accept --reason "Salaries are public record"
civicport privacy apply abcd-1234
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from civicport.auth.audit import CLI_ACTOR
from civicport.auth.principal import Principal
from civicport.catalog.privacy_review import apply_pending, decide_columns
from civicport.catalog.store import get_dataset
from civicport.cli.database import migrated_database
from civicport.cli.output import err_console, reporting_errors, row_progress
from civicport.config import load_settings
from civicport.privacy import store
from civicport.privacy.decisions import (
    PENDING,
    Choice,
    Decision,
    Unresolved,
    actions_for,
    covers,
    is_pending,
)
from civicport.privacy.findings import Finding
from civicport.privacy.guard import unresolved
from civicport.privacy.transforms import DECISIONS

Action = StrEnum("Action", {name: name for name in DECISIONS})
# Whoever runs the command line holds the database itself: they act as an admin (no approval
# needed), recorded as "cli". No account has id 0.
OPERATOR = Principal(user_id=0, email=CLI_ACTOR, role="admin", department=None)

privacy_app = typer.Typer(
    help="Personal data the privacy guard found in a dataset, and what to do with it.",
    no_args_is_help=True,
)


def _check_exists(engine: sa.Engine, dataset_id: str) -> None:
    """NotFound naming the id (the operator may see every dataset: no need to hide one)."""
    with engine.connect() as conn:
        get_dataset(conn, dataset_id)


@privacy_app.command("show")
def show_command(
    dataset_id: str = typer.Argument(..., help="The dataset's id (xxxx-xxxx).", show_default=False),
) -> None:
    """Show a dataset's privacy findings and decisions, and what stands before publishing it.

    Example: civicport privacy show abcd-1234
    """
    with reporting_errors(), migrated_database() as engine, engine.connect() as conn:
        found = store.findings(conn, dataset_id)
        decided = {d.field_name: d for d in store.decisions(conn, dataset_id)}
        items = unresolved(conn, dataset_id)
        if not found and not decided:
            get_dataset(conn, dataset_id)  # NotFound for an unknown id, not "nothing found"
    if not found and not decided:
        typer.echo(f"Nothing found in {dataset_id}: no personal data was flagged.")
        return
    Console(soft_wrap=False).print(_table(found, decided))
    if items:
        typer.echo(f"{len(items)} unresolved: {dataset_id} cannot be made public until each is.")
        for line in resolution_flags(items):
            typer.echo(f"  {line}")
    else:
        typer.echo("Every finding is resolved.")


@privacy_app.command("decide")
def decide_command(
    dataset_id: str = typer.Argument(..., help="The dataset's id (xxxx-xxxx).", show_default=False),
    column: str = typer.Argument(..., help="The column's field name.", show_default=False),
    action: Action = typer.Argument(
        ...,
        help="drop the column, hash its values, generalize them (addresses, exact locations, "
        "small counts) or accept them (needs --reason).",
        show_default=False,
    ),
    reason: str = typer.Option("", "--reason", help="Why (required to accept)."),
) -> None:
    """Record a decision on one column; it applies to every later load.

    Example: civicport privacy decide abcd-1234 salary accept --reason "Public record"
    """
    with reporting_errors(), migrated_database() as engine:
        _check_exists(engine, dataset_id)
        choice = Choice(action.value, reason)
        [decision] = decide_columns(engine, OPERATOR, dataset_id, {column: choice})
    typer.echo(f"{dataset_id}: {column} → {decision.action}")
    if is_pending(decision):
        err_console.print(
            f"[yellow]The stored rows predate this decision: apply it to them with "
            f"`civicport privacy apply {dataset_id}`, or load the data again with "
            f"`civicport import FILE --id {dataset_id} --mode replace`.[/yellow]",
            highlight=False,
            soft_wrap=True,
        )


@privacy_app.command("apply")
def apply_command(
    dataset_id: str = typer.Argument(..., help="The dataset's id (xxxx-xxxx).", show_default=False),
) -> None:
    """Apply the pending decisions to the rows already stored, without a new file.

    The live rows are read back and loaded again as a replace, through every decision not yet
    applied to them; rows get new :ids. Prints what was applied to how many rows.

    Example: civicport privacy apply abcd-1234
    """
    with reporting_errors():
        settings = load_settings()
    with reporting_errors(), migrated_database(settings) as engine:
        _check_exists(engine, dataset_id)
        with row_progress(f"{dataset_id} (stored rows)") as progress:
            applied = apply_pending(engine, settings, OPERATOR, dataset_id, progress=progress)
        with engine.connect() as conn:
            left = unresolved(conn, dataset_id)
    if applied is None:
        typer.echo(f"Nothing to apply: no decision of {dataset_id} is pending.")
        return
    changes = ", ".join(f"{d.field_name} → {d.action}" for d in applied.decisions)
    typer.echo(f"{dataset_id}: {applied.row_count:,} rows loaded again through {changes}.")
    if left:
        err_console.print(
            f"[yellow]{len(left)} finding(s) still unresolved; see "
            f"`civicport privacy show {dataset_id}`.[/yellow]",
            highlight=False,
            soft_wrap=True,
        )


def resolution_flags(items: Sequence[Unresolved]) -> list[str]:
    """One line per unresolved column: the --privacy flag that resolves it, with the actions
    that fit (`--privacy name=drop|hash|accept:REASON`), or what to do for a pending one."""
    by_column: dict[str, list[str]] = {}
    for item in items:
        by_column.setdefault(item.column, []).append(item.kind)
    lines = []
    for column, kinds in by_column.items():
        found = [k for k in kinds if k != PENDING]
        if not found:
            lines.append(f"{column}: apply its decision with `civicport privacy apply`")
            continue
        actions = [a for a in DECISIONS if all(a in actions_for(k) for k in found)]
        choices = "|".join("accept:REASON" if a == "accept" else a for a in actions)
        lines.append(f"--privacy {column}={choices}")
    return lines


def error_items(data: dict[str, Any]) -> list[Unresolved]:
    """The unresolved items a PrivacyUnresolved error carries in its data."""
    return [
        Unresolved(item["column"], item["kind"], item["message"])
        for item in data.get("unresolved", ())
    ]


def _table(found: Sequence[Finding], decided: dict[str, Decision]) -> Table:
    table = Table()
    for header in ("column", "kind", "found", "examples", "decision", "status"):
        # Names, kinds and statuses whole; examples (masked) and reasons wrap, never cut.
        table.add_column(header, no_wrap=header in ("column", "kind", "status"), overflow="fold")
    shown: set[str] = set()
    for finding in found:
        decision = decided.get(finding.column)
        shown.add(finding.column)
        table.add_row(
            finding.column,
            finding.kind,
            f"{finding.share:.0%}",
            escape(", ".join(finding.examples)),
            *_decision_cells(decision, finding.kind),
        )
    for column, decision in decided.items():
        if column not in shown:
            table.add_row(column, "", "", "", *_decision_cells(decision, None))
    return table


def _decision_cells(decision: Decision | None, kind: str | None) -> list[str]:
    """The decision (action, by whom, and the reason) and the status of one table row."""
    if decision is None:
        return ["", "[red]unresolved[/red]"]
    made = f"{decision.action} ({escape(decision.decided_by)})"
    if decision.reason:
        made += f": {escape(decision.reason)}"
    if is_pending(decision):
        status = "[yellow]pending[/yellow]"  # decided after the rows were loaded
    elif kind is None or covers(decision, kind):
        status = "[green]resolved[/green]"
    else:
        status = "[red]unresolved[/red]"  # the decision was made before the column held this
    return [made, status]
