"""Grouped queries answered from a summary table give exactly the answers the rows give."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from civicport.datastore.tables import TableSchema
from civicport.soql.compiler import compile_query
from civicport.soql.params import SodaParams


def test_dimensions_are_the_columns_with_few_values(summarized: TableSchema) -> None:
    assert summarized.summary is not None
    # Fewest values first; 'name' (7 values) would push the possible groups past the budget.
    assert summarized.summary.dimensions == ("is_open", "category", "description")


SUMMARIZABLE = [
    {"select": "category, count(*) AS n", "group": "category", "order": "n DESC, category"},
    {
        "select": "category, count(amount), sum(amount), avg(amount), min(ratio), max(amount)",
        "group": "category",
    },
    {
        "select": "is_open, avg(ratio) AS r",
        "where": "category IN ('park', 'shop') OR category IS NULL",
        "group": "is_open",
        "having": "r > 0.3",
    },
    {"select": "count(*), count(category), count(distinct category), sum(ratio)"},
    {"select": "count(*), sum(amount), avg(amount), max(ratio)", "where": "category = 'none'"},
    {"select": "upper(category) AS c, count(*)", "group": "c", "order": "c DESC", "limit": "2"},
    {"select": "min(category), max(category), count(is_open), bool_or(is_open)"},
    {"group": "category", "order": "count DESC, category", "offset": "1"},
    {"query": "SELECT category, count(*) AS n WHERE is_open GROUP BY category ORDER BY n"},
]

FROM_ROWS = [
    {"select": "category, min(name)", "group": "category"},  # name is not a dimension
    {"select": "category, count(*)", "where": "amount > 10", "group": "category"},
    {"select": "category, stddev_pop(amount)", "group": "category"},
    {"select": "category, regr_slope(amount, ratio)", "group": "category"},  # two arguments
    {"select": "category, sum(amount * 2)", "group": "category"},
    {"select": "count(*)", "q": "broken"},
    {"select": "category, amount"},  # not grouped
    {"select": "distinct category"},
]


def _answers(run, schema: TableSchema, soda: dict[str, Any]) -> list[dict[str, Any]]:
    rows = run(schema, **soda)
    return [
        {k: pytest.approx(v) if isinstance(v, float) else v for k, v in r.items()} for r in rows
    ]


def _reads_summary(schema: TableSchema, soda: dict[str, Any]) -> bool:
    assert schema.summary is not None
    return schema.summary.table_name in compile_query(SodaParams(**soda), schema).sql


@pytest.mark.parametrize("soda", SUMMARIZABLE)
def test_summary_answers_equal_the_rows(run, summarized: TableSchema, soda) -> None:
    assert _reads_summary(summarized, soda)
    from_rows = run(dataclasses.replace(summarized, summary=None), **soda)
    assert from_rows  # the comparison means something
    assert _answers(run, summarized, soda) == from_rows


@pytest.mark.parametrize("soda", FROM_ROWS)
def test_queries_the_summary_cannot_answer_read_the_rows(summarized: TableSchema, soda) -> None:
    assert not _reads_summary(summarized, soda)


def test_counts_follow_the_copies(run, summarized: TableSchema) -> None:
    copies = run(summarized, select="count(*) AS n")[0]["n"] // 7  # 7 sample rows per copy
    rows = run(summarized, select="category, count(*) AS n, sum(amount) AS s", group="category")
    park = next(r for r in rows if r["category"] == "park")
    assert park["n"] == 2 * copies
    # 10 and 25.5 in the first copy, each shifted by the copy's number after that
    assert park["s"] == pytest.approx(copies * 35.5 + 2 * sum(range(copies)))


def test_empty_selection_counts_zero(run, summarized: TableSchema) -> None:
    assert run(summarized, select="count(*) AS n", where="category = 'nowhere'") == [{"n": 0}]
