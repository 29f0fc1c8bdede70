"""`civicport sync set|remove|list|run|history`: where a dataset's data comes from, when it is
fetched again, and how each sync went.

`sync run` runs a sync in the foreground with a progress bar and records it in the history like
the worker does (a foreground run is not retried and sends no alert: the person is watching);
`sync run --queue` leaves it to the worker.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from civicport.auth.audit import CLI_ACTOR, record_event
from civicport.catalog.sources import (
    SYNC_MODES,
    SourceRecord,
    list_sources,
    remove_source,
    set_source,
)
from civicport.catalog.store import dataset_exists
from civicport.cli.database import migrated_database
from civicport.cli.output import err_console, fail, reporting_errors
from civicport.config import Settings, load_settings
from civicport.errors import NotFound
from civicport.ingest.sources import SourceSpec
from civicport.jobs.execute import describe_counts, execute_run
from civicport.jobs.progress import ProgressReporter
from civicport.jobs.queue import queue_for, record_sync
from civicport.jobs.runs import RunRecord, latest_runs, list_runs, worker_name

sync_app = typer.Typer(
    help="Sources and schedules: fetch a dataset's data again by itself.", no_args_is_help=True
)
SyncMode = StrEnum("SyncMode", {name: name for name in SYNC_MODES})  # type: ignore[misc]


class Format(StrEnum):
    table = "table"
    json = "json"


FORMAT_OPTION = typer.Option(Format.table, "--format", help="table to read, json for scripts.")


PIPE_WIDTH = 200
KIND_OPTIONS = ("--url", "--file", "--sql", "--soda", "--ckan", "--arcgis")


@sync_app.command("set")
def set_command(
    dataset_id: str = typer.Argument(..., help="The dataset's id (xxxx-xxxx).", show_default=False),
    url: str | None = typer.Option(None, "--url", help="An http(s) URL of a file or an API."),
    file: Path | None = typer.Option(
        None, "--file", help="A file on a mounted share (a shapefile by its .shp)."
    ),
    sql: str | None = typer.Option(
        None, "--sql", metavar="DATABASE_URL", help="A SQLAlchemy database URL (with --query)."
    ),
    query: str | None = typer.Option(None, "--query", help="The SQL query of a --sql source."),
    soda: str | None = typer.Option(
        None, "--soda", help="A Socrata (SODA) dataset: its /resource/{id}.json URL."
    ),
    ckan: str | None = typer.Option(None, "--ckan", help="A CKAN resource: its page URL."),
    arcgis: str | None = typer.Option(
        None, "--arcgis", help="An ArcGIS Feature Service layer URL (…/FeatureServer/0)."
    ),
    headers: list[str] = typer.Option(
        [],
        "--header",
        metavar="'NAME: VALUE'",
        help="An HTTP header sent with each request (an API key); repeat for more. Values are "
        "kept secret: never shown again.",
    ),
    data_format: str | None = typer.Option(
        None, "--format", help="The data's format when the address does not tell (csv, xlsx…)."
    ),
    sheet: str | None = typer.Option(None, "--sheet", help="A workbook's sheet, by name."),
    layer: str | None = typer.Option(None, "--layer", help="A GIS file's layer, by name."),
    schedule: str | None = typer.Option(
        None,
        "--schedule",
        help="When to sync: a cron expression ('0 6 * * *', in the time_zone setting) or "
        "'every 6 hours', 'daily'…; none: only when run by hand.",
    ),
    mode: SyncMode = typer.Option(
        SyncMode("replace"),
        "--mode",
        help="replace the rows, append them, or upsert by the row identifier.",
    ),
    webhook: str | None = typer.Option(
        None, "--webhook", help="A URL that hears (JSON POST) of failed syncs and lapses."
    ),
    attempts: int = typer.Option(
        3, "--attempts", help="Tries per sync before the owner is alerted (1-10)."
    ),
    disable: bool = typer.Option(
        False, "--disable", help="Keep the source but do not run it on its schedule."
    ),
) -> None:
    """Give a dataset a source (replacing any it had), and optionally a schedule.

    Example: civicport sync set abcd-1234 --url https://city.gov/permits.csv --schedule '0 6 * * *'

    Example: civicport sync set abcd-1234 --sql postgresql://reader@gis/city
    --query 'SELECT * FROM parcels' --schedule daily --mode upsert
    """
    locations = {
        "url": url,
        "file": str(file.resolve()) if file else None,
        "sql": sql,
        "soda": soda,
        "ckan": ckan,
        "arcgis": arcgis,
    }
    read = {"format": data_format, "sheet": sheet, "layer": layer}
    spec = source_spec(locations, query, parse_headers(headers), read)
    settings = load_settings()
    with reporting_errors(), migrated_database(settings) as engine, engine.begin() as conn:
        source = set_source(
            conn,
            dataset_id,
            spec,
            schedule=schedule,
            mode=mode.value,
            webhook_url=webhook,
            max_attempts=attempts,
            enabled=not disable,
            now=dt.datetime.now(dt.UTC),
            time_zone=settings.time_zone,
            allowed_dirs=settings.source_dirs,
        )
        record_event(
            conn,
            actor=CLI_ACTOR,
            action="source.set",
            dataset_id=dataset_id,
            detail={"kind": spec.kind, "schedule": source.schedule, "mode": source.mode},
        )
    typer.echo(describe(source))


@sync_app.command("remove")
def remove_command(
    dataset_id: str = typer.Argument(..., help="The dataset's id.", show_default=False),
) -> None:
    """Remove a dataset's source and schedule (its rows and run history stay).

    Example: civicport sync remove abcd-1234
    """
    with reporting_errors(), migrated_database() as engine, engine.begin() as conn:
        remove_source(conn, dataset_id)
        record_event(conn, actor=CLI_ACTOR, action="source.remove", dataset_id=dataset_id)
    err_console.print(f"Removed the source of {dataset_id}.", highlight=False)


@sync_app.command("list")
def list_command(
    output: Format = FORMAT_OPTION,
) -> None:
    """List every dataset's source, schedule, next run and last run.

    Example: civicport sync list
    """
    with reporting_errors(), migrated_database() as engine, engine.connect() as conn:
        sources = list_sources(conn)
        last = latest_runs(conn, [s.dataset_id for s in sources])
    if output is Format.json:
        typer.echo(_json([source_json(s, last.get(s.dataset_id)) for s in sources]))
    elif not sources:
        err_console.print("No dataset has a source; add one with `civicport sync set`.")
    else:
        _stdout().print(_sources_table(sources, last))


@sync_app.command("run")
def run_command(
    dataset_id: str = typer.Argument(..., help="The dataset's id.", show_default=False),
    queue: bool = typer.Option(
        False, "--queue", help="Only queue the sync for the worker, and print its run id."
    ),
) -> None:
    """Sync a dataset now, in the foreground, and print the run's id.

    Exit code 1, with the reason, when the sync fails; the dataset then keeps its rows.

    Example: civicport sync run abcd-1234
    """
    settings = load_settings()
    with reporting_errors(), migrated_database(settings) as engine:
        run_id = record_sync(engine, settings, dataset_id, requested_by=CLI_ACTOR)
        if queue:
            queue_for(settings).enqueue(run_id)
            err_console.print(f"Queued run {run_id}; `civicport worker` runs it.", highlight=False)
            typer.echo(run_id)
            return
        run = _run_in_foreground(engine, settings, run_id)
    if run.status != "succeeded":
        fail(f"Run {run.id} failed: {run.error}")
    err_console.print(f"[green]Run {run.id} succeeded[/green]: {describe_counts(run)}.")
    for warning in run.warnings:
        err_console.print(f"[yellow]Warning: {escape(warning)}[/yellow]", soft_wrap=True)
    typer.echo(run.id)


@sync_app.command("history")
def history_command(
    dataset_id: str = typer.Argument(..., help="The dataset's id.", show_default=False),
    limit: int = typer.Option(20, "--limit", min=1, help="At most this many runs, newest first."),
    output: Format = FORMAT_OPTION,
) -> None:
    """Show a dataset's runs: start, end, status, rows added, changed and removed, duration,
    error.

    Example: civicport sync history abcd-1234 --limit 5
    """
    with reporting_errors(), migrated_database() as engine, engine.connect() as conn:
        runs = list_runs(conn, dataset_id, limit=limit)
        if not runs and not dataset_exists(conn, dataset_id):
            raise NotFound(f"Dataset '{dataset_id}' not found")
    if output is Format.json:
        typer.echo(_json([run_json(run) for run in runs]))
    elif not runs:
        err_console.print(f"{dataset_id} has no runs yet.")
    else:
        console = _stdout()
        console.print(_history_table(runs))
        # Errors are sentences: below the table, whole, rather than folded into a column.
        for run in runs:
            if run.error:
                console.print(f"Run {run.id}: {escape(run.error)}", highlight=False, soft_wrap=True)


def source_spec(
    locations: Mapping[str, str | None],
    query: str | None,
    headers: Mapping[str, str],
    read: Mapping[str, str | None],
) -> SourceSpec:
    """The spec the options describe: exactly one location (by kind), and a query with sql only;
    typer.BadParameter (exit code 2) otherwise."""
    given = {kind: location for kind, location in locations.items() if location is not None}
    if len(given) != 1:
        raise typer.BadParameter(
            f"give exactly one of {', '.join(KIND_OPTIONS)}", param_hint="source"
        )
    ((kind, location),) = given.items()
    if (kind == "sql") != (query is not None):
        raise typer.BadParameter(
            "--query goes with --sql, and --sql needs one", param_hint="--query"
        )
    options = {name: value for name, value in read.items() if value}
    return SourceSpec(kind=kind, location=location, query=query, headers=headers, options=options)


def parse_headers(values: list[str]) -> dict[str, str]:
    """`["X-Api-Key: s3cret"]` → `{"X-Api-Key": "s3cret"}`."""
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise typer.BadParameter(
                "a header is 'Name: value', for example --header 'X-Api-Key: abc123'",
                param_hint="--header",
            )
        headers[name.strip()] = content.strip()
    return headers


def describe(source: SourceRecord) -> str:
    """What `sync set` prints: the source as stored, without secrets."""
    when = f"schedule {source.schedule}" if source.schedule else "run by hand only"
    if source.schedule and not source.enabled:
        when += " (disabled)"
    elif source.next_run_at:
        when += f", next run {_time(source.next_run_at)}"
    return f"{source.dataset_id}: {_source_line(source)}; {when}; mode {source.mode}"


def _source_line(source: SourceRecord) -> str:
    names = ", ".join(source.header_names)
    return source.description + (f" (headers: {names})" if names else "")


def _run_in_foreground(engine: sa.Engine, settings: Settings, run_id: int) -> RunRecord:
    with _sync_progress() as listener:
        progress = ProgressReporter(queue_for(settings).huey, run_id, listener=listener)
        run = execute_run(engine, settings, run_id, worker=worker_name(), progress=progress)
    # Just recorded by this process and claimed by nobody else: only a worker that picked up
    # a lost message of this run could have taken it first.
    if run is None:
        fail(f"Run {run_id} was taken by a worker; see `civicport sync history`.")
    return run


@contextmanager
def _sync_progress() -> Iterator[Any]:
    """A live "phase: N rows" line on stderr; yields the listener a ProgressReporter calls."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[amount]}"),
        TimeElapsedColumn(),
    )
    shown = err_console.is_terminal
    with Progress(*columns, console=err_console, transient=True, disable=not shown) as bar:
        task = bar.add_task("fetching", total=None, amount="")

        def listen(state: Mapping[str, Any]) -> None:
            if state["phase"] == "loading":
                amount = f"[bold]{state['rows']:,}[/bold] rows"
            else:
                amount = f"[bold]{state['bytes'] / 1e6:,.1f}[/bold] MB"
            bar.update(task, description=state["phase"], amount=amount)

        yield listen


