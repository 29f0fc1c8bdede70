"""What a reader types in the table's filter boxes, as SoQL (pure functions, no database)."""

from __future__ import annotations

import pytest

from civicport.catalog.records import ColumnRecord
from civicport.errors import InvalidQuery
from civicport.web.grid import GridState, filter_condition, parse_grid_state, soda_params


def between(start: str, end: str) -> str:
    return f"`c` >= '{start}T00:00:00' AND `c` < '{end}T00:00:00'"


def column(name: str, soda_type: str) -> ColumnRecord:
    return ColumnRecord(name, name.title(), soda_type, "", 0)


@pytest.mark.parametrize(
    ("soda_type", "typed", "soql"),
    [
        ("text", "pizza", "caseless_contains(`c`, 'pizza')"),
        ("text", "O'Brien", "caseless_contains(`c`, 'O''Brien')"),
        ("text", "= Main St", "`c` = 'Main St'"),
        ("number", "42", "`c` = 42"),
        ("number", ">= 1,000", "`c` >= 1000"),
        ("number", "!=0", "`c` != 0"),
        ("checkbox", "yes", "`c` = true"),
        ("checkbox", "!= sí", "`c` != true"),
        ("checkbox", "falso", "`c` = false"),
        ("floating_timestamp", "2020", between("2020-01-01", "2021-01-01")),
        ("floating_timestamp", "2020-12", between("2020-12-01", "2021-01-01")),
        ("fixed_timestamp", "2020-02-29", between("2020-02-29", "2020-03-01")),
        ("floating_timestamp", "< 2020-05-01 08:30", "`c` < '2020-05-01T08:30'"),
    ],
)  # fmt: skip
def test_filter_boxes_become_soql(soda_type: str, typed: str, soql: str) -> None:
    assert filter_condition(column("c", soda_type), typed) == soql


@pytest.mark.parametrize(
    ("soda_type", "typed", "says"),
    [
        ("number", "lots", "is not a number"),
        ("number", "nan", "is not a number"),
        ("checkbox", "maybe", "use true or false"),
        ("floating_timestamp", "yesterday", "is not a date"),
        ("floating_timestamp", "2020-02-30", "is not a date"),
        ("point", "x", "cannot be filtered"),
    ],
)
def test_filter_boxes_refuse_what_they_cannot_mean(soda_type: str, typed: str, says: str) -> None:
    with pytest.raises(InvalidQuery, match=says):
        filter_condition(column("c", soda_type), typed)


def test_state_round_trips_to_soda_parameters() -> None:
    state = parse_grid_state(
        [("f.name", " pizza "), ("f.score", ""), ("where", "score > 1"), ("q", "main"),
         ("sort", "score"), ("desc", "1"), ("page", "3")]
    )  # fmt: skip
    assert state == GridState(
        filters=(("name", "pizza"),),
        where="score > 1",
        search="main",
        sort="score",
        descending=True,
        page=3,
    )
    columns = [column("name", "text"), column("score", "number")]
    assert soda_params(state, columns) == [
        ("$where", "caseless_contains(`name`, 'pizza') AND (score > 1)"),
        ("$q", "main"),
        ("$order", "`score` DESC"),
        ("$limit", "25"),
        ("$offset", "50"),
    ]
