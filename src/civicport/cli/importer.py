"""`civicport import`: load a file into a new or existing dataset and print its id.

A Socrata export (a rows.json, or a CSV with `--socrata-view`) brings its catalog entry, field
names and column descriptions along; options given on the command line win over the view's.

Every import passes the privacy guard; `--privacy COLUMN=ACTION` gives its decisions. An import
the guard refuses prints what it found and the flags that resolve it, and changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import NoReturn

import typer
from rich.filesize import decimal
from rich.markup import escape

from civicport.auth.audit import CLI_ACTOR, record_event
from civicport.catalog.records import AUDIENCES, DatasetMetadata
from civicport.catalog.service import MODES, ImportResult, import_file
from civicport.catalog.store import dataset_exists
from civicport.cli.database import migrated_database
from civicport.cli.output import err_console, fail, reporting_errors, row_progress
from civicport.cli.privacy import error_items, resolution_flags
from civicport.config import load_settings
from civicport.ingest.points import PointSource
from civicport.ingest.records import ReadOptions
from civicport.ingest.socrata import SocrataView, is_rows_json, load_view
from civicport.ingest.socrata_metadata import view_metadata
from civicport.privacy.decisions import Choice, PrivacyUnresolved, Unresolved, parse_assignment
from civicport.privacy.guard import unresolved

# Typer shows and checks choices from an Enum; built from the catalog's own lists so the CLI
# cannot drift from what the service accepts.
Audience = StrEnum("Audience", {name: name for name in AUDIENCES})
Mode = StrEnum("Mode", {name: name for name in MODES})


def import_command(
    path: Path = typer.Argument(
        ...,
        help="CSV/TSV, Excel (.xlsx, .xls), JSON (an array of row objects), GeoJSON, "
        "GeoPackage, KML/KMZ, or a .zip holding a shapefile, a File Geodatabase (.gdb folder) "
        "or one such file; a Socrata rows.json export. What each format reads, and its "
        "limits: docs/formats.md.",
        show_default=False,
    ),
    title: str | None = typer.Option(
        None, "--title", help="Title of the new dataset (required with --mode create)."
    ),
    dataset_id: str | None = typer.Option(
        None,
        "--id",
        help="Dataset id (xxxx-xxxx): chosen for a new dataset, required for the other modes.",
    ),
    description: str | None = typer.Option(None, "--description", help="Description (Markdown)."),
    category: str | None = typer.Option(None, "--category", help="Catalog category."),
    tags: list[str] = typer.Option([], "--tag", help="A tag; repeat for more."),
    audience: Audience = typer.Option(
        Audience("private"), "--audience", help="Who may see a new dataset."
    ),
    row_id: str | None = typer.Option(
        None, "--row-id", help="Column whose values identify rows (needed by upsert)."
    ),
    types: list[str] = typer.Option(
        [],
        "--type",
        metavar="COLUMN=SODA_TYPE",
        help="Declare one column's type instead of inferring it (text, number, checkbox, "
        "floating_timestamp, point, …); repeat for more.",
    ),
    points: list[str] = typer.Option(
        [],
        "--point",
        metavar="NAME=LATITUDE,LONGITUDE",
        help="Add a point column NAME built from two number columns, e.g. "
        "--point location=lat,lng; repeat for more.",
    ),
    sheet: str | None = typer.Option(
        None, "--sheet", help="Workbook sheet to import, by name (default: the first)."
    ),
    layer: str | None = typer.Option(
        None,
        "--layer",
        help="GIS layer to import, by name (default: the first): a GeoPackage or KML layer, "
        "a File Geodatabase feature class, or a shapefile in a zip of several (its file name "
        "without .shp).",
    ),
    mode: Mode = typer.Option(
        Mode("create"),
        "--mode",
        help="create a dataset, or replace, append to or upsert into the one named by --id.",
    ),
    privacy: list[str] = typer.Option(
        [],
        "--privacy",
        metavar="COLUMN=ACTION",
        help="A privacy decision on a column the guard flags: drop, hash, generalize (addresses "
        "to their hundred block, exact locations to a coarser grid) or accept:REASON; kept "
        "for later loads. Repeat for more.",
    ),
    socrata_view: Path | None = typer.Option(
        None,
        "--socrata-view",
        metavar="VIEW.json",
        help="The Socrata dataset's /api/views/{id}.json, for a CSV exported from Socrata: "
        "gives the columns their field names, types and descriptions, and the dataset its "
        "title, description, tags, license and id.",
    ),
) -> None:
    """Import PATH as a dataset and print the dataset's id.

    Example: civicport import permits.csv --title "Building permits" --tag permits --row-id permit

    Example: civicport import parcels.zip --title "Parcels" --layer parcels_2024

    Example: civicport import c6rw-fazn.rows.json

    Example: civicport import permits.csv --socrata-view permits-view.json
    """
    if mode != "create" and not dataset_id:
        raise typer.BadParameter(f"--mode {mode.value} needs the dataset's id", param_hint="--id")
    with reporting_errors():
        overrides = parse_type_overrides(types)
        point_sources = parse_points(points)
        decisions = dict(parse_assignment(value) for value in privacy)
        for given in (path, socrata_view):
            if given is not None and not given.is_file():
                fail(f"No such file: {given}")
        view = socrata_view_of(path, socrata_view)
        base = view_metadata(view) if view else DatasetMetadata(title="")
        metadata = dataclasses.replace(
            base,
            title=(title or base.title).strip(),
            description=base.description if description is None else description,
            category=category or base.category,
            tags=tuple(tags) or base.tags,
            audience=audience.value,
        )
        if mode == "create" and not metadata.title:
            raise typer.BadParameter("a new dataset needs a title", param_hint="--title")
        if view and mode == "create":
            row_id = row_id or view.row_identifier
        try:
            result, left = _run_import(
                path,
                metadata,
                dataset_id,
                mode.value,
                row_id,
                overrides,
                point_sources,
                decisions,
                ReadOptions(sheet=sheet, layer=layer, socrata_view=socrata_view),
                view.view_id if view and mode == "create" else None,
            )
        except PrivacyUnresolved as error:
            _refused(error)
    err_console.print(_summary(result), highlight=False, soft_wrap=True)
    if left:
        err_console.print(
            f"[yellow]Privacy: {len(left)} finding(s) unresolved, so {result.dataset_id} cannot "
            f"be made public yet; see `civicport privacy show {result.dataset_id}`.[/yellow]",
            highlight=False,
            soft_wrap=True,
        )
    typer.echo(result.dataset_id)


def _refused(error: PrivacyUnresolved) -> NoReturn:
    """What the guard found, and the flags that resolve it; nothing was imported."""
    err_console.print(f"[red]Error: {escape(error.message)}[/red]", highlight=False, soft_wrap=True)
    err_console.print("Nothing was imported. Import again with a decision for each column:")
    for line in resolution_flags(error_items(error.data)):
        err_console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


def socrata_view_of(path: Path, view_path: Path | None) -> SocrataView | None:
    """The Socrata view an import brings along: --socrata-view's, or a rows.json's own."""
    if view_path is not None:
        return load_view(view_path)
    if path.suffix.lower() == ".json" and is_rows_json(path):
        return load_view(path)
    return None


def parse_type_overrides(values: list[str]) -> dict[str, str]:
    """`["zip=text", "location=point"]` → `{"zip": "text", "location": "point"}`.

    Raises InvalidUpload (via fail) when an item is not COLUMN=SODA_TYPE.
    """
    overrides: dict[str, str] = {}
    for value in values:
        column, sep, soda_type = value.rpartition("=")
        if not sep or not column.strip() or not soda_type.strip():
            fail(f"--type '{value}' is not COLUMN=SODA_TYPE, for example --type zip_code=text")
        overrides[column.strip()] = soda_type.strip()
    return overrides


def parse_points(values: list[str]) -> list[PointSource]:
    """`["location=lat,lng"]` → `[PointSource("location", "lat", "lng")]`."""
    sources = []
    for value in values:
        name, sep, pair = value.partition("=")
        latitude, comma, longitude = pair.partition(",")
        if not (sep and comma and name.strip() and latitude.strip() and longitude.strip()):
            fail(
                f"--point '{value}' is not NAME=LATITUDE,LONGITUDE, "
                "for example --point location=lat,lng"
            )
        sources.append(PointSource(name.strip(), latitude.strip(), longitude.strip()))
    return sources


def _run_import(
    path: Path,
    metadata: DatasetMetadata,
    dataset_id: str | None,
    mode: str,
    row_id: str | None,
    overrides: dict[str, str],
    points: list[PointSource],
    decisions: Mapping[str, Choice],
    read_options: ReadOptions,
    suggested_id: str | None,
) -> tuple[ImportResult, list[Unresolved]]:
    """Import, record it in the audit log, and say what the guard left unresolved.

    A new dataset takes `suggested_id` (the Socrata view's id) unless --id named one or the
    id is taken, so links people kept from Socrata still point at it.
    """
    settings = load_settings()
    # An archive may unpack to no more than an upload may be.
    read_options = dataclasses.replace(read_options, max_unpacked_bytes=settings.max_upload_bytes)
    with migrated_database(settings) as engine:
        if dataset_id is None and suggested_id:
            with engine.connect() as conn:
                if not dataset_exists(conn, suggested_id):
                    dataset_id = suggested_id
        with row_progress(f"{path.name} ({decimal(path.stat().st_size)})") as progress:
            result = import_file(
                engine,
                path,
                metadata=metadata if mode == "create" else None,
                dataset_id=dataset_id,
                mode=mode,
                row_identifier=row_id,
                type_overrides=overrides or None,
                points=points,
                progress=progress,
                privacy_decisions=decisions,
                decided_by=CLI_ACTOR,
                read_options=read_options,
            )
        # The import committed in its own transaction; recorded once it has succeeded.
        with engine.begin() as conn:
            record_event(
                conn,
                actor=CLI_ACTOR,
                action="dataset.import",
                dataset_id=result.dataset_id,
                detail=_audit_detail(result, path),
            )
            for column, choice in decisions.items():
                record_event(
                    conn,
                    actor=CLI_ACTOR,
                    action="privacy.decide",
                    dataset_id=result.dataset_id,
                    detail={"column": column, "decision": choice.action, "reason": choice.reason},
                )
            left = unresolved(conn, result.dataset_id)
        return result, left


def _audit_detail(result: ImportResult, path: Path) -> dict[str, object]:
    return {
        "mode": result.mode,
        "file": path.name,
        "rows_created": result.rows_created,
        "rows_updated": result.rows_updated,
        "rows_deleted": result.rows_deleted,
        "row_count": result.row_count,
    }


def _summary(result: ImportResult) -> str:
    changes = ", ".join(
        f"{count:,} {what}"
        for count, what in (
            (result.rows_created, "created"),
            (result.rows_updated, "updated"),
            (result.rows_deleted, "deleted"),
        )
        if count
    )
    done = {"create": "Created", "replace": "Replaced", "append": "Appended to"}
    return (
        f"[green]{done.get(result.mode, 'Upserted into')}[/green] {result.dataset_id}: "
        f"{changes or 'no changes'}; {result.row_count:,} rows now."
    )
