"""Excel workbooks (.xlsx, .xlsm, legacy .xls, .ods) through python-calamine.

Calamine returns typed cells: str, float, int, bool, date/datetime for date-styled cells
(Excel's serial dates), time and timedelta; "" for an empty cell. The type converters in
values.py accept all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import python_calamine as calamine

from civicport.errors import InvalidUpload
from civicport.ingest.readers import Source, register
from civicport.ingest.values import LENIENT, convert_text


@register("xlsx", ".xlsx", ".xlsm", ".xls", ".ods")
def read_excel(path: Path, *, sheet: str | None = None) -> Source:
    """Open the first sheet of a workbook, or the sheet named `sheet`."""
    try:
        workbook = calamine.CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
        if sheet is not None and sheet not in names:
            listed = ", ".join(repr(n) for n in names)
            raise InvalidUpload(
                f"{path.name} has no sheet named {sheet!r}; its sheets are {listed}."
            )
        if not names:
            raise InvalidUpload(f"{path.name} has no sheets.")
        rows = iter(workbook.get_sheet_by_name(sheet or names[0]).to_python())
    except calamine.PasswordError:
        raise InvalidUpload(
            f"{path.name} is password-protected; save it without a password and upload it again."
        ) from None
    # Calamine reports some broken files as OSError or ValueError rather than CalamineError.
    except (calamine.CalamineError, OSError, ValueError) as exc:
        raise InvalidUpload(f"{path.name} is not a readable Excel workbook ({exc}).") from None
    header = _first_filled(rows)
    if header is None:
        raise InvalidUpload(f"{path.name}: the sheet is empty (no column names and no rows).")
    headers = [v or "" for v in convert_text(header, LENIENT)]
    return Source(headers=headers, rows=rows)


def _first_filled(rows: Iterator[list[Any]]) -> list[Any] | None:
    for row in rows:
        if any(v not in ("", None) for v in row):
            return row
    return None
