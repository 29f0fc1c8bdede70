"""Every SoQL function, called by name with each of its signatures, runs on both databases.

The sample arguments are columns (or literals) of the sample table of the right type, so every
call must compile. It may hit a value the database rejects (DataError, a 400 over HTTP), but it
must never be SQL the database cannot run: that would be a 500.
"""

from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa

from civicport.soql import soqltypes as st
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


def _calls() -> list[tuple[str, str]]:
    calls = []
    for name, function in sorted(FUNCTIONS.items()):
        if name.startswith("#"):
            continue  # operators and fields: reached through syntax, covered elsewhere
        for signature in function.signatures:
            count = len(signature.params) + signature.repeat
            args = [_argument(signature, i, i in function.literal_args) for i in range(count)]
            if None not in args:
                calls.append((name, f"{name}({', '.join(args)})"))  # type: ignore[arg-type]
    return calls


@pytest.mark.parametrize(("name", "call"), _calls())
def test_function_runs(run, name: str, call: str) -> None:
    # The arguments fit the signature, so the query must compile; only values may be refused.
    with contextlib.suppress(sa.exc.DataError):
        run(select=f"{call} AS v", limit="3")
