"""Emitting SQL text for typed expressions: bound parameters, quoting, dialect helpers.

Everything a user typed reaches the SQL only as a bound parameter (named `p0`, `p1`…, one per
distinct value so that a SELECT expression and its GROUP BY twin read identically) or as a
schema column name inside double quotes. Numbers the compiler derives itself (polygon edge
coefficients, the earth's radius) are written as float literals.
"""

from __future__ import annotations

import math
from typing import Any

from civicport.datastore.types import format_fixed, format_floating
from civicport.errors import InvalidQuery
from civicport.soql import soqltypes as st
from civicport.soql.typed import TCall, TColumn, TExpr, TLiteral

TABLE_ALIAS = "t"

_PG_TYPES = {
    st.TEXT: "TEXT",
    st.URL: "TEXT",
    st.NUMBER: "NUMERIC",
    st.DOUBLE: "DOUBLE PRECISION",
    st.CHECKBOX: "BOOLEAN",
    st.FLOATING: "TIMESTAMP",
    st.FIXED: "TIMESTAMPTZ",
    st.ROW_ID: "BIGINT",
}
_SQLITE_INT_LIMIT = 2**63
# SQLite builds differ in which math functions they carry; db/sqlite_functions.py has these.
_SQLITE_MATH = {"sin", "cos", "asin", "sqrt", "radians", "ln", "power"}


def quote(identifier: str) -> str:
    """A SQL identifier in double quotes (schema names only, never user text)."""
    return '"' + identifier.replace('"', '""') + '"'


class Emitter:
    """Collects parameters while turning typed expressions into SQL for one dialect."""

    def __init__(self, dialect: str):
        self.dialect = dialect
        self.pg = dialect == "postgresql"
        self.params: dict[str, Any] = {}
        self._names: dict[tuple[str, str, str], str] = {}

    # ---- parameters and constants
    def placeholder(self, name: str) -> str:
        return f"%({name})s" if self.pg else f":{name}"

    def bind(self, value: Any, soql_type: str) -> str:
        """A bound parameter holding `value` (already converted to `soql_type`)."""
        if value is None:
            return self.null(soql_type)
        stored = self._storage_value(value, soql_type)
        key = (soql_type, type(stored).__name__, repr(stored))
        name = self._names.get(key)
        if name is None:
            name = f"p{len(self._names)}"
            self._names[key] = name
            self.params[name] = stored
        placeholder = self.placeholder(name)
        if self.pg:
            return f"CAST({placeholder} AS {_PG_TYPES.get(soql_type, 'TEXT')})"
        return placeholder

    def null(self, soql_type: str) -> str:
        if self.pg and soql_type in _PG_TYPES:
            return f"CAST(NULL AS {_PG_TYPES[soql_type]})"
        return "NULL"

    def _storage_value(self, value: Any, soql_type: str) -> Any:
        if soql_type == st.NUMBER and not self.pg:
            # SQLite integers are 64-bit: larger integral numbers (1e20, 1e400) bind as REAL.
            if value == value.to_integral_value() and abs(value) < _SQLITE_INT_LIMIT:
                return int(value)
            return float(value)
        if soql_type == st.CHECKBOX and not self.pg:
            return int(value)
        if soql_type == st.FLOATING and not self.pg:
            return format_floating(value)
        if soql_type == st.FIXED and not self.pg:
            return format_fixed(value)
        if soql_type in st.GEO:
            import orjson
            import shapely.geometry

            return orjson.dumps(shapely.geometry.mapping(value)).decode()
        return value

    @staticmethod
    def const(value: float) -> str:
        """A number the compiler computed (never user text), as a SQL float literal."""
        if not math.isfinite(value):
            raise InvalidQuery(
                "Geometry coordinates must be finite numbers", code="query.soql.type-mismatch"
            )
        return repr(float(value))

    # ---- names and functions
    def column(self, physical: str) -> str:
        return f"{TABLE_ALIAS}.{quote(physical)}"

    def math(self, name: str, *args: str) -> str:
        """A math function call that works on both dialects."""
        prefix = "cp_" if not self.pg and name in _SQLITE_MATH else ""
        return f"{prefix}{name}({', '.join(args)})"

    def collate(self, sql: str, soql_type: str) -> str:
        """Text compares and sorts by code point on both dialects (SQLite's BINARY order)."""
        if self.pg and soql_type in (st.TEXT, st.URL):
            return f'({sql} COLLATE "C")'
        return sql

    # ---- expressions
    def sql(self, expr: TExpr) -> str:
        """One SQL value expression for a non-point expression."""
        if expr.type == st.POINT:
            raise InvalidQuery(
                "A point can only be used with geospatial functions, IS NULL and count",
                code="query.soql.type-mismatch",
            )
        if isinstance(expr, TColumn):
            return self.column(expr.physical[0])
        if isinstance(expr, TLiteral):
            return self.bind(expr.value, expr.type)
        assert isinstance(expr, TCall)
        from civicport.soql.functions import FUNCTIONS

        result = FUNCTIONS[expr.function].emit(self, expr)
        assert isinstance(result, str)
        return result

    def point(self, expr: TExpr) -> tuple[str, str]:
        """The (longitude, latitude) SQL expressions of a point expression."""
        if isinstance(expr, TColumn):
            lon, lat = expr.physical
            return self.column(lon), self.column(lat)
        if isinstance(expr, TLiteral):
            if expr.value is None:
                return self.null(st.DOUBLE), self.null(st.DOUBLE)
            lon, lat = expr.value
            return self.bind(float(lon), st.DOUBLE), self.bind(float(lat), st.DOUBLE)
        assert isinstance(expr, TCall)
        from civicport.soql.functions import FUNCTIONS

        result = FUNCTIONS[expr.function].emit(self, expr)
        assert isinstance(result, tuple)
        return result

    def values(self, expr: TExpr) -> tuple[str, ...]:
        """Every SQL column an expression's value takes (two for a point)."""
        return self.point(expr) if expr.type == st.POINT else (self.sql(expr),)

    def is_null(self, expr: TExpr) -> str:
        return f"{self.values(expr)[0]} IS NULL"
