"""The SoQL function registry: each function's signatures and its SQL on SQLite and PostgreSQL.

Operators are here too, under `#` names (`#=`, `#and`…). A signature lists parameter types,
where `T` is one type variable shared by the call (constrained by `of`) and `*` accepts any
type; the last `repeat` parameters may repeat. Results must be identical on both dialects:
text compares by code point, `/` never truncates, division by zero gives null, NULLs sort
where SoQL says.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from civicport.soql import soqltypes as st
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall, TLiteral

EARTH_RADIUS_M = 6371008.8  # mean radius (IUGG), what haversine distances assume

_NUMBER_RE = "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"

Emit = Callable[[Emitter, TCall], Any]


@dataclass(frozen=True)
class Signature:
    params: tuple[str, ...]
    result: str
    repeat: int = 0
    of: frozenset[str] = st.ALL  # what T may be

    def accepts_arity(self, count: int) -> bool:
        fixed = len(self.params) - self.repeat
        if not self.repeat:
            return count == len(self.params)
        return count >= len(self.params) and (count - fixed) % self.repeat == 0

    def param_at(self, index: int) -> str:
        fixed = len(self.params) - self.repeat
        if index < fixed:
            return self.params[index]
        return self.params[fixed + (index - fixed) % self.repeat]


@dataclass(frozen=True)
class Function:
    name: str
    signatures: tuple[Signature, ...]
    emit: Emit
    aggregate: bool = False
    literal_args: frozenset[int] = frozenset()  # argument positions that must be literals


FUNCTIONS: dict[str, Function] = {}


def sig(params: str, result: str, *, repeat: int = 0, of: frozenset[str] = st.ALL) -> Signature:
    return Signature(tuple(params.split()), result, repeat, of)


def register(
    name: str,
    *signatures: Signature,
    aggregate: bool = False,
    literal_args: tuple[int, ...] = (),
) -> Callable[[Emit], Emit]:
    def decorate(emit: Emit) -> Emit:
        FUNCTIONS[name] = Function(name, signatures, emit, aggregate, frozenset(literal_args))
        return emit

    return decorate


def display_name(function: str) -> str:
    """How an error message names a function or operator."""
    names = {
        "#neg": "-",
        "#pos": "+",
        "#is_null": "IS NULL",
        "#is_not_null": "IS NOT NULL",
        "#count_star": "count(*)",
    }
    if function in names:
        return names[function]
    return function.lstrip("#").replace("_", " ").upper() if function.startswith("#") else function


NON_POINT = st.ALL - {st.POINT}
COMPARABLE = st.ORDERED  # `<` and friends
SCALARS = st.ORDERED  # what IN, CASE, COALESCE... carry


# ---- comparison and logic --------------------------------------------------------------------


def _compare(op: str) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        left, right = call.args
        if left.type == st.POINT:
            (x1, y1), (x2, y2) = e.point(left), e.point(right)
            both = f"({x1} = {x2} AND {y1} = {y2})"
            return both if op == "=" else f"(NOT {both})"
        if op in ("=", "<>"):
            return f"({e.sql(left)} {op} {e.sql(right)})"
        return f"({e.collate(e.sql(left), left.type)} {op} {e.collate(e.sql(right), right.type)})"

    return emit


register("#=", sig("T T", st.CHECKBOX, of=st.EQUATABLE - (st.GEO - {st.POINT})))(_compare("="))
register("#!=", sig("T T", st.CHECKBOX, of=st.EQUATABLE - (st.GEO - {st.POINT})))(_compare("<>"))
for _op in ("<", "<=", ">", ">="):
    register(f"#{_op}", sig("T T", st.CHECKBOX, of=COMPARABLE))(_compare(_op))


@register("#and", sig("checkbox checkbox", st.CHECKBOX))
def _and(e: Emitter, call: TCall) -> str:
    return f"({e.sql(call.args[0])} AND {e.sql(call.args[1])})"


@register("#or", sig("checkbox checkbox", st.CHECKBOX))
def _or(e: Emitter, call: TCall) -> str:
    return f"({e.sql(call.args[0])} OR {e.sql(call.args[1])})"


@register("#not", sig("checkbox", st.CHECKBOX))
def _not(e: Emitter, call: TCall) -> str:
    return f"(NOT {e.sql(call.args[0])})"


@register("#is_null", sig("*", st.CHECKBOX))
def _is_null(e: Emitter, call: TCall) -> str:
    return f"({e.is_null(call.args[0])})"


@register("#is_not_null", sig("*", st.CHECKBOX))
def _is_not_null(e: Emitter, call: TCall) -> str:
    return f"(NOT {e.is_null(call.args[0])})"


def _between(negate: bool) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        x, low, high = (e.collate(e.sql(a), a.type) for a in call.args)
        return f"({x} {'NOT ' if negate else ''}BETWEEN {low} AND {high})"

    return emit


register("#between", sig("T T T", st.CHECKBOX, of=COMPARABLE))(_between(False))
register("#not_between", sig("T T T", st.CHECKBOX, of=COMPARABLE))(_between(True))


def _in(negate: bool) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        subject, *items = (e.sql(a) for a in call.args)
        return f"({subject} {'NOT ' if negate else ''}IN ({', '.join(items)}))"

    return emit


register("#in", sig("T T", st.CHECKBOX, repeat=1, of=SCALARS))(_in(False))
register("#not_in", sig("T T", st.CHECKBOX, repeat=1, of=SCALARS))(_in(True))


def _glob_literal(pattern: str) -> str:
    """A LIKE pattern ('%', '_', backslash escapes) as an SQLite GLOB pattern (case-sensitive)."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            ch = next(chars, "\\")
            out.append(f"[{ch}]" if ch in "*?[" else ch)
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


