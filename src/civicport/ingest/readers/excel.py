"""Excel workbooks (.xlsx, .xlsm, legacy .xls, .ods) through python-calamine.

Calamine returns typed cells: str, float, int, bool, date/datetime for date-styled cells
(Excel's serial dates), time and timedelta; "" for an empty cell. The type converters in
values.py accept all of them. It reads legacy .xls (BIFF, any code page) as well as .xlsx, so
one reader serves both.

Headers as people lay them out: a title row above the table (one value merged across the
columns) is skipped, and a group header whose cells are merged across several columns, with
the column names in the row below, is joined into one name per column ("2023 Budget").
Blank rows anywhere, and so trailing ones, are dropped by inference (infer.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import python_calamine as calamine

from civicport.errors import InvalidUpload
from civicport.ingest.readers import Source, register
from civicport.ingest.records import ReadOptions
from civicport.ingest.values import LENIENT, convert_text

Cell = tuple[int, int]  # (row, column), 0-based, as calamine counts them
Merge = tuple[Cell, Cell]  # top-left and bottom-right cells of a merged range


@register("xlsx", ".xlsx", ".xlsm", ".xls", ".ods", parts=("sheet",))
def read_excel(path: Path, options: ReadOptions) -> Source:
    """Open the first sheet of a workbook, or the sheet named `options.sheet`."""
    sheet = options.sheet
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
        chosen = workbook.get_sheet_by_name(sheet or names[0])
        rows = iter(chosen.to_python())
        merges: list[Merge] = list(chosen.merged_cell_ranges or [])
        start: Cell = chosen.start or (0, 0)
    except calamine.PasswordError:
        raise InvalidUpload(
            f"{path.name}: this workbook is password-protected; save a copy without a password "
            "and import that."
        ) from None
    # Calamine reports some broken files as OSError or ValueError rather than CalamineError.
    except (calamine.CalamineError, OSError, ValueError) as exc:
        raise InvalidUpload(f"{path.name} is not a readable Excel workbook ({exc}).") from None
    headers = _headers(rows, merges, start)
    if headers is None:
        raise InvalidUpload(f"{path.name}: the sheet is empty (no column names and no rows).")
    return Source(headers=headers, rows=rows)


def _headers(rows: Iterator[list[Any]], merges: Sequence[Merge], start: Cell) -> list[str] | None:
    """Consume the header row(s) from `rows` and return one name per column.

    `start` is where calamine's rows begin on the sheet: merged ranges are given in sheet
    coordinates, rows from the first used cell.
    """
    first_row, first_column = start
    for index, row in enumerate(rows):
        if not _filled(row):
            continue
        at = first_row + index
        if _is_title(row, at, merges, first_column):
            continue
        header = _texts(row)
        groups = [m for m in merges if m[0][0] == at and m[1][1] > m[0][1]]
        if not groups:
            return header
        below = next(rows, None)
        if below is None:
            return header
        return _joined(_spread(header, groups, first_column), _texts(below))
    return None


def _filled(row: Sequence[Any]) -> bool:
    return any(v not in ("", None) for v in row)


def _is_title(row: Sequence[Any], at: int, merges: Sequence[Merge], first_column: int) -> bool:
    """A row holding one value merged across several columns (a sheet's title, not headers)."""
    values = [i for i, v in enumerate(row) if v not in ("", None)]
    if len(values) != 1 or len(row) < 2:
        return False
    column = first_column + values[0]
    return any(top == at and left == column and right > left for (top, left), (_, right) in merges)


def _texts(row: Sequence[Any]) -> list[str]:
    return [v or "" for v in convert_text(list(row), LENIENT)]


def _spread(header: list[str], groups: Sequence[Merge], first_column: int) -> list[str]:
    """The group header with each merged value repeated over the columns it spans."""
    spread = list(header)
    for (_, left), (_, right) in groups:
        value = header[left - first_column]
        for column in range(left, right + 1):
            if column - first_column < len(spread):
                spread[column - first_column] = value
    return spread


def _joined(groups: list[str], names: list[str]) -> list[str]:
    """ "2023" over "Budget" → "2023 Budget"; a cell merged down both rows keeps its name."""
    width = max(len(groups), len(names))
    groups = groups + [""] * (width - len(groups))
    names = names + [""] * (width - len(names))
    return [" ".join(part for part in (g, n) if part) for g, n in zip(groups, names, strict=True)]
