"""Text functions: upper, lower, trim, substring, starts_with, the caseless_* family…"""

from __future__ import annotations

from civicport.soql import soqltypes as st
from civicport.soql.functions.registry import Emit, integer_arg, register, sig, simple
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall, TLiteral

register("upper", sig("text", st.TEXT))(simple("upper"))
register("lower", sig("text", st.TEXT))(simple("lower"))
register("trim", sig("text", st.TEXT))(simple("trim"))
register("trim_leading", sig("text", st.TEXT))(simple("ltrim"))
register("trim_trailing", sig("text", st.TEXT))(simple("rtrim"))
register("replace", sig("text text text", st.TEXT))(simple("replace"))


@register("substring", sig("text number", st.TEXT), sig("text number number", st.TEXT))
def _substring(e: Emitter, call: TCall) -> str:
    """1-based, as PostgreSQL's substr: a start before 1 still counts the positions before the
    text (substring('hello', -1, 3) is 'h'); a negative length gives null, not an error."""
    text, start = e.sql(call.args[0]), integer_arg(e, e.sql(call.args[1]))
    if len(call.args) == 2:
        return f"substr({text}, {start})" if e.pg else f"substr({text}, max({start}, 1))"
    length = integer_arg(e, e.sql(call.args[2]))
    if e.pg:
        part = f"substr({text}, {start}, {length})"
    else:  # SQLite counts a start below 1 from the end of the text instead
        part = (
            f"(CASE WHEN {start} < 1 THEN substr({text}, 1, max({length} + {start} - 1, 0)) "
            f"ELSE substr({text}, {start}, {length}) END)"
        )
    return f"(CASE WHEN {length} >= 0 THEN {part} END)"


# Longest result left_pad/right_pad build: a longer one is null, so that one query cannot ask
# the database for gigabytes of padding.
MAX_PADDED_LENGTH = 100_000


def _pad(pg_name: str) -> Emit:
    def emit(e: Emitter, call: TCall) -> str:
        text, length, fill = call.args
        size = integer_arg(e, e.sql(length))
        name = pg_name if e.pg else f"cp_{pg_name}"
        padded = f"{name}({e.sql(text)}, {size}, {e.sql(fill)})"
        return f"(CASE WHEN {size} <= {MAX_PADDED_LENGTH} THEN {padded} END)"

    return emit


register("left_pad", sig("text number text", st.TEXT))(_pad("lpad"))
register("right_pad", sig("text number text", st.TEXT))(_pad("rpad"))


@register("split_part", sig("text text number", st.TEXT))
def _split_part(e: Emitter, call: TCall) -> str:
    text, delimiter, position = (e.sql(a) for a in call.args)
    index = integer_arg(e, position)
    if e.pg:  # PostgreSQL refuses field 0; SoQL answers null rather than failing the query
        part = f"split_part({text}, {delimiter}, {index})"
        return f"(CASE WHEN {index} = 0 THEN NULL ELSE {part} END)"
    return f"cp_split_part({text}, {delimiter}, {index})"


@register("chr", sig("number", st.TEXT))
def _chr(e: Emitter, call: TCall) -> str:
    code = integer_arg(e, e.sql(call.args[0]))
    if e.pg:  # chr() raises on 0, on surrogates and past U+10FFFF: null instead
        valid = f"{code} BETWEEN 1 AND 1114111 AND {code} NOT BETWEEN 55296 AND 57343"
        return f"(CASE WHEN {valid} THEN chr({code}) END)"
    return f"cp_chr({code})"


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