def _like(negate: bool) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        subject, pattern = call.args
        op = "NOT " if negate else ""
        if e.pg:
            return f"({e.sql(subject)} {op}LIKE {e.sql(pattern)})"
        # SQLite's LIKE ignores ASCII case; GLOB does not, so SoQL's LIKE becomes a GLOB.
        if isinstance(pattern, TLiteral) and pattern.value is not None:
            glob = e.bind(_glob_literal(pattern.value), st.TEXT)
        else:
            glob = e.sql(pattern)
            for old, new in (("[", "[[]"), ("*", "[*]"), ("?", "[?]"), ("%", "*"), ("_", "?")):
                glob = f"replace({glob}, '{old}', '{new}')"
        return f"({e.sql(subject)} {op}GLOB {glob})"

    return emit


register("#like", sig("text text", st.CHECKBOX))(_like(False))
register("#not_like", sig("text text", st.CHECKBOX))(_like(True))


# ---- arithmetic ------------------------------------------------------------------------------


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


@register("#to_number", sig("*", st.NUMBER))
def _to_number(e: Emitter, call: TCall) -> str:
    arg = call.args[0]
    x = e.sql(arg)
    if e.pg and arg.type == st.TEXT:
        # PostgreSQL raises on text that is not a number; give null instead of a failed query.
        return f"(CASE WHEN trim({x}) ~ '{_NUMBER_RE}' THEN CAST(trim({x}) AS NUMERIC) END)"
    return f"CAST({x} AS NUMERIC)"


@register("#to_double", sig("*", st.DOUBLE))
def _to_double(e: Emitter, call: TCall) -> str:
    x = e.sql(call.args[0])
    return f"CAST({x} AS DOUBLE PRECISION)" if e.pg else f"CAST({x} AS REAL)"


# ---- text --------------------------------------------------------------------------------------


def _simple(sql_name: str) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        return f"{sql_name}({', '.join(e.sql(a) for a in call.args)})"

    return emit


