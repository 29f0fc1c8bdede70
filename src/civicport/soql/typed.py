"""The analyzed (typed) expression tree: what the analyzer produces and the compiler emits.

Nodes compare by meaning, not by position, so a SELECT expression can be checked against the
GROUP BY expressions with `==`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TExpr:
    type: str


@dataclass(frozen=True)
class TColumn(TExpr):
    name: str  # SoQL name (':id' for system columns)
    physical: tuple[str, ...]  # SQL column(s): two for a point (lon, lat)


@dataclass(frozen=True)
class TLiteral(TExpr):
    # Already converted for `type`: str, Decimal, float, bool, datetime, int (row id),
    # (lon, lat) for a point, a shapely geometry for other shapes, or None.
    value: Any

    def __hash__(self) -> int:
        return hash((self.type, repr(self.value)))


@dataclass(frozen=True)
class TCall(TExpr):
    function: str  # key into functions.FUNCTIONS
    args: tuple[TExpr, ...]
    aggregate: bool = False


def walk(expr: TExpr) -> Iterator[TExpr]:
    """The expression and every sub-expression, parents first."""
    yield expr
    if isinstance(expr, TCall):
        for arg in expr.args:
            yield from walk(arg)


def contains_aggregate(expr: TExpr) -> bool:
    return any(isinstance(e, TCall) and e.aggregate for e in walk(expr))
