"""The SoQL syntax tree: what the parser produces and the analyzer reads.

Operators are function calls whose names start with `#` (`#=`, `#and`, `#is_null`…), so the
analyzer resolves them like any function, and no user-written name (an identifier) can reach
them. Positions never take part in equality: two expressions that read the same compare equal,
which is what "structurally equal to a GROUP BY expression" needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A field access (`opened.year`, `location.latitude`) is the call #field_year(opened).
FIELD_PREFIX = "#field_"


def field_function(field_name: str) -> str:
    return FIELD_PREFIX + field_name.lower()


@dataclass(frozen=True)
class Position:
    line: int
    column: int

    def as_dict(self) -> dict[str, int]:
        return {"line": self.line, "column": self.column}


NOWHERE = Position(1, 1)


def _pos() -> Position:
    return field(default=NOWHERE, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class Expr:
    """Base of every expression node."""


@dataclass(frozen=True)
class StringLit(Expr):
    value: str
    pos: Position = _pos()


@dataclass(frozen=True)
class NumberLit(Expr):
    text: str  # as written: '5', '5.', '3.14', '1e3'
    pos: Position = _pos()


@dataclass(frozen=True)
class BoolLit(Expr):
    value: bool
    pos: Position = _pos()


@dataclass(frozen=True)
class NullLit(Expr):
    pos: Position = _pos()


@dataclass(frozen=True)
class ColumnRef(Expr):
    name: str  # canonical (lowercase); system columns keep their ':' (':id')
    pos: Position = _pos()
    # `(a)` selects column a under an implicit alias (a_1), `a` under its own name.
    parenthesized: bool = field(default=False, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class FunctionCall(Expr):
    name: str  # lowercase function name, or '#op' for an operator
    args: tuple[Expr, ...]
    distinct: bool = False  # count(DISTINCT x)
    star: bool = False  # count(*)
    pos: Position = _pos()


@dataclass(frozen=True)
class Cast(Expr):
    expr: Expr
    type_name: str
    pos: Position = _pos()


@dataclass(frozen=True)
class Star:
    """`*` or `:*`, with the names of `(EXCEPT a, b)`."""

    exceptions: tuple[tuple[str, Position], ...] = ()


@dataclass(frozen=True)
class Selection:
    expr: Expr
    alias: str | None = None
    alias_pos: Position = _pos()


@dataclass(frozen=True)
class SelectList:
    distinct: bool = False
    system_star: Star | None = None
    user_star: Star | None = None
    selections: tuple[Selection, ...] = ()


@dataclass(frozen=True)
class Ordering:
    expr: Expr
    ascending: bool = True
    nulls_last: bool = True


@dataclass(frozen=True)
class Query:
    """A whole statement: `$query`, or the split parameters gathered into one."""

    select: SelectList | None = None
    where: Expr | None = None
    group_by: tuple[Expr, ...] = ()
    having: Expr | None = None
    order_by: tuple[Ordering, ...] = ()
    search: str | None = None
    limit: int | None = None
    offset: int | None = None


def position_of(expr: Expr) -> Position:
    """Where an expression starts in its parameter's text."""
    return getattr(expr, "pos", NOWHERE)