register("upper", sig("text", st.TEXT))(_simple("upper"))
register("lower", sig("text", st.TEXT))(_simple("lower"))
register("trim", sig("text", st.TEXT))(_simple("trim"))
register("trim_leading", sig("text", st.TEXT))(_simple("ltrim"))
register("trim_trailing", sig("text", st.TEXT))(_simple("rtrim"))
register("replace", sig("text text text", st.TEXT))(_simple("replace"))
register("substring", sig("text number", st.TEXT), sig("text number number", st.TEXT))(
    _simple("substr")
)


@register("length", sig("text", st.NUMBER))
def _length(e: Emitter, call: TCall) -> str:
    return f"length({e.sql(call.args[0])})"


@register("starts_with", sig("text text", st.CHECKBOX))
def _starts_with(e: Emitter, call: TCall) -> str:
    subject, prefix = call.args
    if e.pg:
        return f"starts_with({e.sql(subject)}, {e.sql(prefix)})"
    if isinstance(prefix, TLiteral) and prefix.value is not None:
        # A literal prefix becomes GLOB 'prefix*', which SQLite can answer from an index.
        pattern = "".join(f"[{ch}]" if ch in "*?[" else ch for ch in prefix.value) + "*"
        return f"({e.sql(subject)} GLOB {e.bind(pattern, st.TEXT)})"
    p = e.sql(prefix)
    return f"(substr({e.sql(subject)}, 1, length({p})) = {p})"


@register("contains", sig("text text", st.CHECKBOX))
def _contains(e: Emitter, call: TCall) -> str:
    subject, part = (e.sql(a) for a in call.args)
    return f"(strpos({subject}, {part}) > 0)" if e.pg else f"(instr({subject}, {part}) > 0)"


def _caseless(op: str) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        left, right = (f"lower({e.sql(a)})" for a in call.args)
        if op == "starts_with":
            return f"(substr({left}, 1, length({right})) = {right})"
        if op == "contains":
            return f"(strpos({left}, {right}) > 0)" if e.pg else f"(instr({left}, {right}) > 0)"
        return f"({left} {op} {right})"

    return emit


register("caseless_eq", sig("text text", st.CHECKBOX))(_caseless("="))
register("caseless_ne", sig("text text", st.CHECKBOX))(_caseless("<>"))
register("caseless_starts_with", sig("text text", st.CHECKBOX))(_caseless("starts_with"))
register("caseless_contains", sig("text text", st.CHECKBOX))(_caseless("contains"))


def _caseless_one_of(negate: bool) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        subject, *items = (f"lower({e.sql(a)})" for a in call.args)
        return f"({subject} {'NOT ' if negate else ''}IN ({', '.join(items)}))"

    return emit


register("caseless_one_of", sig("text text", st.CHECKBOX, repeat=1))(_caseless_one_of(False))
register("caseless_not_one_of", sig("text text", st.CHECKBOX, repeat=1))(_caseless_one_of(True))


# ---- numbers -----------------------------------------------------------------------------------


register("abs", sig("T", "T", of=st.NUMERIC))(_simple("abs"))


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
        digits = f"CAST({args[1]} AS INTEGER)" if len(args) > 1 else "0"
        return f"round({args[0]}, {digits})"
    return f"round({', '.join(args)})"


@register("ln", sig("T", "T", of=st.NUMERIC))
def _ln(e: Emitter, call: TCall) -> str:
    x = e.sql(call.args[0])
    # PostgreSQL raises on ln(0) and ln(-1); SQLite's UDF returns null. Make both null.
    return e.math("ln", f"CASE WHEN {x} > 0 THEN {x} END")


# ---- aggregates --------------------------------------------------------------------------------


@register("#count_star", sig("", st.NUMBER), aggregate=True)
def _count_star(e: Emitter, call: TCall) -> str:
    return "count(*)"


@register("count", sig("*", st.NUMBER), aggregate=True)
def _count(e: Emitter, call: TCall) -> str:
    return f"count({e.values(call.args[0])[0]})"


@register("count_distinct", sig("T", st.NUMBER, of=st.ORDERED), aggregate=True)
def _count_distinct(e: Emitter, call: TCall) -> str:
    return f"count(DISTINCT {e.sql(call.args[0])})"


