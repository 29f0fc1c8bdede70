"""Comparison operators and boolean logic: `=`, `<`, IN, BETWEEN, LIKE, AND/OR/NOT, IS NULL."""

from __future__ import annotations

from civicport.soql import soqltypes as st
from civicport.soql.functions.registry import COMPARABLE, SCALARS, Emit, register, sig
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall, TLiteral


def compare(op: str) -> Emit:
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


register("#=", sig("T T", st.CHECKBOX, of=st.EQUATABLE - (st.GEO - {st.POINT})))(compare("="))
register("#!=", sig("T T", st.CHECKBOX, of=st.EQUATABLE - (st.GEO - {st.POINT})))(compare("<>"))
for _op in ("<", "<=", ">", ">="):
    register(f"#{_op}", sig("T T", st.CHECKBOX, of=COMPARABLE))(compare(_op))


def _junction(word: str) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        return f"({e.sql(call.args[0])} {word} {e.sql(call.args[1])})"

    return emit


register("#and", sig("checkbox checkbox", st.CHECKBOX))(_junction("AND"))
register("#or", sig("checkbox checkbox", st.CHECKBOX))(_junction("OR"))


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
