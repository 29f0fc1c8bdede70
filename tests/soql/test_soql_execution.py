"""SoQL compiled and run on a real table, on SQLite and PostgreSQL: same answers on both."""

from __future__ import annotations

import pytest

from civicport.datastore.rowids import format_row_id
from civicport.errors import InvalidQuery


def col(rows, key="name"):
    return [r[key] for r in rows]


ALL_NAMES = [
    "Bushnell Park",
    "Elizabeth Park",
    "Colt Park",
    "State Capitol",
    "apple store",
    "West Farms Mall",
    "Zeta Lot",
]


def test_default_query_returns_every_column_in_id_order(run):
    rows = run()
    assert col(rows) == ALL_NAMES
    assert list(rows[0])[:3] == ["name", "category", "amount"]
    assert rows[0]["location"] == (-72.6851, 41.7658)
    assert rows[4]["location"] == (None, None)
    assert ":id" not in rows[0]


def test_limit_offset_and_limit_zero(run):
    assert col(run(limit="2", offset="1")) == ALL_NAMES[1:3]
    assert run(limit="0") == []
    assert col(run(offset="6")) == ["Zeta Lot"]
    assert run(offset="100") == []


@pytest.mark.parametrize("offset", ["1", "3", "6", "7", "50"])
def test_id_seek_returns_the_same_rows_as_offset(run, schema, offset):
    from dataclasses import replace

    dense = run(order=":id", offset=offset, limit="2")
    sparse = run(replace(schema, ids_dense=False), order=":id", offset=offset, limit="2")
    assert dense == sparse
    assert col(dense) == ALL_NAMES[int(offset) : int(offset) + 2]


def test_text_equality_and_order_are_case_sensitive(run):
    assert col(run(where="category = 'park'")) == ["Bushnell Park", "Elizabeth Park"]
    assert col(run(where="upper(category) = 'PARK'")) == [
        "Bushnell Park",
        "Elizabeth Park",
        "Colt Park",
    ]
    # Code-point order: upper case before lower case on both backends.
    assert col(run(order="name", limit="3")) == ["Bushnell Park", "Colt Park", "Elizabeth Park"]
    assert col(run(order="name DESC", limit="1")) == ["apple store"]
    assert col(run(where="name > 'Z'")) == ["apple store", "Zeta Lot"]


def test_nulls_last_ascending_and_first_descending(run):
    asc = col(run(select="name, amount", order="amount"), "amount")
    assert asc == [-3, 0, 7, 10, 25.5, 100, None]
    desc = col(run(select="name, amount", order="amount DESC"), "amount")
    assert desc == [None, 100, 25.5, 10, 7, 0, -3]
    explicit = col(run(select="amount", order="amount DESC NULLS LAST"), "amount")
    assert explicit[-1] is None
    first = col(run(select="amount", order="amount ASC NULL FIRST"), "amount")
    assert first[0] is None


def test_string_literals_convert_to_the_column_type(run):
    assert col(run(where="amount > '9'")) == ["Bushnell Park", "Elizabeth Park", "State Capitol"]
    assert col(run(where="opened >= '2023-01-01' AND opened < '2023-02-01'")) == [
        "Bushnell Park",
        "Zeta Lot",
    ]
    assert col(run(where="closed < '2023-01-16T13:00:00Z'")) == ["Bushnell Park", "State Capitol"]
    assert col(run(where="is_open = 'true'")) == ["Bushnell Park", "Colt Park", "West Farms Mall"]
    assert col(run(where="is_open")) == ["Bushnell Park", "Colt Park", "West Farms Mall"]
    assert col(run(where="NOT is_open")) == ["Elizabeth Park", "apple store", "Zeta Lot"]


