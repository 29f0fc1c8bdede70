"""Answering a grouped query from the dataset's summary table instead of its rows.

A summary row stands for every data row with its dimension values (datastore.summary), so an
expression over dimensions only has the same value on the summary row as on each row it
stands for. A query can therefore run against the summary when its WHERE, GROUP BY and
non-aggregate outputs use dimensions only, and each aggregate can be recombined from the
summary's parts:

    count(*)            coalesce(sum(":n"), 0)
    count(m)            coalesce(sum(":count:m"), 0)        m a measure
    count(d-expr)       sum of ":n" where the expression is not null
    sum(m)              sum(":sum:m")
    avg(m)              sum(":sum:m") / sum(":count:m")
    min(m), max(m)      min(":min:m"), max(":max:m")
    min, max, count_distinct, bool_and, bool_or of a d-expr: unchanged

Anything else (full-text search, row ids, other columns or aggregates) keeps the rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from civicport.datastore.summary import ROW_COUNT, measure_column
from civicport.datastore.tables import SummarySchema
from civicport.soql import soqltypes as st
from civicport.soql.analyzer import Analysis, Ordering, Output
from civicport.soql.functions import register, sig
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall, TColumn, TExpr, TLiteral

# Aggregates whose value over a dimension expression is the same on summary rows.
_UNCHANGED_OVER_DIMENSIONS = {"min", "max", "count_distinct", "bool_and", "bool_or"}


class _NotSummarizable(Exception):
    """The query needs something the summary does not hold."""


def use_summary(analysis: Analysis, summary: SummarySchema | None) -> Analysis | None:
    """The same query over the summary table's columns, or None if it cannot be answered there."""
    if summary is None or not analysis.grouped or analysis.search is not None or analysis.distinct:
        return None
    rewrite = _Rewriter(summary).expr
    try:
        return dataclasses.replace(
            analysis,
            outputs=tuple(Output(o.name, rewrite(o.expr)) for o in analysis.outputs),
            where=_optional(rewrite, analysis.where),
            group_by=tuple(rewrite(g) for g in analysis.group_by),
            having=_optional(rewrite, analysis.having),
            order_by=tuple(
                Ordering(rewrite(o.expr), o.ascending, o.nulls_last) for o in analysis.order_by
            ),
        )
    except _NotSummarizable:
        return None


def _optional(rewrite: Callable[[TExpr], TExpr], expr: TExpr | None) -> TExpr | None:
    return None if expr is None else rewrite(expr)


class _Rewriter:
    def __init__(self, summary: SummarySchema):
        self.dimensions = set(summary.dimensions)
        self.measures = set(summary.measures)

    def expr(self, expr: TExpr) -> TExpr:
        if isinstance(expr, TLiteral):
            return expr
        if isinstance(expr, TColumn):
            if expr.name not in self.dimensions:
                raise _NotSummarizable
            return expr
        assert isinstance(expr, TCall)
        if expr.aggregate:
            return self._aggregate(expr)
        return dataclasses.replace(expr, args=tuple(self.expr(a) for a in expr.args))

    def _aggregate(self, call: TCall) -> TExpr:
        if call.function == "#count_star":
            return _total(_part(ROW_COUNT))
        if len(call.args) != 1:  # regr_*(y, x): pairs of values the summary does not keep
            raise _NotSummarizable
        (arg,) = call.args
        if isinstance(arg, TColumn) and arg.name in self.measures:
            return self._measure_aggregate(call, arg)
        over_dimensions = self.expr(arg)  # raises unless the argument uses dimensions only
        if call.function in _UNCHANGED_OVER_DIMENSIONS:
            return dataclasses.replace(call, args=(over_dimensions,))
        if call.function == "count":
            return TCall(st.NUMBER, "#summary_count_present", (over_dimensions,), aggregate=True)
        raise _NotSummarizable

    def _measure_aggregate(self, call: TCall, measure: TColumn) -> TExpr:
        def part(name: str, soql_type: str) -> TColumn:
            return _part(measure_column(name, measure.name), soql_type)

        if call.function == "count":
            return _total(part("count", st.NUMBER))
        if call.function in ("sum", "min", "max"):
            return dataclasses.replace(call, args=(part(call.function, measure.type),))
        if call.function == "avg":
            args = (part("sum", measure.type), part("count", st.NUMBER))
            return TCall(call.type, "#summary_ratio", args, aggregate=True)
        raise _NotSummarizable


def _part(physical: str, soql_type: str = st.NUMBER) -> TColumn:
    return TColumn(soql_type, physical, (physical,))


def _total(count: TColumn) -> TCall:
    return TCall(st.NUMBER, "#summary_total", (count,), aggregate=True)


# Internal functions the rewritten queries call; they never appear in user SoQL (the parser
# cannot produce a name starting with '#' that is not an operator).


@register("#summary_total", sig("number", st.NUMBER), aggregate=True)
def _summary_total(e: Emitter, call: TCall) -> str:
    # A count over no rows is 0, where sum is NULL.
    return f"coalesce(sum({e.sql(call.args[0])}), 0)"


@register("#summary_count_present", sig("T", st.NUMBER), aggregate=True)
def _summary_count_present(e: Emitter, call: TCall) -> str:
    rows = e.column(ROW_COUNT)
    return f"coalesce(sum(CASE WHEN {e.is_null(call.args[0])} THEN 0 ELSE {rows} END), 0)"


@register("#summary_ratio", sig("T number", "T", of=st.NUMERIC), aggregate=True)
def _summary_ratio(e: Emitter, call: TCall) -> str:
    total, count = (e.sql(a) for a in call.args)
    if e.pg:
        # numeric / numeric is what PostgreSQL's avg(numeric) itself computes.
        return f"sum({total}) / NULLIF(sum({count}), 0)"
    # SQLite's avg is always REAL; an integer sum must not divide as integers.
    return f"CAST(sum({total}) AS REAL) / sum({count})"
