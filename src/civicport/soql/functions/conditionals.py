"""Conditionals: CASE, case(), iif, coalesce, nullif, greatest, least."""

from __future__ import annotations

from civicport.soql import soqltypes as st
from civicport.soql.functions.registry import SCALARS, Emit, register, sig, simple
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall


@register("case", sig("checkbox T", "T", repeat=2, of=SCALARS))
def _case(e: Emitter, call: TCall) -> str:
    args = [e.sql(a) for a in call.args]
    whens = " ".join(f"WHEN {c} THEN {v}" for c, v in zip(args[::2], args[1::2], strict=True))
    return f"(CASE {whens} END)"


@register("iif", sig("checkbox T T", "T", of=SCALARS))
def _iif(e: Emitter, call: TCall) -> str:
    cond, then, other = (e.sql(a) for a in call.args)
    return f"(CASE WHEN {cond} THEN {then} ELSE {other} END)"


@register("coalesce", sig("T", "T", repeat=1, of=SCALARS))
def _coalesce(e: Emitter, call: TCall) -> str:
    args = [e.sql(a) for a in call.args]
    # SQLite's coalesce() wants two arguments or more; of one, it is that one.
    return f"coalesce({', '.join(args)})" if len(args) > 1 else args[0]


register("nullif", sig("T T", "T", of=SCALARS))(simple("nullif"))


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
