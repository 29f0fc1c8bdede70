"""Type inference and conversion, through read_file on small CSVs."""

import datetime as dt
from decimal import Decimal

import pytest

from civicport.errors import InvalidUpload


@pytest.fixture
def column(write, load):
    """column(header, *cells) -> (type, values) of a CSV column (beside a row-number column,
    so that an empty cell is not a blank row)."""

    def read_column(header: str, *cells: str):
        body = "\n".join(f'{i},"{c}"' for i, c in enumerate(cells))
        types, rows = load(write("t.csv", f"i,{header}\n{body}\n"))
        return types[header.lower()], [r[1] for r in rows]

    return read_column


def test_numbers(column):
    assert column("n", "1", "-2", "3.5", "", "0.25") == (
        "number",
        [1, -2, 3.5, None, 0.25],
    )


def test_money_and_thousands_separators_when_the_whole_column_fits(column):
    assert column("n", "$1,234.50", "-$5", "1,000,000", "12") == (
        "number",
        [1234.5, -5, 1000000, 12],
    )
    assert column("n", "1,234", "1,23")[0] == "text"


def test_long_decimals_keep_every_digit(column):
    soda_type, values = column("n", "40.84735682050765", "1.5")
    assert soda_type == "number"
    assert values == [Decimal("40.84735682050765"), 1.5]


def test_codes_with_leading_zeros_stay_text(column):
    assert column("beat", "0611", "1234") == ("text", ["0611", "1234"])


def test_zero_one_column_is_a_number_not_a_checkbox(column):
    assert column("flag", "0", "1", "1") == ("number", [0, 1, 1])


def test_checkbox(column):
    assert column("arrest", "true", "FALSE", "") == ("checkbox", [True, False, None])
    assert column("flag", "Y", "N")[0] == "text"


def test_iso_and_us_timestamps_are_floating(column):
    soda_type, values = column("d", "2019-01-01", "2019-01-02T10:30:00", "2019-01-03 10:30:00.250")
    assert soda_type == "floating_timestamp"
    assert values == [
        dt.datetime(2019, 1, 1),
        dt.datetime(2019, 1, 2, 10, 30),
        dt.datetime(2019, 1, 3, 10, 30, 0, 250000),
    ]
    soda_type, values = column("d", "06/15/2022", "01/03/2016 11:57:00 PM", "1/3/2016 12:05 AM")
    assert soda_type == "floating_timestamp"
    assert values == [
        dt.datetime(2022, 6, 15),
        dt.datetime(2016, 1, 3, 23, 57),
        dt.datetime(2016, 1, 3, 0, 5),
    ]


def test_impossible_dates_and_two_digit_years_are_text(column):
    assert column("d", "02/31/2019", "01/01/2019")[0] == "text"
    assert column("d", "1/7/20")[0] == "text"


def test_timestamps_with_a_zone_are_fixed(column):
    soda_type, values = column("d", "2019-01-01T10:00:00Z", "2019-01-01T10:00:00-05:00")
    assert soda_type == "fixed_timestamp"
    assert values[0] == dt.datetime(2019, 1, 1, 10, tzinfo=dt.UTC)
    assert values[1] == dt.datetime(2019, 1, 1, 15, tzinfo=dt.UTC)
    assert values[1].utcoffset() == dt.timedelta(hours=-5)
    # A column mixing floating and fixed timestamps is text.
    assert column("d", "2019-01-01T10:00:00Z", "2019-01-01T10:00:00")[0] == "text"


def test_points_from_wkt_and_socrata_location_text(column):
    assert column("p", "POINT (-87.65 41.93)", "point(-87.6 41.9)") == (
        "point",
        [(-87.65, 41.93), (-87.6, 41.9)],
    )
    assert column("location", "(41.90, -87.62)", "") == ("point", [(-87.62, 41.9), None])


def test_location_with_address_keeps_the_address_in_a_text_column(write, load):
    path = write(
        "t.csv",
        'Address\n"900 E 7TH ST\nAUSTIN, TX 78702\n(30.26, -97.73)"\n'
        '"6406 N IH\nAUSTIN, TX 78752"\n"CT\n(41.5, -72.7)"\n',
    )
    types, rows = load(path)
    assert types == {"address": "point", "address_address": "text"}
    assert rows == [
        ((-97.73, 30.26), "900 E 7TH ST\nAUSTIN, TX 78702"),
        (None, "6406 N IH\nAUSTIN, TX 78752"),
        ((-72.7, 41.5), "CT"),
    ]


def test_multiline_notes_are_not_points(column):
    assert column("notes", "line one\nline two", "a\nb", "(1, 2)")[0] == "text"


def test_urls(column):
    assert column("u", "https://example.org/a?b=1", "http://x.y") == (
        "url",
        ["https://example.org/a?b=1", "http://x.y"],
    )
    assert column("u", "https://example.org", "www.example.org")[0] == "text"


def test_mixed_and_empty_columns_are_text(column, write, load):
    assert column("m", "1", "two", "3") == ("text", ["1", "two", "3"])
    types, rows = load(write("t.csv", "a,b\n1,\n2,\n"))
    assert types == {"a": "number", "b": "text"}
    assert rows == [(1, None), (2, None)]


def test_inference_sees_the_whole_file_not_a_sample(column):
    cells = [str(i) for i in range(20_000)] + ["n/a"]
    assert column("n", *cells)[0] == "text"


def test_override_by_display_or_field_name(write, load):
    path = write("t.csv", "Zip Code,Flag\n02134,Y\n60616,N\n")
    types, rows = load(path, type_overrides={"Zip Code": "number", "flag": "checkbox"})
    assert types == {"zip_code": "number", "flag": "checkbox"}
    assert rows == [(2134, True), (60616, False)]
    types, rows = load(path, type_overrides={"zip_code": "text"})
    assert rows[0][0] == "02134"


def test_override_accepts_socrata_type_aliases(write, load):
    path = write("t.csv", "d\n2019-01-01\n")
    types, _ = load(path, type_overrides={"d": "calendar_date"})
    assert types == {"d": "floating_timestamp"}


def test_override_with_a_bad_cell_names_row_and_column(write, load):
    body = "\n".join(["inspection_date"] + ["01/02/2019"] * 4999 + ["31/02/2019"])
    with pytest.raises(InvalidUpload) as err:
        load(write("t.csv", body), type_overrides={"inspection_date": "floating_timestamp"})
    assert err.value.message == "row 5,000, column inspection_date: '31/02/2019' is not a date"


def test_unknown_override_type_or_column(write, load):
    path = write("t.csv", "a\n1\n")
    with pytest.raises(InvalidUpload, match="unknown type 'integer'.*text, number"):
        load(path, type_overrides={"a": "integer"})
    with pytest.raises(InvalidUpload, match="no column 'b'.*columns are: a"):
        load(path, type_overrides={"b": "text"})