def _sources_table(sources: list[SourceRecord], last: Mapping[str, RunRecord]) -> Table:
    rows = []
    for source in sources:
        run = last.get(source.dataset_id)
        rows.append(
            (
                source.dataset_id,
                _source_line(source),
                (source.schedule or "by hand") + ("" if source.enabled else " (disabled)"),
                source.mode,
                _time(source.next_run_at),
                f"{run.status} {_time(run.ended_at or run.queued_at)}" if run else "never",
            )
        )
    headers = ("dataset", "source", "schedule", "mode", "next run", "last run")
    # A long URL folds over several lines; the short columns keep their width.
    return _table(headers, rows, folded="source")


def _history_table(runs: list[RunRecord]) -> Table:
    rows = []
    for run in runs:
        counts = (run.rows_added, run.rows_changed, run.rows_removed)
        rows.append(
            (
                str(run.id),
                run.trigger if run.attempt == 1 else f"{run.trigger} #{run.attempt}",
                _time(run.started_at),
                _time(run.ended_at, of_day=run.started_at),
                run.status,
                " ".join(f"{s}{n:,}" for s, n in zip("+~−", counts, strict=True))
                if run.status == "succeeded"
                else "—",
                _duration(run.duration),
            )
        )
    headers = ("run", "trigger", "start", "end", "status", "rows (+ ~ −)", "took")
    return _table(headers, rows)


