"""Aggregate functions: count, sum, avg, min, max, stddev_*, bool_*, extent."""

from __future__ import annotations

from civicport.soql import soqltypes as st
from civicport.soql.functions.registry import Emit, register, sig, simple
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall


@register("#count_star", sig("", st.NUMBER), aggregate=True)
def _count_star(e: Emitter, call: TCall) -> str:
    return "count(*)"


@register("count", sig("*", st.NUMBER), aggregate=True)
def _count(e: Emitter, call: TCall) -> str:
    return f"count({e.values(call.args[0])[0]})"


@register("count_distinct", sig("T", st.NUMBER, of=st.ORDERED), aggregate=True)
def _count_distinct(e: Emitter, call: TCall) -> str:
    return f"count(DISTINCT {e.sql(call.args[0])})"


register("sum", sig("T", "T", of=st.NUMERIC), aggregate=True)(simple("sum"))
register("avg", sig("T", "T", of=st.NUMERIC), aggregate=True)(simple("avg"))


def _min_max(name: str) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        arg = call.args[0]
        return f"{name}({e.collate(e.sql(arg), arg.type)})"

    return emit


register("min", sig("T", "T", of=st.ORDERED - {st.CHECKBOX}), aggregate=True)(_min_max("min"))
register("max", sig("T", "T", of=st.ORDERED - {st.CHECKBOX}), aggregate=True)(_min_max("max"))


def _stddev(sample: bool) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        x = e.sql(call.args[0])
        if e.pg:
            return f"stddev_{'samp' if sample else 'pop'}({x})"
        n = f"count({x})"
        variance = f"(sum(({x}) * ({x})) - sum({x}) * sum({x}) / {n})"
        divisor = f"NULLIF({n} - 1, 0)" if sample else f"NULLIF({n}, 0)"
        # max(0, …) absorbs the rounding that can make a zero variance slightly negative.
        return e.math("sqrt", f"max(0.0, CAST({variance} AS REAL) / {divisor})")

    return emit


register("stddev_pop", sig("T", "T", of=st.NUMERIC), aggregate=True)(_stddev(False))
register("stddev_samp", sig("T", "T", of=st.NUMERIC), aggregate=True)(_stddev(True))


@register("bool_and", sig("checkbox", st.CHECKBOX), aggregate=True)
def _bool_and(e: Emitter, call: TCall) -> str:
    x = e.sql(call.args[0])
    return f"bool_and({x})" if e.pg else f"min({x})"


@register("bool_or", sig("checkbox", st.CHECKBOX), aggregate=True)
def _bool_or(e: Emitter, call: TCall) -> str:
    x = e.sql(call.args[0])
    return f"bool_or({x})" if e.pg else f"max({x})"


@register("extent", sig("point", "multipolygon"), aggregate=True)
def _extent(e: Emitter, call: TCall) -> str:
    lon, lat = e.point(call.args[0])
    x0, y0, x1, y1 = (
        f"CAST({fn}({v}) AS TEXT)"
        for fn, v in (("min", lon), ("min", lat), ("max", lon), ("max", lat))
    )
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    ring = " || ',' || ".join(f"'[' || {x} || ',' || {y} || ']'" for x, y in corners)
    return f"""('{{"type":"MultiPolygon","coordinates":[[[' || {ring} || ']]]}}')"""
