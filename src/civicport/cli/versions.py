"""`civicport versions list|diff|rollback|prune`: a dataset's versions from the command line."""

from __future__ import annotations

from enum import StrEnum

import orjson
import typer
from rich.console import Console
from rich.table import Table

from civicport.api.versions import diff_entries, version_json
from civicport.auth.audit import record_event
from civicport.catalog.diffs import diff_versions
from civicport.catalog.rollback import roll_back
from civicport.catalog.store import get_dataset
from civicport.catalog.versions import list_versions, prune_all
from civicport.cli.database import migrated_database
from civicport.cli.output import reporting_errors
from civicport.config import load_settings

versions_app = typer.Typer(
    help="A dataset's versions: list them, compare two, roll back to one.", no_args_is_help=True
)


class Format(StrEnum):
    table = "table"
    json = "json"


@versions_app.command("list")
def list_command(
    dataset_id: str = typer.Argument(..., help="The dataset's id."),
    output: Format = typer.Option(
        Format.table, "--format", help="table to read, json for scripts."
    ),
) -> None:
    """The dataset's kept versions, newest first, with the rows each added, changed and
    removed."""
    with reporting_errors(), migrated_database() as engine, engine.connect() as conn:
        current = get_dataset(conn, dataset_id).data_version
        versions = list_versions(conn, dataset_id)
    if output is Format.json:
        shown = [version_json(v, current=current, author=True) for v in versions]
        typer.echo(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("version", "made at (UTC)", "by", "operation", "added", "changed", "removed",
                  "rows")  # fmt: skip
    for v in versions:
        mark = " (current)" if v.version == current else ""
        table.add_row(
            f"{v.version}{mark}", f"{v.made_at:%Y-%m-%d %H:%M:%S}", v.made_by, v.operation,
            f"{v.rows_added:,}", f"{v.rows_changed:,}", f"{v.rows_removed:,}", f"{v.row_count:,}",
        )  # fmt: skip
    Console().print(table)


@versions_app.command("diff")
def diff_command(
    dataset_id: str = typer.Argument(..., help="The dataset's id."),
    older: int = typer.Argument(..., help="One version's number."),
    newer: int = typer.Argument(..., help="The other version's number."),
) -> None:
    """The rows that differ between two versions, one JSON object per line: change (added,
    removed, changed), key (the row identifier's value, or a hash of the row), the columns
    that changed and the values before and after."""
    with reporting_errors(), migrated_database() as engine, engine.connect() as conn:
        diff = diff_versions(conn, get_dataset(conn, dataset_id), older, newer)
        for entry in diff_entries(diff, conn):
            typer.echo(orjson.dumps(entry).decode())


@versions_app.command("rollback")
def rollback_command(
    dataset_id: str = typer.Argument(..., help="The dataset's id."),
    version: int = typer.Argument(..., help="The kept version to make current again."),
) -> None:
    """Make an earlier version current again. The rollback is a new version: nothing is lost,
    and rolling back to the version before it undoes it."""
    with reporting_errors(), migrated_database() as engine:
        result = roll_back(engine, dataset_id, version, made_by="cli")
        with engine.begin() as conn:
            record_event(
                conn, actor="cli", action="dataset.rollback", dataset_id=dataset_id,
                detail={"to": version, "version": result.version},
            )  # fmt: skip
    typer.echo(
        f"Dataset {dataset_id} is at version {result.version}, the rows of version {version}: "
        f"{result.rows_created:,} added, {result.rows_updated:,} changed, "
        f"{result.rows_deleted:,} removed; {result.row_count:,} rows."
    )


@versions_app.command("prune")
def prune_command(
    keep: int | None = typer.Option(
        None,
        "--keep",
        min=1,
        help="Versions to keep per dataset (default: the keep_versions setting).",
    ),  # fmt: skip
) -> None:
    """Forget every dataset's versions beyond the newest few (the worker does this daily)."""
    settings = load_settings()
    with reporting_errors(), migrated_database(settings) as engine:
        forgotten = prune_all(engine, keep or settings.keep_versions)
    typer.echo(f"Dropped {forgotten} table(s) no kept version needs.")
