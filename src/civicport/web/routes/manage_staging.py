"""Staged uploads: a file a publisher sent from the browser, kept until they save it.

Publishing from the browser takes two requests: the upload, then the review form. Between them
the file waits under ``$CIVICPORT_HOME/files/uploads`` named by a random token (never by the
sender's file name, which is only shown), beside a small JSON note of who sent it, for which
dataset, and what the first reading found (columns, types, privacy findings), so the review page
does not read the whole file again. Only the sender may open a staged upload; anyone else, and
any token that is not one, gets the answer for a missing page. Uploads older than a day are
removed whenever a new one arrives, so abandoned files do not pile up.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from civicport.config import Settings
from civicport.errors import InvalidUpload, NotFound, PayloadTooLarge
from civicport.ingest.fieldnames import name_columns
from civicport.ingest.reader import read_file
from civicport.ingest.readers import EXTENSIONS, format_of, open_source
from civicport.ingest.records import ParsedTable, ReadOptions
from civicport.privacy.findings import Finding
from civicport.privacy.scan import scan_table

MAX_AGE = dt.timedelta(days=1)
COPY_CHUNK = 1024 * 1024
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(frozen=True)
class StagedColumn:
    """One column as the upload's first reading named and typed it. `from_file` is False for a
    column the reader added (a location's address text), whose type cannot be changed."""

    field_name: str
    display_name: str
    soda_type: str
    from_file: bool = True


@dataclass(frozen=True)
class StagedUpload:
    """A staged file and what its first reading found."""

    token: str
    owner_id: int
    file_name: str  # as the sender's computer called it: shown, never used as a path
    suffix: str  # the file type, from the registered readers' extensions
    created_at: str  # ISO 8601, UTC
    dataset_id: str | None = None  # the dataset whose data it replaces; None: a new dataset
    columns: tuple[StagedColumn, ...] = ()
    findings: tuple[Finding, ...] = ()


def uploads_dir(settings: Settings) -> Path:
    return settings.files_dir / "uploads"


def accepted_extensions() -> list[str]:
    """The file types the readers know ('.csv', '.xlsx', …), for the form's accept list."""
    return sorted(EXTENSIONS)


def stage_file(
    settings: Settings,
    source: IO[bytes],
    *,
    file_name: str,
    owner_id: int,
    dataset_id: str | None = None,
) -> StagedUpload:
    """Copy an uploaded file into the staging folder and read it once (types, findings).

    Raises InvalidUpload (unknown file type, or the reader's own message for a file it cannot
    read) and PayloadTooLarge (over `max_upload_bytes`); the staged file is gone either way.
    """
    now = dt.datetime.now(dt.UTC)
    suffix = Path(file_name).suffix.lower()
    format_of(Path(file_name or "upload"))  # InvalidUpload naming the supported types
    folder = uploads_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    remove_expired(settings, now)
    token = secrets.token_urlsafe(24)
    path = folder / f"{token}{suffix}"
    try:
        _copy(source, path, settings.max_upload_bytes)
        columns, findings = _first_reading(path, settings)
    except InvalidUpload as exc:
        path.unlink(missing_ok=True)
        # The reader names the file it read: the sender knows it by their own name.
        exc.message = exc.message.replace(path.name, Path(file_name).name)
        raise
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    staged = StagedUpload(
        token=token,
        owner_id=owner_id,
        file_name=Path(file_name).name[:200],
        suffix=suffix,
        created_at=now.isoformat(),
        dataset_id=dataset_id,
        columns=tuple(columns),
        findings=tuple(findings),
    )
    _note_path(folder, token).write_text(json.dumps(asdict(staged)), encoding="utf-8")
    return staged


def staged_upload(settings: Settings, token: str, owner_id: int) -> StagedUpload:
    """The staged upload `token` if `owner_id` sent it; NotFound for anything else."""
    if not _TOKEN.fullmatch(token):
        raise NotFound("This upload does not exist or has expired")
    note = _note_path(uploads_dir(settings), token)
    try:
        values = json.loads(note.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NotFound("This upload does not exist or has expired") from None
    staged = StagedUpload(
        **{
            **values,
            "columns": tuple(StagedColumn(**c) for c in values["columns"]),
            "findings": tuple(_finding(f) for f in values["findings"]),
        }
    )
    if staged.owner_id != owner_id or not staged_path(settings, staged).is_file():
        raise NotFound("This upload does not exist or has expired")
    return staged


def staged_path(settings: Settings, staged: StagedUpload) -> Path:
    return uploads_dir(settings) / f"{staged.token}{staged.suffix}"


def read_staged(
    settings: Settings,
    staged: StagedUpload,
    *,
    type_overrides: dict[str, str],
) -> ParsedTable:
    """The staged file read again with the types the publisher chose (by the first reading's
    field names). InvalidUpload names the first cell that does not fit a chosen type."""
    return read_file(
        staged_path(settings, staged),
        type_overrides=type_overrides or None,
        options=_options(settings),
    )


def scan_parsed(table: ParsedTable, *, category: str | None) -> list[Finding]:
    """The privacy scan of a parsed table's first rows; the table's rows are used up."""
    rows = table.rows
    try:
        return scan_table(table.columns, rows, category=category)
    finally:
        _close(rows)


@contextmanager
def claimed(settings: Settings, staged: StagedUpload) -> Iterator[None]:
    """Hold a staged upload while it is saved, and remove it once it is.

    The note is moved aside first, so a second save of the same upload (a double click) finds
    nothing (NotFound) instead of making a second dataset. If saving fails, the upload is given
    back for another try.
    """
    note = _note_path(uploads_dir(settings), staged.token)
    held = note.with_name(f"{staged.token}.saving.json")
    try:
        note.rename(held)
    except FileNotFoundError:
        raise NotFound("This upload is already saved or being saved") from None
    try:
        yield
    except BaseException:
        held.rename(note)
        raise
    held.unlink(missing_ok=True)
    staged_path(settings, staged).unlink(missing_ok=True)


def remove_expired(settings: Settings, now: dt.datetime) -> None:
    """Remove staged files older than MAX_AGE (their notes included)."""
    oldest = (now - MAX_AGE).timestamp()
    for path in _entries(uploads_dir(settings)):
        with suppress(OSError):  # another process may have removed it first
            if path.stat().st_mtime < oldest:
                path.unlink()


def _entries(folder: Path) -> Iterable[Path]:
    return folder.iterdir() if folder.is_dir() else ()


def _note_path(folder: Path, token: str) -> Path:
    return folder / f"{token}.note.json"


def _copy(source: IO[bytes], path: Path, max_bytes: int) -> None:
    copied = 0
    with path.open("xb") as target:
        while chunk := source.read(COPY_CHUNK):
            copied += len(chunk)
            if copied > max_bytes:
                raise PayloadTooLarge(
                    f"The file is too large: at most {max_bytes:,} bytes can be uploaded"
                )
            target.write(chunk)
    if copied == 0:
        raise InvalidUpload("The file is empty: choose a file with a header row and data")


def _options(settings: Settings) -> ReadOptions:
    """How uploads are read: an archive may unpack to no more than an upload may weigh."""
    return ReadOptions(max_unpacked_bytes=settings.max_upload_bytes)


def _first_reading(path: Path, settings: Settings) -> tuple[list[StagedColumn], list[Finding]]:
    """The columns the reader infers and what the privacy scan finds in the first rows (the
    category is not known yet: the review page asks for it, and saving scans again)."""
    source = open_source(path, _options(settings))
    _close(source.rows)
    from_file = {f for f, _ in name_columns(source.headers)}
    table = read_file(path, options=_options(settings))
    columns = [
        StagedColumn(c.field_name, c.display_name, c.soda_type, c.field_name in from_file)
        for c in table.columns
    ]
    return columns, scan_parsed(table, category=None)


def _close(rows: object) -> None:
    """Stop a row generator early, so the reader's temporary spill file is closed now."""
    close = getattr(rows, "close", None)
    if close is not None:
        close()


def _finding(values: dict[str, Any]) -> Finding:
    return Finding(**{**values, "examples": tuple(values["examples"])})