def test_operators(run):
    assert col(run(where="amount BETWEEN 0 AND 10")) == [
        "Bushnell Park",
        "West Farms Mall",
        "Zeta Lot",
    ]
    assert col(run(where="amount NOT BETWEEN 0 AND 10")) == [
        "Elizabeth Park",
        "State Capitol",
        "apple store",
    ]
    assert col(run(where="category IN ('shop', 'building')")) == [
        "State Capitol",
        "apple store",
        "West Farms Mall",
    ]
    assert col(run(where="category NOT IN ('shop', 'park')")) == ["Colt Park", "State Capitol"]
    assert col(run(where="category IS NULL")) == ["Zeta Lot"]
    assert col(run(where="amount IS NOT NULL AND ratio IS NULL")) == ["apple store"]
    assert col(run(where="name LIKE '%Park'")) == ["Bushnell Park", "Elizabeth Park", "Colt Park"]
    assert col(run(where="name LIKE '%park'")) == []  # case-sensitive
    assert col(run(where="name LIKE '_olt%'")) == ["Colt Park"]
    assert col(run(where="name NOT LIKE '%Park%'")) == ALL_NAMES[3:]
    assert col(run(where="starts_with(name, 'West')")) == ["West Farms Mall"]
    assert col(run(where="contains(name, 'Lot')")) == ["Zeta Lot"]
    assert col(run(where="name = 'Zeta Lot' OR amount = 100")) == ["State Capitol", "Zeta Lot"]
    assert col(run(where="category || '!' = 'shop!'")) == ["apple store", "West Farms Mall"]


def test_arithmetic_is_decimal_and_division_by_zero_is_null(run):
    rows = run(
        select="name, amount / 4 AS q, amount % 3 AS m, -amount AS neg, 2 ^ 3 AS p",
        where="amount IN (10, 7)",
    )
    assert rows == [
        {"name": "Bushnell Park", "q": 2.5, "m": 1, "neg": -10, "p": 8},
        {"name": "West Farms Mall", "q": 1.75, "m": 1, "neg": -7, "p": 8},
    ]
    assert col(run(select="amount / 0 AS z", where="amount = 10"), "z") == [None]
    assert col(run(select="10 * 3 ^ 2 AS x", limit="1"), "x") == [90]
    assert col(run(select="ratio * 2 AS r", where="name = 'Elizabeth Park'"), "r") == [2.5]


def test_aggregates_and_implicit_aliases(run):
    rows = run(
        select="category, count(*), sum(amount), avg(amount), min(name), max(amount)",
        group="category",
        order="category",
    )
    assert list(rows[0]) == [
        "category",
        "count",
        "sum_amount",
        "avg_amount",
        "min_name",
        "max_amount",
    ]
    by_category = {r["category"]: r for r in rows}
    assert [r["category"] for r in rows] == ["Park", "building", "park", "shop", None]
    assert by_category["park"]["count"] == 2
    assert by_category["park"]["sum_amount"] == 35.5
    assert by_category["park"]["avg_amount"] == pytest.approx(17.75)
    assert by_category["shop"]["min_name"] == "West Farms Mall"
    assert by_category["Park"]["sum_amount"] is None
    whole = run(select="count(*), count(amount), count(distinct category), stddev_pop(ratio)")
    assert whole[0]["count"] == 7
    assert whole[0]["count_amount"] == 6
    assert whole[0]["count_distinct_category"] == 4
    assert whole[0]["stddev_pop_ratio"] == pytest.approx(1.1726039399558574)


def test_group_without_select_returns_groups_and_count(run):
    rows = run(group="category", order="count DESC, category")
    assert rows[0] == {"category": "park", "count": 2}
    assert list(rows[0]) == ["category", "count"]


def test_having_and_alias_in_order(run):
    rows = run(
        select="category, count(*) AS n", group="category", having="n > 1", order="n DESC, category"
    )
    assert rows == [{"category": "park", "n": 2}, {"category": "shop", "n": 2}]


def test_distinct(run):
    rows = run(select="distinct is_open", order="is_open")
    assert col(rows, "is_open") == [False, True, None]
    rows = run(select="distinct category", order="category DESC", limit="3")
    assert col(rows, "category") == [None, "shop", "park"]
    assert col(run(select="distinct upper(category) AS c"), "c") == [
        "BUILDING",
        "PARK",
        "SHOP",
        None,
    ]