register("sum", sig("T", "T", of=st.NUMERIC), aggregate=True)(_simple("sum"))
register("avg", sig("T", "T", of=st.NUMERIC), aggregate=True)(_simple("avg"))


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


# ---- dates -------------------------------------------------------------------------------------


def _floating(e: Emitter, arg: Any) -> str:
    """A timestamp as a floating (zone-less, UTC for fixed) value."""
    sql = e.sql(arg)
    if e.pg and arg.type == st.FIXED:
        return f"({sql} AT TIME ZONE 'UTC')"
    return sql


def _trunc(unit: str) -> Emit:
    sqlite_forms = {
        "day": "substr({x}, 1, 10) || 'T00:00:00.000'",
        "month": "substr({x}, 1, 7) || '-01T00:00:00.000'",
        "year": "substr({x}, 1, 4) || '-01-01T00:00:00.000'",
    }

    def emit(e: Emitter, call: TCall) -> str:
        x = _floating(e, call.args[0])
        if e.pg:
            return f"date_trunc('{unit}', {x})"
        return "(" + sqlite_forms[unit].format(x=x) + ")"

    return emit


for _suffix, _unit in (("ymd", "day"), ("ym", "month"), ("y", "year")):
    register(f"date_trunc_{_suffix}", sig("T", st.FLOATING, of=st.TIMESTAMPS))(_trunc(_unit))


def _iso_week_sqlite(x: str) -> str:
    # ISO week = week of the year of the Thursday in the same Monday-based week.
    day = f"substr({x}, 1, 10)"
    monday_offset = f"((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7)"
    thursday = f"date({day}, (3 - {monday_offset}) || ' days')"
    return f"((CAST(strftime('%j', {thursday}) AS INTEGER) - 1) / 7 + 1)"


def _extract(field: str) -> Emit:
    sqlite_forms = {
        "year": "CAST(substr({x}, 1, 4) AS INTEGER)",
        "month": "CAST(substr({x}, 6, 2) AS INTEGER)",
        "day": "CAST(substr({x}, 9, 2) AS INTEGER)",
        "hour": "CAST(substr({x}, 12, 2) AS INTEGER)",
        "minute": "CAST(substr({x}, 15, 2) AS INTEGER)",
        "second": "CAST(substr({x}, 18, 2) AS INTEGER)",
        "dow": "CAST(strftime('%w', substr({x}, 1, 10)) AS INTEGER)",
        "isoyear": "CAST(strftime('%Y', date(substr({x}, 1, 10), (3 - ((CAST(strftime('%w', "
        "substr({x}, 1, 10)) AS INTEGER) + 6) % 7)) || ' days')) AS INTEGER)",
    }

    def emit(e: Emitter, call: TCall) -> str:
        x = _floating(e, call.args[0])
        if e.pg:
            return f"CAST(floor(EXTRACT({field.upper()} FROM {x})) AS INTEGER)"
        if field == "week":
            return _iso_week_sqlite(x)
        return sqlite_forms[field].format(x=x)

    return emit


for _suffix, _field in (
    ("y", "year"),
    ("m", "month"),
    ("d", "day"),
    ("hh", "hour"),
    ("mm", "minute"),
    ("ss", "second"),
    ("dow", "dow"),
    ("woy", "week"),
    ("iso_y", "isoyear"),
):
    register(f"date_extract_{_suffix}", sig("T", st.NUMBER, of=st.TIMESTAMPS))(_extract(_field))


@register("date_diff_d", sig("T T", st.NUMBER, of=st.TIMESTAMPS))
def _date_diff_d(e: Emitter, call: TCall) -> str:
    a, b = (e.sql(x) for x in call.args)
    if e.pg:
        return f"CAST(trunc(EXTRACT(EPOCH FROM ({a} - {b})) / 86400) AS INTEGER)"
    return f"CAST(julianday({a}) - julianday({b}) AS INTEGER)"


