"""Reading each format, and refusing bad files with a message a person can act on."""

import datetime as dt
import zipfile

import openpyxl
import pytest

from civicport.errors import InvalidUpload
from civicport.ingest.reader import read_file
from civicport.ingest.records import ReadOptions

# --- CSV / TSV -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-8", "utf-8-sig"])
def test_cafe_round_trips_in_every_encoding(write, load, encoding):
    path = write("t.csv", "name,n\nCafé Nenaí,1\n", encoding=encoding)
    types, rows = load(path)
    assert types == {"name": "text", "n": "number"}
    assert rows == [("Café Nenaí", 1)]


def test_cp1252_bytes_after_a_long_ascii_start(write, load):
    text = "name\n" + "plain\n" * 30_000 + "“quoted” – Café\n"
    _, rows = load(write("t.csv", text, encoding="cp1252"))
    assert rows[-1] == ("“quoted” – Café",)


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_delimiter_is_detected(write, load, delimiter):
    text = delimiter.join(["a", "b", "c"]) + "\r\n" + delimiter.join(["1", "x y", "3"]) + "\r\n"
    types, rows = load(write("t.csv", text))
    assert list(types) == ["a", "b", "c"]
    assert rows == [(1, "x y", 3)]


def test_tsv_extension_means_tab(write, load):
    _, rows = load(write("t.tsv", "a\tb\n1,5\t2\n"))
    assert rows == [("1,5", 2)]


def test_quoted_multiline_cells_and_crlf(write, load):
    text = 'id,note\r\n1,"first line\r\nsecond, line"\r\n2,"say ""hi"""\r\n'
    _, rows = load(write("t.csv", text))
    assert rows == [(1, "first line\r\nsecond, line"), (2, 'say "hi"')]


def test_short_rows_are_padded_and_blank_lines_skipped(write, load):
    _, rows = load(write("t.csv", "a,b,c\n1,2\n\n3,4,5,\n"))
    assert rows == [(1, 2, None), (3, 4, 5)]


def test_row_with_extra_values_is_refused(write):
    with pytest.raises(InvalidUpload, match="row 2 has 4 values but the header has 3 columns"):
        read_file(write("t.csv", "a,b,c\n1,2,3\n4,5,6,7\n"))


def test_unclosed_quote_names_the_line_it_starts_on(write):
    with pytest.raises(InvalidUpload, match=r"line 3: a quoted value .* never closed"):
        read_file(write("t.csv", 'a,b\n1,2\n3,"oops\n5,6\n'))


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"PK\x03\x04\x14\x00\x00\x00", "zip archive"),
        (b"a,b\n\x00\x01\x02\x03", "binary data"),
    ],
)
def test_binary_files_are_refused(write, content, kind):
    with pytest.raises(InvalidUpload, match=kind):
        read_file(write("data.csv", content))


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_empty_file_is_refused(write, content):
    with pytest.raises(InvalidUpload, match="is empty"):
        read_file(write("t.csv", content))


def test_header_only_file_has_columns_and_no_rows(write, load):
    types, rows = load(write("t.csv", "Name,,Name\n"))
    assert types == {"name": "text", "column_2": "text", "name_1": "text"}
    assert rows == []
    table = read_file(write("u.csv", "Name,,Name\n"))
    assert [c.display_name for c in table.columns] == ["Name", "Column 2", "Name (2)"]


def test_unsupported_extension(write):
    with pytest.raises(InvalidUpload, match=r"'\.pdf' cannot be imported; supported types are"):
        read_file(write("report.pdf", b"%PDF-1.4"))


# --- Excel -----------------------------------------------------------------------------------


def test_xlsx_types_sheets_and_trailing_empty_rows(tmp_path, load):
    path = tmp_path / "t.xlsx"
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "Cover"
    first.append(["not", "this"])
    sheet = workbook.create_sheet("Data")
    sheet.append(["Name", "When", "Count", "Open"])
    sheet.append(["a", dt.datetime(2020, 1, 7, 12, 30), 3.0, True])
    sheet.append(["b", dt.datetime(2020, 2, 1), 4.5, False])
    sheet.append([None, None, None, None])
    sheet.cell(row=10, column=1).number_format = "0.00"  # formatted but empty rows below
    workbook.save(path)
    types, rows = load(path, options=ReadOptions(sheet="Data"))
    assert types == {
        "name": "text",
        "when": "floating_timestamp",
        "count": "number",
        "open": "checkbox",
    }
    assert rows == [
        ("a", dt.datetime(2020, 1, 7, 12, 30), 3, True),
        ("b", dt.datetime(2020, 2, 1), 4.5, False),
    ]
    with pytest.raises(
        InvalidUpload, match="no sheet named 'Nope'; its sheets are 'Cover', 'Data'"
    ):
        read_file(path, options=ReadOptions(sheet="Nope"))


def test_corrupt_xlsx_is_refused(write, tmp_path):
    with pytest.raises(InvalidUpload, match="not a readable Excel workbook"):
        read_file(write("t.xlsx", b"this is not a workbook"))
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("hello.txt", "no workbook here")
    with pytest.raises(InvalidUpload, match="not a readable Excel workbook"):
        read_file(broken)


# --- JSON ------------------------------------------------------------------------------------


def test_soda_json_rows(write, load):
    text = """[
      {"id": "1", "when": "2024-05-27T02:08:51.000", "done": "true",
       "location": {"latitude": "40.8", "longitude": "-73.9", "human_address": "{}"},
       "site": {"url": "https://example.org"},
       "geo": {"type": "Point", "coordinates": [-73.9, 40.8]}},
      {"id": "2", "extra": "late key"}
    ]"""
    types, rows = load(write("t.json", text))
    assert types == {
        "id": "number",
        "when": "floating_timestamp",
        "done": "checkbox",
        "location": "point",
        "site": "url",
        "geo": "point",
        "extra": "text",
    }
    assert rows[0] == (
        1,
        dt.datetime(2024, 5, 27, 2, 8, 51),
        True,
        (-73.9, 40.8),
        "https://example.org",
        (-73.9, 40.8),
        None,
    )
    assert rows[1] == (2, None, None, None, None, None, "late key")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1}', "must be a JSON array of row objects"),
        ("[1, 2]", "row 1 is a int, not an object"),
        ("[]", "no rows and no columns"),
        ("[{", "not valid JSON"),
        ('{"meta": {}, "data": []}', "rows.json export"),
    ],
)
def test_json_that_is_not_an_array_of_objects(write, text, message):
    with pytest.raises(InvalidUpload, match=message):
        read_file(write("t.json", text))