def test_date_functions(run):
    rows = run(
        select="name, date_trunc_ym(opened) AS m, date_trunc_y(opened) AS y, "
        "date_trunc_ymd(closed) AS d, date_extract_y(opened) AS ey, date_extract_m(opened) AS em, "
        "date_extract_d(opened) AS ed, date_extract_hh(opened) AS eh, "
        "date_extract_mm(opened) AS emi, date_extract_ss(opened) AS es, "
        "date_extract_dow(opened) AS dow, date_extract_woy(opened) AS woy",
        where="name IN ('Bushnell Park', 'State Capitol')",
    )
    assert rows[0] == {
        "name": "Bushnell Park", "m": "2023-01-01T00:00:00.000", "y": "2023-01-01T00:00:00.000",
        "d": "2023-01-16T00:00:00.000", "ey": 2023, "em": 1, "ed": 15, "eh": 10, "emi": 30,
        "es": 0, "dow": 0, "woy": 2,
    }  # fmt: skip
    assert rows[1]["woy"] == 52
    assert rows[1]["dow"] == 5
    assert rows[1]["es"] == 59
    grouped = run(select="date_trunc_y(opened) AS year, count(*) AS n", group="year", order="year")
    assert grouped == [
        {"year": "2021-01-01T00:00:00.000", "n": 1},
        {"year": "2022-01-01T00:00:00.000", "n": 1},
        {"year": "2023-01-01T00:00:00.000", "n": 3},
        {"year": "2024-01-01T00:00:00.000", "n": 1},
        {"year": None, "n": 1},
    ]
    diff = run(select="date_diff_d(closed, :created_at) AS d", where="name = 'Bushnell Park'")
    assert diff == [{"d": -350}]  # -350.5 days, truncated


def test_within_box_and_circle_on_hartford_points(run):
    # Downtown Hartford box: the park, the Capitol and the Zeta lot, not the suburbs.
    box = run(where="within_box(location, 41.78, -72.70, 41.75, -72.66)")
    assert col(box) == ["Bushnell Park", "Colt Park", "State Capitol", "Zeta Lot"]
    circle = run(where="within_circle(location, 41.7658, -72.6851, 500)")
    assert col(circle) == ["Bushnell Park", "State Capitol"]
    assert col(run(where="within_circle(location, '41.7658', '-72.6851', '100')")) == [
        "Bushnell Park"
    ]


def test_distance_in_meters(run):
    rows = run(
        select="name, distance_in_meters(location, 'POINT (-72.6822 41.7637)') AS m",
        where="name IN ('Bushnell Park', 'State Capitol', 'apple store')",
    )
    assert rows[0]["m"] == pytest.approx(335.2, abs=1.0)
    assert rows[1]["m"] == pytest.approx(0, abs=1e-6)
    assert rows[2]["m"] is None


def test_within_polygon_with_holes_and_multipolygons(run):
    downtown = "POLYGON ((-72.70 41.75, -72.66 41.75, -72.66 41.78, -72.70 41.78, -72.70 41.75))"
    assert col(run(where=f"within_polygon(location, '{downtown}')")) == [
        "Bushnell Park", "Colt Park", "State Capitol", "Zeta Lot"
    ]  # fmt: skip
    with_hole = (
        downtown[:-1] + ", (-72.69 41.76, -72.68 41.76, -72.68 41.77, -72.69 41.77, -72.69 41.76))"
    )
    assert col(run(where=f"within_polygon(location, '{with_hole}')")) == ["Colt Park", "Zeta Lot"]
    triangle = (
        "MULTIPOLYGON (((-72.80 41.70, -72.74 41.70, -72.77 41.75, -72.80 41.70)), "
        "((-72.725 41.77, -72.715 41.77, -72.715 41.78, -72.725 41.78, -72.725 41.77)))"
    )
    assert col(run(where=f"within_polygon(location, '{triangle}')")) == [
        "Elizabeth Park", "West Farms Mall"
    ]  # fmt: skip
    assert col(run(where=f"intersects(location, '{downtown}')"))[0] == "Bushnell Park"


def test_extent_aggregate(run):
    import orjson

    rows = run(select="extent(location)")
    geometry = orjson.loads(rows[0]["extent_location"])
    assert geometry["type"] == "MultiPolygon"
    ring = geometry["coordinates"][0][0]
    assert ring[0] == [-72.7627, 41.7232]
    assert ring[2] == [-72.6658, 41.7758]


def test_full_text_search(run, conn, schema):
    from dataclasses import replace

    assert col(run(q="broken")) == ["Bushnell Park", "Elizabeth Park", "West Farms Mall"]
    assert col(run(q="BROKEN lights")) == ["West Farms Mall"]
    assert col(run(q="pipe")) == ["Elizabeth Park"]  # stemmed
    assert col(run(q="broken", order=":id DESC", limit="1")) == ["West Farms Mall"]
    assert col(run(q="broken", where="amount > 8")) == ["Bushnell Park", "Elizabeth Park"]
    # Without an FTS index SQLite falls back to a case-insensitive substring match.
    no_index = replace(schema, fts_table=None)
    assert col(run(no_index, q="broken")) == ["Bushnell Park", "Elizabeth Park", "West Farms Mall"]