def _stdout() -> Console:
    """A console on stdout; as wide as the terminal, or wide enough for a whole row when the
    output goes to a file or a pipe (which do not wrap lines)."""
    console = Console(soft_wrap=False)
    return console if console.is_terminal else Console(soft_wrap=False, width=PIPE_WIDTH)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], folded: str = "") -> Table:
    table = Table(box=box.SIMPLE, pad_edge=False)
    for index, header in enumerate(headers):
        if header == folded:
            table.add_column(header, overflow="fold")
        else:
            width = max(len(header), *(len(row[index]) for row in rows))
            table.add_column(header, no_wrap=True, min_width=width)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table


def source_json(source: SourceRecord, last: RunRecord | None) -> dict[str, Any]:
    """A source as `sync list --format json` prints it: no header values, the webhook's host."""
    return {
        "dataset_id": source.dataset_id,
        "kind": source.spec.kind,
        "source": source.description,
        "headers": list(source.header_names),
        "schedule": source.schedule,
        "mode": source.mode,
        "enabled": source.enabled,
        "next_run_at": _iso(source.next_run_at),
        "webhook_host": urlsplit(source.webhook_url).hostname if source.webhook_url else None,
        "max_attempts": source.max_attempts,
        "last_run": run_json(last) if last else None,
    }


def run_json(run: RunRecord) -> dict[str, Any]:
    """A run as `sync history --format json` prints it."""
    return {
        "id": run.id,
        "dataset_id": run.dataset_id,
        "trigger": run.trigger,
        "attempt": run.attempt,
        "status": run.status,
        "requested_by": run.requested_by,
        "queued_at": _iso(run.queued_at),
        "started_at": _iso(run.started_at),
        "ended_at": _iso(run.ended_at),
        "duration_seconds": run.duration.total_seconds() if run.duration else None,
        "rows_added": run.rows_added,
        "rows_changed": run.rows_changed,
        "rows_removed": run.rows_removed,
        "version": run.version,
        "error": run.error,
        "warnings": list(run.warnings),
    }


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: dt.datetime | None, *, of_day: dt.datetime | None = None) -> str:
    """A time (UTC) as people read it; only the clock when it is on the day of `of_day`."""
    if value is None:
        return "—"
    if of_day is not None and of_day.date() == value.date():
        return f"{value:%H:%M}"
    return f"{value:%Y-%m-%d %H:%M}"


def _duration(value: dt.timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = value.total_seconds()
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60)} s"
