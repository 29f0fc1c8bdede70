"""Arithmetic operators, `||`, and `::` casts between text and numbers."""

from __future__ import annotations

from civicport.soql import soqltypes as st
from civicport.soql.functions.registry import Emit, register, sig
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall

_NUMBER_RE = "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"


def _arith(op: str) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        return f"({e.sql(call.args[0])} {op} {e.sql(call.args[1])})"

    return emit


register("#+", sig("T T", "T", of=st.NUMERIC))(_arith("+"))
register("#-", sig("T T", "T", of=st.NUMERIC))(_arith("-"))
register("#*", sig("T T", "T", of=st.NUMERIC))(_arith("*"))


@register("#/", sig("T T", "T", of=st.NUMERIC))
def _divide(e: Emitter, call: TCall) -> str:
    left, right = (e.sql(a) for a in call.args)
    if e.pg:
        return f"({left} / NULLIF({right}, 0))"
    # SQLite divides integers as integers; SoQL numbers are decimals.
    return f"(CAST({left} AS REAL) / NULLIF({right}, 0))"


@register("#%", sig("T T", "T", of=st.NUMERIC))
def _modulo(e: Emitter, call: TCall) -> str:
    left, right = (e.sql(a) for a in call.args)
    if e.pg:
        if call.type == st.DOUBLE:  # PostgreSQL's mod() takes integers and numerics only
            remainder = f"MOD(CAST({left} AS NUMERIC), NULLIF(CAST({right} AS NUMERIC), 0))"
            return f"CAST({remainder} AS DOUBLE PRECISION)"
        return f"MOD({left}, NULLIF({right}, 0))"
    # Truncated remainder (PostgreSQL's), also for non-integers, which SQLite's % truncates.
    return f"({left} - {right} * CAST(CAST({left} AS REAL) / NULLIF({right}, 0) AS INTEGER))"


@register("#^", sig("T T", "T", of=st.NUMERIC))
def _power(e: Emitter, call: TCall) -> str:
    return e.math("power", e.sql(call.args[0]), e.sql(call.args[1]))


@register("#neg", sig("T", "T", of=st.NUMERIC))
def _negate(e: Emitter, call: TCall) -> str:
    return f"(- {e.sql(call.args[0])})"


@register("#pos", sig("T", "T", of=st.NUMERIC))
def _plus(e: Emitter, call: TCall) -> str:
    return e.sql(call.args[0])


@register("#||", sig("* *", st.TEXT))
def _concat(e: Emitter, call: TCall) -> str:
    parts = []
    for arg in call.args:
        sql = e.sql(arg)
        parts.append(sql if arg.type == st.TEXT or not e.pg else f"CAST({sql} AS TEXT)")
    return f"({parts[0]} || {parts[1]})"


@register("#to_text", sig("*", st.TEXT))
def _to_text(e: Emitter, call: TCall) -> str:
    return f"CAST({e.sql(call.args[0])} AS TEXT)"


def _to_numeric(pg_type: str, sqlite_type: str) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        arg = call.args[0]
        x = e.sql(arg)
        if not e.pg:
            return f"CAST({x} AS {sqlite_type})"
        if arg.type == st.TEXT:
            # PostgreSQL raises on text that is not a number: null instead of a failed query.
            return f"(CASE WHEN trim({x}) ~ '{_NUMBER_RE}' THEN CAST(trim({x}) AS {pg_type}) END)"
        return f"CAST({x} AS {pg_type})"

    return emit


register("#to_number", sig("*", st.NUMBER))(_to_numeric("NUMERIC", "NUMERIC"))
register("#to_double", sig("*", st.DOUBLE))(_to_numeric("DOUBLE PRECISION", "REAL"))
