"""Number functions: abs, ceil, floor, round, ln…"""

from __future__ import annotations

from civicport.soql import soqltypes as st
from civicport.soql.functions.registry import integer_arg, register, sig, simple
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall

register("abs", sig("T", "T", of=st.NUMERIC))(simple("abs"))


def _floor_sql(x: str) -> str:
    # Portable floor: not every SQLite build has floor().
    return f"(CAST({x} AS INTEGER) - (CAST({x} AS INTEGER) > {x}))"


@register("floor", sig("T", "T", of=st.NUMERIC))
def _floor(e: Emitter, call: TCall) -> str:
    x = e.sql(call.args[0])
    return f"floor({x})" if e.pg else _floor_sql(x)


@register("ceil", sig("T", "T", of=st.NUMERIC))
def _ceil(e: Emitter, call: TCall) -> str:
    x = e.sql(call.args[0])
    return f"ceil({x})" if e.pg else f"(- {_floor_sql(f'(- {x})')})"


@register("round", sig("number", st.NUMBER), sig("number number", st.NUMBER))
def _round(e: Emitter, call: TCall) -> str:
    args = [e.sql(a) for a in call.args]
    if e.pg:
        digits = integer_arg(e, args[1]) if len(args) > 1 else "0"
        return f"round({args[0]}, {digits})"
    return f"round({', '.join(args)})"


@register("ln", sig("T", "T", of=st.NUMERIC))
def _ln(e: Emitter, call: TCall) -> str:
    x = e.sql(call.args[0])
    # PostgreSQL raises on ln(0) and ln(-1); SQLite's UDF returns null. Make both null.
    return e.math("ln", f"CASE WHEN {x} > 0 THEN {x} END")


@register("width_bucket", sig("number number number number", st.NUMBER))
def _width_bucket(e: Emitter, call: TCall) -> str:
    value, low, high, count = (e.sql(a) for a in call.args)
    if not e.pg:
        return f"cp_width_bucket({value}, {low}, {high}, {count})"
    # PostgreSQL raises on an empty range or a bucket count under 1: null instead.
    buckets = integer_arg(e, count)
    valid = f"{buckets} > 0 AND {low} <> {high}"
    return f"(CASE WHEN {valid} THEN width_bucket({value}, {low}, {high}, {buckets}) END)"
