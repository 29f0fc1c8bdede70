"""`civicport audit list|prune`: read, export and shorten the audit log (who did what and when)."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum

import typer
from rich.console import Console
from rich.table import Table

from civicport.auth.audit import MOST_EVENTS, AuditEvent, events_csv, list_events, prune_events
from civicport.cli.database import migrated_database
from civicport.cli.output import fail, reporting_errors

audit_app = typer.Typer(help="The audit log: who did what and when.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@audit_app.command("list")
def list_command(
    since: str | None = typer.Option(
        None, "--since", help="Only events at or after this ISO 8601 time (naive: UTC)."
    ),
    actor: str | None = typer.Option(
        None, "--actor", help="Only this actor: an email, cli or anonymous."
    ),
    action: str | None = typer.Option(
        None, "--action", help="Only this action, e.g. dataset.upsert or key.create."
    ),
    dataset_id: str | None = typer.Option(None, "--dataset", help="Only this dataset's events."),
    limit: int = typer.Option(
        1000, "--limit", help=f"At most this many events (≤ {MOST_EVENTS:,})."
    ),
    output: Format = typer.Option(
        Format.table, "--format", help="table to read, csv or json to export."
    ),
) -> None:
    """List audit events, newest first, to standard output."""
    with reporting_errors():
        try:
            start = dt.datetime.fromisoformat(since) if since else None
        except ValueError:
            fail(f"--since '{since}' is not an ISO 8601 time, for example 2026-01-31T08:00")
        if not 0 <= limit <= MOST_EVENTS:
            fail(f"--limit must be between 0 and {MOST_EVENTS:,}")
        with migrated_database() as engine, engine.connect() as conn:
            events = list_events(
                conn, since=start, actor=actor, action=action, dataset_id=dataset_id, limit=limit
            )
    if output is Format.csv:
        typer.echo(events_csv(events), nl=False)
    elif output is Format.json:
        typer.echo(json.dumps([e.as_dict() for e in events], indent=2, default=str))
    else:
        _print_table(events)


@audit_app.command("prune")
def prune_command(
    older_than: int = typer.Option(
        ..., "--older-than", min=1, help="Delete events older than this many days."
    ),
) -> None:
    """Delete old audit events (the pruning itself is recorded). Keep at least as long as your
    records-retention schedule asks."""
    before = dt.datetime.now(dt.UTC) - dt.timedelta(days=older_than)
    with reporting_errors(), migrated_database() as engine, engine.begin() as conn:
        count = prune_events(conn, before=before, actor="cli")
    typer.echo(f"Deleted {count:,} audit events from before {before:%Y-%m-%d %H:%M} UTC.")


def _print_table(events: list[AuditEvent]) -> None:
    table = Table("at (UTC)", "actor", "action", "dataset", "detail", "client")
    for event in events:
        detail = ", ".join(f"{k}={v}" for k, v in event.detail.items())
        table.add_row(
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.actor,
            event.action,
            event.dataset_id or "",
            detail,
            event.client or "",
        )
    if events:
        Console(soft_wrap=False).print(table)
    else:
        typer.echo("No audit events.")
