"""Parsing, naming and checking SoQL without a database: syntax, aliases, types, error codes."""

from __future__ import annotations

import pytest

from civicport.datastore.tables import ColumnSchema, TableSchema
from civicport.errors import InvalidQuery
from civicport.soql import ast
from civicport.soql.compiler import compile_query
from civicport.soql.params import SodaParams
from civicport.soql.parser import parse_expr, parse_order, parse_query, parse_select

SCHEMA = TableSchema(
    "d_abcd_1234_g1",
    (
        ColumnSchema("name", "text"),
        ColumnSchema("magnitude", "number"),
        ColumnSchema("a", "number"),
        ColumnSchema("b", "number"),
        ColumnSchema("a_b", "number"),
        ColumnSchema("when_", "floating_timestamp"),
        ColumnSchema("loc", "point"),
        ColumnSchema("last", "text"),
    ),
    "sqlite",
)


def output_names(**soda: str) -> list[str]:
    return [c.name for c in compile_query(SodaParams(**soda), SCHEMA).columns]


def error(**soda: str) -> InvalidQuery:
    with pytest.raises(InvalidQuery) as info:
        compile_query(SodaParams(**soda), SCHEMA)
    return info.value


# ---- syntax -----------------------------------------------------------------------------------


def test_precedence():
    tree = parse_expr("a = 1 OR b = 2 AND NOT a IS NULL")
    assert isinstance(tree, ast.FunctionCall)
    assert tree.name == "#or"
    assert tree.args[1].name == "#and"
    assert tree.args[1].args[1] == ast.FunctionCall(
        "#not", (ast.FunctionCall("#is_null", (ast.ColumnRef("a"),)),)
    )
    power = parse_expr("10 * 3 ^ 2")
    assert power.name == "#*"
    assert power.args[1].name == "#^"
    assert parse_expr("x - -5").args[1] == ast.NumberLit("-5")


def test_literals_and_identifiers():
    assert parse_expr("'Bob''s'") == ast.StringLit("Bob's")
    assert parse_expr('"tab\\tquote\\" \\u00e9"') == ast.StringLit('tab\tquote" é')
    assert parse_expr("`hello-world`") == ast.ColumnRef("hello_world")
    assert parse_expr("NaMe") == ast.ColumnRef("name")
    assert parse_expr(":@computed_region_ab12") == ast.ColumnRef(":@computed_region_ab12")
    assert parse_expr("TRUE") == ast.BoolLit(True)
    assert parse_expr("x /* note */ = -- comment\n 1").args[1] == ast.NumberLit("1")
    # Non-reserved words work as names: a column called `last`.
    assert parse_expr("last = 'x'").args[0] == ast.ColumnRef("last")


def test_keywords_are_case_insensitive_and_case_when_desugars():
    tree = parse_expr("CASE WHEN a > 1 THEN 'x' ELSE 'y' END")
    assert tree.name == "case"
    assert tree.args[2] == ast.BoolLit(True)
    assert tree.args[3] == ast.StringLit("y")
    assert parse_select("DISTINCT name").distinct


def test_ordering_defaults():
    orderings = parse_order("a, b DESC, c DESC NULLS LAST, d NULL FIRST")
    assert [(o.ascending, o.nulls_last) for o in orderings] == [
        (True, True),
        (False, False),
        (False, True),
        (True, False),
    ]


def test_query_clauses_and_fixed_order():
    query = parse_query(
        "SELECT a WHERE a > 1 GROUP BY a HAVING count(*) > 1 ORDER BY a "
        "SEARCH 'x' OFFSET 5 LIMIT 10"
    )
    assert (query.limit, query.offset, query.search) == (10, 5, "x")
    with pytest.raises(InvalidQuery) as info:
        parse_query("SELECT * ORDER BY month GROUP BY year")
    assert info.value.code == "query.compiler.malformed"
    assert "but got `GROUP` at line 1, column 25" in info.value.message


@pytest.mark.parametrize(
    ("soda", "fragment", "column"),
    [
        ({"where": "a = "}, "Expected an expression, but got end of input", 5),
        ({"where": "a = )"}, "Expected an expression, but got `)`", 5),
        ({"where": "name ILIKE 'x'"}, "but got `ILIKE`", 6),
        ({"where": "name LIKE 'x' ESCAPE '!'"}, "but got `ESCAPE`", 15),
        ({"where": "x = .5"}, "Expected an expression, but got `.`", 5),
        ({"where": "name = 'open"}, "unterminated string", 8),
        ({"where": "name IN ()"}, "Expected an expression", 10),
        ({"select": "name, *"}, "Star selections must come at the start", 7),
        ({"select": "*, :*"}, "System column star selections must come before", 4),
        ({"select": "select"}, "but got `select`", 1),
        ({"limit": "-1"}, "non-negative integer", 1),
        ({"limit": "1.5"}, "non-negative integer", 1),
        ({"offset": "abc"}, "non-negative integer", 1),
        ({"query": "select * where bogus = limit 6"}, "but got `limit`", 24),
        ({"where": '"bad \\q escape"'}, "Unexpected escape", 1),
    ],
)
def test_syntax_errors_name_the_position(soda, fragment, column):
    exc = error(**soda)
    assert exc.code == "query.compiler.malformed"
    assert fragment in exc.message
    assert exc.data["position"] == {"line": 1, "column": column}
    assert exc.data["parameter"] == "$" + next(iter(soda))