def test_query_statement(run):
    rows = run(
        query="SELECT category, count(*) AS n WHERE amount > 0 GROUP BY category "
        "HAVING n >= 1 ORDER BY n DESC, category LIMIT 2 OFFSET 0"
    )
    assert rows == [{"category": "park", "n": 2}, {"category": "building", "n": 1}]
    assert col(run(query="select name search 'broken' limit 1")) == ["Bushnell Park"]
    rows = run(query="select :*, * where name = 'Colt Park'")
    assert list(rows[0])[:3] == [":id", ":created_at", ":updated_at"]
    assert rows[0][":id"] == 3
    assert rows[0][":created_at"] == "2024-01-04T00:00:00.000Z"


def test_system_columns(run):
    assert col(run(select=":id, name", where=f":id = '{format_row_id(4)}'")) == ["State Capitol"]
    assert col(run(where=f":id > '{format_row_id(6)}'", select="name")) == ["Zeta Lot"]
    assert col(run(where=":created_at >= '2024-01-07'")) == ["West Farms Mall", "Zeta Lot"]


def test_simple_filters(run):
    assert col(run(filters=[("category", "park")])) == ["Bushnell Park", "Elizabeth Park"]
    assert col(run(filters=[("category", "park"), ("amount", "10")])) == ["Bushnell Park"]
    assert col(run(filters=[("is_open", "true")], where="amount > 8")) == ["Bushnell Park"]
    with pytest.raises(InvalidQuery) as info:
        run(filters=[("nope", "1")])
    assert info.value.code == "query.soql.no-such-column"


def test_conditionals(run):
    rows = run(
        select="name, case(amount > 50, 'big', amount > 5, 'medium', true, 'small') AS size, "
        "coalesce(category, 'none') AS c, CASE WHEN is_open THEN 'open' END AS o",
        where="name IN ('State Capitol', 'Bushnell Park', 'Zeta Lot')",
    )
    assert rows == [
        {"name": "Bushnell Park", "size": "medium", "c": "park", "o": "open"},
        {"name": "State Capitol", "size": "big", "c": "building", "o": None},
        {"name": "Zeta Lot", "size": "small", "c": "none", "o": None},
    ]


def test_text_functions(run):
    rows = run(
        select="upper(name) AS u, lower(name) AS l, length(name) AS n, "
        "trim('  x ') AS t, caseless_eq(category, 'PARK') AS ce",
        where="name = 'Colt Park'",
    )
    assert rows == [{"u": "COLT PARK", "l": "colt park", "n": 9, "t": "x", "ce": True}]


@pytest.mark.parametrize(
    "soda",
    [
        {"where": "name = 'x'' OR ''1''=''1'"},
        {"filters": [("name", "x' OR '1'='1")]},
        {"filters": [("name", "Zeta Lot'; DELETE FROM d_test_1234_g1; --")]},
        {"q": '" OR 1=1 -- NEAR( * ^'},
        {"q": "'); DROP TABLE d_test_1234_g1; --"},
        {"where": "name like '%'' OR 1=1 --'"},
    ],
)
def test_injection_attempts_are_harmless_literals(run, soda):
    assert run(**soda) == []
    assert len(run()) == 7  # the table is intact


@pytest.mark.parametrize(
    "soda",
    [
        {"where": "name = 'x'; DROP TABLE d_test_1234_g1"},
        {"where": "name = 'x'; DROP TABLE d_test_1234_g1; --'"},
        {"where": "1=1 UNION SELECT * FROM datasets"},
        {"order": "name; DROP TABLE d_test_1234_g1"},
        {"select": "name FROM datasets --"},
        {"select": '`name"; DROP TABLE x; --`'},
        {"limit": "1; DROP TABLE d_test_1234_g1"},
        {"group": "name) --"},
    ],
)
def test_injection_attempts_are_syntax_errors(run, soda):
    with pytest.raises(InvalidQuery) as info:
        run(**soda)
    assert info.value.code in ("query.compiler.malformed", "query.soql.no-such-column")
    assert len(run()) == 7


