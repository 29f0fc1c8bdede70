"""Every SoQL function and operator, with each of its signatures, runs on both databases.

The sample arguments are columns (or literals) of the sample table of the right type, so every
call must compile. It may hit a value the database rejects (DataError, a 400 over HTTP), but it
must never be SQL the database cannot run: that would be a 500.
"""

from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa

from civicport.soql import soqltypes as st
from civicport.soql.ast import FIELD_PREFIX
from civicport.soql.functions import FUNCTIONS, Signature

SAMPLES = {
    st.TEXT: "name",
    st.NUMBER: "amount",
    st.DOUBLE: "ratio",
    st.FLOATING: "opened",
    st.FIXED: "closed",
    st.CHECKBOX: "is_open",
    st.POINT: "location",
    "polygon": "'POLYGON ((-73 41, -72 41, -72 42, -73 42, -73 41))'",
    "multipolygon": "'MULTIPOLYGON (((-73 41, -72 41, -72 42, -73 42, -73 41)))'",
}
# Arguments that must be literals: a time zone, or a shape.
LITERALS = {st.TEXT: "'UTC'", st.POINT: "'POINT (-72.6851 41.7658)'"}


def _argument(signature: Signature, index: int, literal: bool) -> str | None:
    param = signature.param_at(index)
    if param == "*":
        return "name"
    if param == "T":
        choices = sorted(t for t in signature.of if t in SAMPLES)
        return SAMPLES[choices[0]] if choices else None
    if literal and param in LITERALS:
        return LITERALS[param]
    return SAMPLES.get(param)


# Internal functions of summary-table queries (soql/summary.py): no SoQL spelling at all.
SUMMARY_ONLY = {"#summary_total", "#summary_count_present", "#summary_ratio"}
# How SoQL spells the operators, casts and fields (registered under `#` names).
SYNTAX = {
    **{op: "({0} " + op[1:] + " {1})" for op in ("#=", "#!=", "#<", "#<=", "#>", "#>=")},
    **{op: "({0} " + op[1:] + " {1})" for op in ("#+", "#-", "#*", "#/", "#%", "#^", "#||")},
    "#and": "({0} AND {1})",
    "#or": "({0} OR {1})",
    "#not": "(NOT {0})",
    "#neg": "(- {0})",
    "#pos": "(+ {0})",
    "#is_null": "({0} IS NULL)",
    "#is_not_null": "({0} IS NOT NULL)",
    "#between": "({0} BETWEEN {1} AND {2})",
    "#not_between": "({0} NOT BETWEEN {1} AND {2})",
    "#in": "({0} IN ({1}))",
    "#not_in": "({0} NOT IN ({1}))",
    "#like": "({0} LIKE {1})",
    "#not_like": "({0} NOT LIKE {1})",
    "#to_text": "{0}::text",
    "#to_number": "{0}::number",
    "#to_double": "{0}::double",
    "#count_star": "count(*)",
}


def _arities(signatures: tuple[Signature, ...]) -> list[tuple[Signature, int]]:
    """Each signature with its fewest arguments, and with one more round of repeats."""
    return [
        (signature, count)
        for signature in signatures
        for count in sorted({len(signature.params), len(signature.params) + signature.repeat})
    ]


def _calls() -> list[tuple[str, str]]:
    calls = []
    for name, function in sorted(FUNCTIONS.items()):
        for signature, count in _arities(function.signatures):
            args = [_argument(signature, i, i in function.literal_args) for i in range(count)]
            if None in args:
                continue
            if name.startswith(FIELD_PREFIX):
                call = f"{args[0]}.{name.removeprefix(FIELD_PREFIX)}"
            elif name in SUMMARY_ONLY:
                continue
            elif name.startswith("#"):
                call = SYNTAX[name].format(*args)
            else:
                call = f"{name}({', '.join(args)})"  # type: ignore[arg-type]
            calls.append((name, call))
    return calls


def test_every_operator_has_a_spelling() -> None:
    internal = {n for n in FUNCTIONS if n.startswith("#") and not n.startswith(FIELD_PREFIX)}
    assert internal - set(SYNTAX) == {
        "#summary_total",
        "#summary_count_present",
        "#summary_ratio",  # never written
    }


@pytest.mark.parametrize(("name", "call"), _calls())
def test_function_runs(run, name: str, call: str) -> None:
    # The arguments fit the signature, so the query must compile; only values may be refused.
    with contextlib.suppress(sa.exc.DataError):
        run(select=f"{call} AS v", limit="3")