def test_multiline_position():
    exc = error(query="SELECT name\nWHERE name = = 1")
    assert exc.data["position"] == {"line": 2, "column": 14}
    assert "line 2, column 14" in exc.message


# ---- output names (soda.md §3.4) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("select", "names"),
    [
        ("count(*)", ["count"]),
        ("count(name)", ["count_name"]),
        ("max(magnitude)", ["max_magnitude"]),
        ("magnitude * 2", ["magnitude_2"]),
        ("1 + magnitude", ["_1_magnitude"]),
        ("(a), (a), (a)", ["a_1", "a_2", "a_3"]),
        ("a + b", ["a_b_1"]),
        ("date_trunc_ymd(when_)", ["date_trunc_ymd_when"]),
        ("name, upper(name) AS name2, :id", ["name", "name2", ":id"]),
        ("count(distinct name)", ["count_distinct_name"]),
        ("name IS NOT NULL", ["name_is_not_null"]),
        (
            ":*, *",
            [
                ":id",
                ":created_at",
                ":updated_at",
                "name",
                "magnitude",
                "a",
                "b",
                "a_b",
                "when_",
                "loc",
                "last",
            ],
        ),
        ("*(except a, b), a AS z", ["name", "magnitude", "a_b", "when_", "loc", "last", "z"]),
        (":*(except :created_at)", [":id", ":updated_at"]),
        ("upper(name) AS name", ["name"]),
    ],
)
def test_output_names(select, names):
    assert output_names(select=select) == names


def test_output_types_and_widths():
    columns = compile_query(SodaParams(select="loc, name > 'a', :id, when_"), SCHEMA).columns
    assert [(c.soda_type, c.width) for c in columns] == [
        ("point", 2), ("checkbox", 1), ("row_identifier", 1), ("floating_timestamp", 1)
    ]  # fmt: skip
    (count,) = compile_query(SodaParams(select="count(*)"), SCHEMA).columns
    assert (count.name, count.soda_type) == ("count", "number")


def test_aliases_usable_in_other_clauses():
    sql = compile_query(
        SodaParams(select="magnitude * 2 AS m", where="m > 3", order="m"), SCHEMA
    ).sql
    assert sql.count('t."magnitude" * :p') == 3


# ---- semantic errors (soda.md §6.3) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("soda", "code", "data", "position"),
    [
        ({"where": "nope = 1"}, "no-such-column", {"column": "nope"}, (1, 1)),
        ({"select": "name, nope"}, "no-such-column", {"column": "nope"}, (1, 7)),
        ({"where": "name = 5"}, "type-mismatch", {"function": "="}, (1, 8)),
        ({"select": "sum(name)"}, "type-mismatch", {"function": "sum"}, (1, 5)),
        ({"where": "magnitude > 'abc'"}, "type-mismatch", {}, (1, 13)),
        ({"where": "when_ > '2020-13-45'"}, "type-mismatch", {}, (1, 9)),
        ({"select": "frobnicate(a)"}, "no-such-function", {"function": "frobnicate"}, (1, 1)),
        ({"select": "upper(name, name)"}, "no-such-function", {"function": "upper"}, (1, 1)),
        ({"where": "max(a) > 1"}, "aggregate-in-ungrouped-context", {"function": "max"}, (1, 1)),
        ({"select": "sum(count(*))"}, "aggregate-in-ungrouped-context", {}, (1, 5)),
        (
            {"select": "name, a", "group": "name"},
            "column-not-in-group-bys",
            {"column": "a"},
            (1, 7),
        ),
        ({"select": "a + b", "group": "a"}, "column-not-in-group-bys", {"column": "b"}, (1, 5)),
        ({"select": "name, name"}, "duplicate-alias", {"alias": "name"}, (1, 7)),
        ({"select": "*, a AS b"}, "duplicate-alias", {"alias": "b"}, (1, 9)),
        ({"select": "a + 1 AS x, x AS y, y AS a2, a2 + x AS x2"}, None, {}, None),
        ({"select": "y + 1 AS x, x + 1 AS y"}, "circular-alias-definition", {}, (1, 13)),
        ({"select": "*(except a, a)"}, "repeated-exception", {"column": "a"}, (1, 13)),
        ({"where": "magnitude"}, "non-boolean-where", {}, (1, 1)),
        ({"order": "loc"}, "unorderable-order-by", {}, (1, 1)),
        ({"select": "distinct name", "order": "a"}, "order-by-not-selected", {}, (1, 1)),
        ({"select": "a::polygon"}, "type-mismatch", {}, (1, 2)),
        ({"select": "a::nonsense"}, "no-such-type", {}, (1, 2)),
        ({"where": "within_polygon(loc, name)"}, "type-mismatch", {}, (1, 21)),
        ({"where": "within_polygon(loc, 'POINT (1 2)')"}, "type-mismatch", {}, (1, 21)),
    ],
)
def test_semantic_errors(soda, code, data, position):
    if code is None:  # a legal chain of aliases, for contrast with the circular one
        compile_query(SodaParams(**soda), SCHEMA)
        return
    exc = error(**soda)
    assert exc.code == f"query.soql.{code}", exc.message
    for key, value in data.items():
        assert exc.data[key] == value
    assert exc.data["position"] == {"line": position[0], "column": position[1]}
    assert f"line {position[0]}, column {position[1]}" in exc.message