@register("epoch_seconds", sig("T", st.NUMBER, of=st.TIMESTAMPS))
def _epoch_seconds(e: Emitter, call: TCall) -> str:
    x = _floating(e, call.args[0])
    if e.pg:
        return f"EXTRACT(EPOCH FROM {x})"
    return f"round((julianday({x}) - 2440587.5) * 86400.0, 3)"


@register("get_utc_date", sig("", st.FIXED))
def _get_utc_date(e: Emitter, call: TCall) -> str:
    return "now()" if e.pg else "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


# ---- conditionals ------------------------------------------------------------------------------


@register("case", sig("checkbox T", "T", repeat=2, of=SCALARS))
def _case(e: Emitter, call: TCall) -> str:
    args = [e.sql(a) for a in call.args]
    whens = " ".join(f"WHEN {c} THEN {v}" for c, v in zip(args[::2], args[1::2], strict=True))
    return f"(CASE {whens} END)"


@register("iif", sig("checkbox T T", "T", of=SCALARS))
def _iif(e: Emitter, call: TCall) -> str:
    cond, then, other = (e.sql(a) for a in call.args)
    return f"(CASE WHEN {cond} THEN {then} ELSE {other} END)"


register("coalesce", sig("T", "T", repeat=1, of=SCALARS))(_simple("coalesce"))
register("nullif", sig("T T", "T", of=SCALARS))(_simple("nullif"))


def _extreme(pg_name: str, op: str) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        args = [e.collate(e.sql(a), a.type) for a in call.args]
        if e.pg:
            return f"{pg_name}({', '.join(args)})"
        # SQLite's multi-argument max()/min() return null when any argument is; SoQL's
        # greatest/least skip nulls like PostgreSQL's.
        result = args[0]
        for arg in args[1:]:
            result = (
                f"(CASE WHEN {result} IS NULL THEN {arg} WHEN {arg} IS NULL THEN {result} "
                f"WHEN {arg} {op} {result} THEN {arg} ELSE {result} END)"
            )
        return result

    return emit


register("greatest", sig("T", "T", repeat=1, of=st.ORDERED))(_extreme("greatest", ">"))
register("least", sig("T", "T", repeat=1, of=st.ORDERED))(_extreme("least", "<"))


# ---- geospatial (points are two columns: lon, lat) ---------------------------------------------


def _haversine(e: Emitter, lon1: str, lat1: str, lon2: str, lat2: str) -> str:
    def rad(x: str) -> str:
        return e.math("radians", x)

    half_dlat = e.math("sin", f"({rad(lat2)} - {rad(lat1)}) / 2")
    half_dlon = e.math("sin", f"({rad(lon2)} - {rad(lon1)}) / 2")
    inner = (
        f"{half_dlat} * {half_dlat} + "
        f"{e.math('cos', rad(lat1))} * {e.math('cos', rad(lat2))} * {half_dlon} * {half_dlon}"
    )
    root = e.math("sqrt", inner)
    # Capping at 1 keeps rounding from pushing asin out of its domain (PostgreSQL raises).
    # SQLite's min() is null when an argument is; PostgreSQL's least() would skip the null.
    capped = f"CASE WHEN {root} > 1.0 THEN 1.0 ELSE {root} END" if e.pg else f"min(1.0, {root})"
    arc = e.math("asin", capped)
    return f"({e.const(2 * EARTH_RADIUS_M)} * {arc})"


@register("distance_in_meters", sig("point point", st.NUMBER))
def _distance(e: Emitter, call: TCall) -> str:
    (lon1, lat1), (lon2, lat2) = (e.point(a) for a in call.args)
    return _haversine(e, lon1, lat1, lon2, lat2)


