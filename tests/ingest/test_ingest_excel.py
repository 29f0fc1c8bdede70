"""Workbooks as people lay them out: legacy .xls, merged group headers above the column names,
a title row, sheets by name, and a password."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from civicport.errors import InvalidUpload
from civicport.ingest.reader import read_file
from civicport.ingest.records import ReadOptions


def _budget_workbook(path, *, title: str | None = None):
    """A budget sheet: "Department" merged down two rows, each year merged over two columns
    ("Budget", "Actual" below it); optionally a title merged across the top."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Budget"
    top = 3
    if title:
        sheet["B1"] = title
        sheet.merge_cells("B1:F1")
    sheet[f"B{top}"] = "Department"
    sheet.merge_cells(f"B{top}:B{top + 1}")
    for first, last, year in (("C", "D", 2023), ("E", "F", 2024)):
        sheet[f"{first}{top}"] = year
        sheet.merge_cells(f"{first}{top}:{last}{top}")
        sheet[f"{first}{top + 1}"], sheet[f"{last}{top + 1}"] = "Budget", "Actual"
    sheet.append([None, "Parks", 10.5, 9, 11, dt.datetime(2024, 3, 1)])
    sheet.append([None, "Police", 20, 21, 22, None])
    sheet.append([])
    workbook.save(path)
    return path


@pytest.mark.parametrize("title", [None, "City budget, in millions"])
def test_merged_group_headers_join_the_names_below(tmp_path, load, title):
    path = _budget_workbook(tmp_path / "budget.xlsx", title=title)

    types, rows = load(path)

    assert list(types) == [
        "department",
        "_2023_budget",
        "_2023_actual",
        "_2024_budget",
        "_2024_actual",
    ]
    table = read_file(path)
    assert [c.display_name for c in table.columns] == [
        "Department",
        "2023 Budget",
        "2023 Actual",
        "2024 Budget",
        "2024 Actual",
    ]
    assert rows[0][:4] == ("Parks", 10.5, 9, 11)
    assert len(rows) == 2


def test_password_protected_xlsx(tmp_path):
    plain = _budget_workbook(io.BytesIO())
    plain.seek(0)
    locked = tmp_path / "budget.xlsx"
    with locked.open("wb") as out:
        OOXMLFile(plain).encrypt("s3cret", out)

    with pytest.raises(InvalidUpload) as error:
        read_file(locked)

    assert str(error.value) == (
        "budget.xlsx: this workbook is password-protected; save a copy without a password and "
        "import that."
    )


def test_legacy_xls_sheet_by_name(real, load):
    path = real("misc/hartford_holc_1937_metadata.xls")

    types, rows = load(path, options=ReadOptions(sheet="Data"))

    assert len(rows) == 27
    assert list(types)[:3] == ["area", "grade", "location"]
    assert types["estfamincome"] == "number"
    assert rows[0][:3] == ("A1", "A", "West_Hartford")
    # The first sheet by default: the Mac Roman code page's curly quotes decoded right.
    table = read_file(path)
    assert "“Redlining”" in table.columns[1].display_name
    with pytest.raises(InvalidUpload, match="no sheet named 'Sheet1'; its sheets are 'Metadata'"):
        read_file(path, options=ReadOptions(sheet="Sheet1"))
