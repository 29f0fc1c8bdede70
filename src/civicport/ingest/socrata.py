"""A Socrata view (`/api/views/{id}.json`, or the `meta.view` of a `rows.json` export): its
columns and how their cells are read, so a city leaving Socrata keeps its field names, display
names, column descriptions and types.

    view = load_view(Path("permits.rows.json"))  # or Path("permits-view.json")
    view.columns  # [SocrataColumn("permit_no", "Permit #", "text", "The permit's number", 8), …]

Socrata lists system pseudo-columns (`:sid`, `:id`, `:created_at`, … of dataTypeName
`meta_data`) and computed region columns (`:@computed_region_…`) beside the data's own; they are
not the city's data, so they are left out. Documented for coordinators in docs/formats.md
("Leaving Socrata").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ijson
import orjson

from civicport.errors import InvalidUpload

# dataTypeName → the SODA type a column is stored as. Types missing here (html, email, phone,
# photo, document, …) are kept as text: the value, or for a file the text of its URL.
SOCRATA_TYPES = {
    "text": "text",
    "number": "number",
    "double": "double",
    "money": "number",
    "percent": "number",
    "checkbox": "checkbox",
    "boolean": "checkbox",
    "calendar_date": "floating_timestamp",
    "floating_timestamp": "floating_timestamp",
    "date": "fixed_timestamp",
    "fixed_timestamp": "fixed_timestamp",
    "point": "point",
    "location": "point",
    "url": "url",
    "multipoint": "multipoint",
    "line": "line",
    "multiline": "multiline",
    "polygon": "polygon",
    "multipolygon": "multipolygon",
}


@dataclass(frozen=True)
class SocrataColumn:
    """One of the city's own columns. `index` is its place in a rows.json data row (system
    columns included), which is the order the view lists its columns in."""

    field_name: str
    name: str
    data_type: str
    description: str
    index: int
    column_id: int | None = None

    @property
    def soda_type(self) -> str:
        return SOCRATA_TYPES.get(self.data_type, "text")


@dataclass(frozen=True)
class SocrataView:
    """The parts of a Socrata view an import keeps; `raw` is the view itself (for metadata)."""

    view_id: str | None
    columns: list[SocrataColumn]
    raw: dict[str, Any]

    @property
    def row_identifier(self) -> str | None:
        """The row identifier column's field name: Socrata names it by column id."""
        metadata = self.raw.get("metadata")
        candidates = [
            self.raw.get("rowIdentifierColumnId"),
            metadata.get("rowIdentifier") if isinstance(metadata, dict) else None,
        ]
        for candidate in candidates:
            for column in self.columns:
                if candidate is not None and str(column.column_id) == str(candidate):
                    return column.field_name
        return None


def is_system(column: dict[str, Any]) -> bool:
    """Socrata's bookkeeping columns, not the city's data."""
    field = str(column.get("fieldName") or "")
    return column.get("dataTypeName") == "meta_data" or field.startswith(":")


def parse_view(view: object, label: str) -> SocrataView:
    """A view document → SocrataView; InvalidUpload naming `label` when it is not one."""
    if not isinstance(view, dict) or not isinstance(view.get("columns"), list):
        raise InvalidUpload(
            f'{label} is not a Socrata view: expected an object with a "columns" list '
            "(the /api/views/{id}.json form, or a rows.json export's meta.view)."
        )
    columns = []
    for index, column in enumerate(view["columns"]):
        if not isinstance(column, dict) or not column.get("fieldName"):
            raise InvalidUpload(f"{label}: column {index + 1} of the view has no fieldName.")
        if is_system(column):
            continue
        column_id = column.get("id")
        columns.append(
            SocrataColumn(
                field_name=str(column["fieldName"]),
                name=str(column.get("name") or column["fieldName"]),
                data_type=str(column.get("dataTypeName") or "text"),
                description=str(column.get("description") or ""),
                index=index,
                column_id=column_id if isinstance(column_id, int) else None,
            )
        )
    if not columns:
        raise InvalidUpload(f"{label}: the Socrata view lists no data columns.")
    view_id = view.get("id")
    return SocrataView(view_id if isinstance(view_id, str) else None, columns, view)


def first_key(handle: BinaryIO) -> str | None:
    """The first key of a JSON object document, or None when it is not an object."""
    events = ijson.parse(handle)
    try:
        _, event, _ = next(events)
        if event != "start_map":
            return None
        _, event, value = next(events)
    except (StopIteration, ijson.JSONError):
        return None
    return str(value) if event == "map_key" else None


def is_rows_json(path: Path) -> bool:
    """A Socrata rows.json export: an object whose first key is "meta" or "data"."""
    with path.open("rb") as handle:
        return first_key(handle) in ("meta", "data")


def load_view(path: Path) -> SocrataView:
    """The view of a rows.json export (read without loading its rows) or of a view file."""
    if is_rows_json(path):
        with path.open("rb") as handle:
            try:
                found = next(ijson.items(handle, "meta.view"), None)
            except ijson.JSONError as exc:
                raise InvalidUpload(f"{path.name} is not valid JSON ({exc}).") from None
        if found is None:
            raise InvalidUpload(
                f"{path.name} looks like a Socrata rows.json export but has no meta.view "
                "(the view metadata that names its columns)."
            )
        return parse_view(found, path.name)
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InvalidUpload(f"{path.name} is not valid JSON ({exc}).") from None
    return parse_view(document, path.name)


def data_rows(path: Path) -> Iterator[list[Any]]:
    """A rows.json export's data rows, one at a time (the file is never loaded whole);
    InvalidUpload when the file is cut short or a row is not an array."""
    with path.open("rb") as handle:
        try:
            for position, row in enumerate(ijson.items(handle, "data.item"), start=1):
                if not isinstance(row, list):
                    raise InvalidUpload(
                        f"{path.name}: data row {position:,} is not an array; a rows.json "
                        "export's data is a list of row arrays."
                    )
                yield row
        except ijson.JSONError as exc:
            raise InvalidUpload(
                f"{path.name} is not complete, valid JSON ({exc}); export it again."
            ) from None


def cell(column: SocrataColumn, value: Any) -> Any:
    """A rows.json cell in the form the shared converters read (values.py)."""
    if value is None:
        return None
    if column.data_type == "location" and isinstance(value, list):
        return _location_text(value)
    if column.data_type == "url" and isinstance(value, list):
        return value[0] if value else None  # [url, description]
    if isinstance(value, dict) and column.soda_type == "text":
        # photo, document: keep where the file is.
        for key in ("url", "file_id", "filename"):
            if value.get(key):
                return str(value[key])
        return json.dumps(value)
    if column.soda_type == "text" and not isinstance(value, str):
        return str(value)
    return value


def _location_text(value: list[Any]) -> str | None:
    """A legacy location ([human_address JSON, latitude, longitude, machine_address,
    needs_recoding]) → Socrata's CSV form: address lines, then "(lat, lon)"."""
    human = value[0] if value else None
    latitude = value[1] if len(value) > 1 else None
    longitude = value[2] if len(value) > 2 else None
    lines = []
    if isinstance(human, str) and human.strip():
        try:
            parts = orjson.loads(human)
        except orjson.JSONDecodeError:
            parts = {"address": human}
        if isinstance(parts, dict):
            region = " ".join(p for p in (parts.get("state"), parts.get("zip")) if p)
            place = ", ".join(p for p in (parts.get("city"), region) if p)
            lines = [p for p in (parts.get("address"), place) if p]
    if latitude not in (None, "") and longitude not in (None, ""):
        lines.append(f"({latitude}, {longitude})")
    return "\n".join(lines) or None
