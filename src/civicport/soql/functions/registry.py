"""The SoQL function registry: each function's signatures and how it emits SQL.

Operators are here too, under `#` names (`#=`, `#and`…). A signature lists parameter types,
where `T` is one type variable shared by the call (constrained by `of`) and `*` accepts any
type; the last `repeat` parameters may repeat. Results must be identical on both dialects:
text compares by code point, `/` never truncates, division by zero gives null, NULLs sort
where SoQL says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from civicport.soql import soqltypes as st
from civicport.soql.ast import FIELD_PREFIX
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall

Emit = Callable[[Emitter, TCall], Any]
EmitT = TypeVar("EmitT", bound=Emit)


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
) -> Callable[[EmitT], EmitT]:
    """Register an emitter under `name`; the decorated function keeps its own type."""

    def decorate(emit: EmitT) -> EmitT:
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
    if function.startswith(FIELD_PREFIX):
        return "." + function.removeprefix(FIELD_PREFIX)
    return function.lstrip("#").replace("_", " ").upper() if function.startswith("#") else function


NON_POINT = st.ALL - {st.POINT}
COMPARABLE = st.ORDERED  # `<` and friends
SCALARS = st.ORDERED  # what IN, CASE, COALESCE... carry


def simple(sql_name: str) -> Emit:
    """A call emitted as the SQL function `sql_name` over the same arguments."""

    def emit(e: Emitter, call: TCall) -> str:
        return f"{sql_name}({', '.join(e.sql(a) for a in call.args)})"

    return emit


def integer_arg(e: Emitter, number: str) -> str:
    """A number argument where SQL wants an integer: rounded half away from zero (as
    PostgreSQL casts numeric to integer) and held within 32-bit range, so that a huge value
    neither fails the query on PostgreSQL nor wraps around in SQLite's 32-bit arguments."""
    if e.pg:
        return f"CAST(LEAST(GREATEST({number}, -2147483648), 2147483647) AS INTEGER)"
    return f"CAST(min(max(round({number}), -2147483648), 2147483647) AS INTEGER)"