def _least_squares(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(slope, intercept, r²) of y on x, the textbook way, for the expected answers."""
    n = len(pairs)
    mean_x = sum(x for _, x in pairs) / n
    mean_y = sum(y for y, _ in pairs) / n
    sxx = sum((x - mean_x) ** 2 for _, x in pairs)
    syy = sum((y - mean_y) ** 2 for y, _ in pairs)
    sxy = sum((x - mean_x) * (y - mean_y) for y, x in pairs)
    slope = sxy / sxx
    return slope, mean_y - slope * mean_x, sxy * sxy / (sxx * syy)


def test_regression_aggregates(run):
    # (amount, ratio) of the rows where both are present
    pairs = [(10, 0.5), (25.5, 1.25), (100, 2.0), (7, 0.25), (0, 3.5)]
    slope, intercept, r2 = _least_squares(pairs)
    rows = run(
        select="regr_slope(amount, ratio), regr_intercept(amount, ratio), regr_r2(amount, ratio)"
    )
    assert rows == [
        {
            "regr_slope_amount_ratio": pytest.approx(slope),
            "regr_intercept_amount_ratio": pytest.approx(intercept),
            "regr_r2_amount_ratio": pytest.approx(r2),
        }
    ]
    # One pair (Bushnell Park) or none: no line to fit, so null, as on PostgreSQL.
    single = run(
        select="regr_slope(amount, ratio) AS s, regr_r2(amount, ratio) AS r", where="amount = 10"
    )
    assert single == [{"s": None, "r": None}]
    by_category = run(
        select="category, regr_slope(amount, ratio) AS s", group="category", order="category"
    )
    assert {r["category"]: r["s"] for r in by_category}["shop"] is None  # one pair only


def test_time_zone_date_functions(run):
    where = "name = 'West Farms Mall'"  # closed 2024-03-01T18:30Z: already March 2 in Kolkata
    rows = run(
        select="to_floating_timestamp(closed, 'Asia/Kolkata') AS local, "
        "date_trunc_ymd(closed, 'Asia/Kolkata') AS local_day, date_trunc_ymd(closed) AS utc_day, "
        "datez_trunc_ym(closed) AS utc_month",
        where=where,
    )
    assert rows == [
        {
            "local": "2024-03-02T00:00:00.000",
            "local_day": "2024-03-02T00:00:00.000",
            "utc_day": "2024-03-01T00:00:00.000",
            "utc_month": "2024-03-01T00:00:00.000Z",
        }
    ]
    new_year = run(select="date_trunc_y(closed, 'America/New_York') AS y", where="amount = 100")
    assert new_year == [{"y": "2021-01-01T00:00:00.000"}]  # 2022-01-01T00:00Z is 19:00 on Dec 31


@pytest.mark.parametrize(
    "select",
    ["date_trunc_ymd(closed, 'Mars/Olympus_Mons')", "to_floating_timestamp(closed, name)"],
)
def test_time_zones_must_be_known_literal_names(run, select):
    with pytest.raises(InvalidQuery) as caught:
        run(select=select)
    assert caught.value.code == "query.soql.type-mismatch"


def test_padding_splitting_and_chr(run):
    rows = run(
        select="left_pad(name, 12, '*') AS padded, right_pad(name, 4, '.') AS cut, "
        "right_pad(name, 11, '-=') AS filled, left_pad(name, 12, '') AS unfilled, "
        "split_part(description, ' ', 2) AS second, split_part(description, ' ', -1) AS last, "
        "split_part(description, ' ', 9) AS past, split_part(description, ' ', 0) AS zero, "
        "chr(65) AS a, chr(9731) AS snowman, chr(0) AS nul",
        where="name = 'Colt Park'",  # description: 'Pothole on Wethersfield Avenue'
    )
    assert rows == [
        {
            "padded": "***Colt Park",
            "cut": "Colt",
            "filled": "Colt Park-=",
            "unfilled": "Colt Park",
            "second": "on",
            "last": "Avenue",
            "past": "",
            "zero": None,
            "a": "A",
            "snowman": "☃",
            "nul": None,
        }
    ]


def test_median_is_continuous_for_numbers_and_discrete_otherwise(run):
    rows = run(select="median(amount) AS amount, median(name) AS name, median(opened) AS opened")
    # amounts -3, 0, 7, 10, 25.5, 100: halfway between 7 and 10
    assert rows == [{"amount": 8.5, "name": "State Capitol", "opened": "2023-01-01T00:00:00.000"}]
    by_category = run(select="category, median(amount) AS m", group="category", order="category")
    assert {r["category"]: r["m"] for r in by_category}["park"] == pytest.approx(17.75)


def test_width_bucket(run):
    rows = run(
        select="name, width_bucket(amount, 0, 100, 4) AS quarter, "
        "width_bucket(amount, 100, 0, 4) AS reversed, width_bucket(0.29, 0, 1, 100) AS exact, "
        "width_bucket(amount, 5, 5, 4) AS empty_range, width_bucket(amount, 0, 100, 0) AS none",
        where="amount IS NOT NULL",
        order="amount",
    )
    assert [(r["name"], r["quarter"], r["reversed"]) for r in rows] == [
        ("apple store", 0, 5),  # -3: below the range
        ("Zeta Lot", 1, 5),
        ("West Farms Mall", 1, 4),
        ("Bushnell Park", 1, 4),
        ("Elizabeth Park", 2, 3),  # 25.5
        ("State Capitol", 5, 1),  # 100: the top edge belongs to the next bucket
    ]
    assert {r["exact"] for r in rows} == {30}
    assert all(r["empty_range"] is None and r["none"] is None for r in rows)


def test_field_access_on_timestamps_and_points(run):
    rows = run(
        select="name, opened.year, opened.month, opened.dow, opened.woy, location.latitude, "
        "location.longitude",
        where="opened.year = 2023 AND opened.month = 1",
        order="opened",
    )
    assert rows == [
        {
            "name": "Zeta Lot",  # 2023-01-01, a Sunday, in ISO week 52 of 2022
            "opened_year": 2023,
            "opened_month": 1,
            "opened_dow": 0,
            "opened_woy": 52,
            "location_latitude": 41.77,
            "location_longitude": -72.67,
        },
        {
            "name": "Bushnell Park",
            "opened_year": 2023,
            "opened_month": 1,
            "opened_dow": 0,
            "opened_woy": 2,
            "location_latitude": 41.7658,
            "location_longitude": -72.6851,
        },
    ]
    by_year = run(select="opened.year AS y, count(*) AS n", group="y", order="y")
    assert by_year == [
        {"y": 2021, "n": 1},
        {"y": 2022, "n": 1},
        {"y": 2023, "n": 3},
        {"y": 2024, "n": 1},
        {"y": None, "n": 1},
    ]


@pytest.mark.parametrize(
    ("select", "message"),
    [("location.year", "function `.year`"), ("opened.nope", "No such field `.nope`")],
)
def test_unknown_or_mistyped_fields(run, select, message):
    with pytest.raises(InvalidQuery, match=message):
        run(select=select)


def test_runaway_arguments_give_null_not_a_failed_query(run):
    rows = run(
        select="left_pad(name, 1e12, 'x') AS huge, width_bucket(amount, 0, 1e400, 4) AS inf",
        where="name = 'Colt Park'",
    )
    assert rows[0]["huge"] is None


def test_integral_literals_beyond_64_bits_compare_as_numbers(run):
    assert len(run(select="name", where="amount < 1e20")) == 6
    assert run(select="name", where="amount > 100000000000000000000000") == []


def test_substring_counts_from_one_like_postgresql(run):
    rows = run(
        select="substring(name, 2, 3) AS mid, substring(name, 0, 3) AS zero, "
        "substring(name, -1, 3) AS before, substring(name, 6) AS tail, "
        "substring(name, -5) AS whole, substring(name, 2, -1) AS negative, "
        "substring(name, 1e12) AS far",
        where="name = 'Colt Park'",
    )
    assert rows == [
        {
            "mid": "olt",
            "zero": "Co",
            "before": "C",
            "tail": "Park",
            "whole": "Colt Park",
            "negative": None,
            "far": "",
        }
    ]


def test_remainder_of_doubles_and_text_to_double(run):
    rows = run(
        select="ratio % 0.3 AS rest, (amount::text)::double AS back",
        where="name = 'Elizabeth Park'",  # ratio 1.25, amount 25.5
    )
    assert rows == [{"rest": pytest.approx(0.05), "back": 25.5}]


def test_having_without_group_by_makes_one_group(run):
    assert run(select="'all' AS scope", having="true") == [{"scope": "all"}]
    assert run(select="'all' AS scope", having="false") == []
    assert run(select="count(*) AS n", having="count(*) > 5") == [{"n": 7}]
