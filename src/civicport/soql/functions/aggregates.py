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


@register("median", sig("T", "T", of=st.ORDERED - {st.CHECKBOX}), aggregate=True)
def _median(e: Emitter, call: TCall) -> str:
    """The middle value: interpolated between the two middle ones for numbers (continuous),
    the lower of them for text and timestamps (discrete)."""
    arg = call.args[0]
    x = e.sql(arg)
    continuous = arg.type in st.NUMERIC
    if e.pg:
        kind = "cont" if continuous else "disc"
        return f"percentile_{kind}(0.5) WITHIN GROUP (ORDER BY {e.collate(x, arg.type)})"
    return f"cp_median({x})" if continuous else f"cp_median_disc({x})"


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


def _regression(statistic: str) -> Emit:
    """regr_slope, regr_intercept, regr_r2 of (y, x) over the rows where both are present."""

    def emit(e: Emitter, call: TCall) -> str:
        y, x = (e.sql(a) for a in call.args)
        if e.pg:
            return f"regr_{statistic}({y}, {x})"
        # SQLite has no regression aggregates: least squares from sums. Sxx, Syy and Sxy are
        # n² times the variances and the covariance, as PostgreSQL defines the three results.
        px = f"(CASE WHEN {y} IS NOT NULL THEN CAST({x} AS REAL) END)"
        py = f"(CASE WHEN {x} IS NOT NULL THEN CAST({y} AS REAL) END)"
        n, sx, sy = f"count({px})", f"sum({px})", f"sum({py})"
        sxx = f"({n} * sum({px} * {px}) - {sx} * {sx})"
        syy = f"({n} * sum({py} * {py}) - {sy} * {sy})"
        sxy = f"({n} * sum({px} * {py}) - {sx} * {sy})"
        if statistic == "slope":
            return f"({sxy} / NULLIF({sxx}, 0))"
        if statistic == "intercept":
            return f"(({sy} * {sxx} - {sxy} * {sx}) / NULLIF({n} * {sxx}, 0))"
        return (
            f"(CASE WHEN {sxx} = 0 THEN NULL WHEN {syy} = 0 THEN 1.0 "
            f"ELSE ({sxy} * {sxy}) / ({sxx} * {syy}) END)"
        )

    return emit


_REGRESSION_SIGNATURES = (
    sig("number number", st.NUMBER),
    sig("double double", st.DOUBLE),
    sig("number double", st.NUMBER),
    sig("double number", st.NUMBER),
)
for _statistic in ("slope", "intercept", "r2"):
    register(f"regr_{_statistic}", *_REGRESSION_SIGNATURES, aggregate=True)(_regression(_statistic))


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