def test_grouping_rules_accept_structural_equality_and_whole_table_aggregates():
    compile_query(SodaParams(select="a + b, count(*)", group="a + b"), SCHEMA)
    compile_query(SodaParams(select="count(*)", having="count(*) > 5"), SCHEMA)
    compile_query(SodaParams(select="upper(name) AS u, max(a)", group="u", order="u"), SCHEMA)


# ---- parameters ---------------------------------------------------------------------------------


def test_params_from_query_items():
    params = SodaParams.from_query_items(
        [
            ("$LIMIT", "5"),
            ("$Where", "a > 1"),
            ("name", "x"),
            ("$$app_token", "t"),
            ("$jsonp", "cb"),
            ("a", "2"),
        ]
    )
    assert params == SodaParams(limit="5", where="a > 1", filters=(("name", "x"), ("a", "2")))


@pytest.mark.parametrize(
    "items",
    [
        [("$bogus", "1")],
        [("$query", "select *"), ("$limit", "5")],
        [("$where", "a > 1"), ("$WHERE", "a > 2")],
    ],
)
def test_bad_params(items):
    with pytest.raises(InvalidQuery) as info:
        SodaParams.from_query_items(items)
    assert info.value.code == "query.compiler.malformed"


# ---- SQL shape -----------------------------------------------------------------------------------


def test_every_literal_is_bound_and_postgres_sql_has_no_percent():
    pg = TableSchema("d_abcd_1234_g1", SCHEMA.columns, "postgresql")
    compiled = compile_query(
        SodaParams(where="name LIKE '100%' AND magnitude % 2 = 1", q="50%", select="name"), pg
    )
    assert "%" not in compiled.sql.replace("%(", "").replace(")s", "")
    assert "100" not in compiled.sql
    assert "'50" not in compiled.sql
    assert "100%" in compiled.params.values()


def test_compiled_queries_are_cached_but_params_are_fresh():
    params = SodaParams(where="a > 1")
    first, second = compile_query(params, SCHEMA), compile_query(params, SCHEMA)
    assert first.sql is second.sql
    first.params.clear()
    assert compile_query(params, SCHEMA).params


def test_offset_seek_only_when_ids_are_dense():
    dense = TableSchema("t1", SCHEMA.columns, "sqlite", ids_dense=True, min_row_id=11)
    seek = compile_query(SodaParams(order=":id", offset="500", limit="100"), dense)
    assert "OFFSET" not in seek.sql
    assert 511 in seek.params.values()
    filtered = compile_query(SodaParams(where="a > 1", offset="500"), dense)
    assert "OFFSET" in filtered.sql
    assert "OFFSET" in compile_query(SodaParams(offset="500"), SCHEMA).sql


def test_sqlite_groups_by_scan_when_the_group_index_cannot_cover_the_query():
    covered = compile_query(SodaParams(select="name, count(*)", group="name"), SCHEMA)
    assert 'GROUP BY t."name"' in covered.sql
    needs_rows = compile_query(
        SodaParams(select="name, avg(magnitude)", where="a > 1", group="name"), SCHEMA
    )
    assert 'GROUP BY +(t."name")' in needs_rows.sql
    pg = TableSchema("t1", SCHEMA.columns, "postgresql")
    assert (
        "+(" not in compile_query(SodaParams(select="name, avg(magnitude)", group="name"), pg).sql
    )