@register("within_circle", sig("point T T T", st.CHECKBOX, of=st.NUMERIC))
def _within_circle(e: Emitter, call: TCall) -> str:
    point, lat, lon, radius = call.args
    plon, plat = e.point(point)
    clat, clon, r = e.sql(lat), e.sql(lon), e.sql(radius)
    test = f"({_haversine(e, plon, plat, clon, clat)} <= {r})"
    if all(isinstance(a, TLiteral) and a.value is not None for a in (lat, lon, radius)):
        # A bounding box first: cheap range tests reject most rows before the trigonometry.
        box = _circle_box(float(lat.value), float(lon.value), float(radius.value))  # type: ignore[attr-defined]
        if box is not None:
            south, north, west, east = (e.const(v) for v in box)
            test = (
                f"({plat} BETWEEN {south} AND {north} AND {plon} BETWEEN {west} AND {east} "
                f"AND {test})"
            )
    return test


def _circle_box(lat: float, lon: float, radius: float) -> tuple[float, float, float, float] | None:
    """(south, north, west, east) around a circle, a little generous; None near the poles."""
    spread = math.degrees(max(radius, 0.0) / EARTH_RADIUS_M) * 1.001 + 1e-9
    if abs(lat) + spread >= 89.0 or spread >= 90.0:
        return None
    lon_spread = spread / math.cos(math.radians(abs(lat) + spread))
    if lon_spread >= 180.0:
        return None
    return lat - spread, lat + spread, lon - lon_spread, lon + lon_spread


@register("within_box", sig("point T T T T", st.CHECKBOX, of=st.NUMERIC))
def _within_box(e: Emitter, call: TCall) -> str:
    lon, lat = e.point(call.args[0])
    north, west, south, east = (e.sql(a) for a in call.args[1:])
    return f"({lat} BETWEEN {south} AND {north} AND {lon} BETWEEN {west} AND {east})"


def _point_in_shape(e: Emitter, lon: str, lat: str, shape: Any) -> str:
    """Even-odd ray casting against every ring of a (multi)polygon, after a bounding box test."""
    polygons = list(getattr(shape, "geoms", [shape]))
    crossings: list[str] = []
    for polygon in polygons:
        for ring in (polygon.exterior, *polygon.interiors):
            coords = list(ring.coords)
            for (x1, y1), (x2, y2) in zip(coords, coords[1:], strict=False):
                if y1 == y2:
                    continue  # a horizontal edge never crosses the horizontal ray
                low, high = min(y1, y2), max(y1, y2)
                slope = (x2 - x1) / (y2 - y1)
                crossings.append(
                    f"CASE WHEN {lat} >= {e.const(low)} AND {lat} < {e.const(high)} AND "
                    f"{lon} < {e.const(x1)} + ({lat} - {e.const(y1)}) * {e.const(slope)} "
                    "THEN 1 ELSE 0 END"
                )
    min_x, min_y, max_x, max_y = (e.const(v) for v in shape.bounds)
    total = " + ".join(crossings) or "0"
    odd = f"MOD({total}, 2) = 1" if e.pg else f"(({total}) % 2) = 1"
    return f"({lon} BETWEEN {min_x} AND {max_x} AND {lat} BETWEEN {min_y} AND {max_y} AND {odd})"


@register(
    "within_polygon",
    sig("point polygon", st.CHECKBOX),
    sig("point multipolygon", st.CHECKBOX),
    literal_args=(1,),
)
def _within_polygon(e: Emitter, call: TCall) -> str:
    lon, lat = e.point(call.args[0])
    shape = call.args[1]
    assert isinstance(shape, TLiteral)
    if shape.value is None:
        return e.null(st.CHECKBOX)
    return _point_in_shape(e, lon, lat, shape.value)


@register(
    "intersects",
    sig("point polygon", st.CHECKBOX),
    sig("point multipolygon", st.CHECKBOX),
    sig("point point", st.CHECKBOX),
    literal_args=(1,),
)
def _intersects(e: Emitter, call: TCall) -> str:
    point, other = call.args
    if other.type == st.POINT:
        return _compare("=")(e, call)
    return _within_polygon(e, call)


@register("make_point", sig("T T", st.POINT, of=st.NUMERIC))
def _make_point(e: Emitter, call: TCall) -> tuple[str, str]:
    lat, lon = (e.sql(a) for a in call.args)
    return lon, lat
