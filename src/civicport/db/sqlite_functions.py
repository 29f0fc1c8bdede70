"""Functions SQLite lacks that SoQL needs, registered on every SQLite connection as cp_*.

PostgreSQL has all of these built in; each one here follows PostgreSQL's result exactly (the
same tests run on both databases), and answers NULL for a NULL argument, as SQL functions do.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from civicport.datastore.types import format_floating


def register_sqlite_functions(dbapi_conn: sqlite3.Connection) -> None:
    for name, fn in {
        "sin": math.sin,
        "cos": math.cos,
        "asin": math.asin,
        "sqrt": math.sqrt,
        "radians": math.radians,
        "ln": math.log,
        "chr": _chr,
    }.items():
        dbapi_conn.create_function(f"cp_{name}", 1, _null_safe(fn), deterministic=True)
    for name, fn2 in {"power": math.pow, "to_zone": _to_zone}.items():
        dbapi_conn.create_function(f"cp_{name}", 2, _null_safe(fn2), deterministic=True)
    for name, fn3 in {"lpad": _lpad, "rpad": _rpad, "split_part": _split_part}.items():
        dbapi_conn.create_function(f"cp_{name}", 3, _null_safe(fn3), deterministic=True)
    dbapi_conn.create_function("cp_width_bucket", 4, _null_safe(_width_bucket), deterministic=True)
    dbapi_conn.create_function("cp_row_hash", -1, _row_hash, deterministic=True)
    dbapi_conn.create_aggregate("cp_median", 1, _ContinuousMedian)
    dbapi_conn.create_aggregate("cp_median_disc", 1, _DiscreteMedian)


def _row_hash(*values: Any) -> int:
    """A 64-bit hash of a row's values, to pair equal rows quickly (datastore.writes); stable
    within a process only, and callers confirm a pair by comparing the values themselves."""
    return hash(values)


def _to_zone(fixed: str, zone: str) -> str:
    """Stored fixed timestamp ('…Z', UTC) → the floating local time in `zone`, stored form."""
    utc = dt.datetime.fromisoformat(fixed.replace("Z", "+00:00"))
    return format_floating(utc.astimezone(zoneinfo.ZoneInfo(zone)))


def _chr(code: int | float) -> str | None:
    """chr(): the character with this code point; NULL where PostgreSQL would refuse it."""
    number = int(code)
    if number < 1 or number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
        return None
    return chr(number)


def _pad(text: str, length: int | float, fill: str, *, left: bool) -> str:
    """lpad/rpad: fill to `length` characters, or cut the text to it."""
    size = int(length)
    if size <= 0:
        return ""
    if len(text) >= size or not fill:
        return text[:size]
    missing = size - len(text)
    padding = (fill * (missing // len(fill) + 1))[:missing]
    return padding + text if left else text + padding


def _lpad(text: str, length: int | float, fill: str) -> str:
    return _pad(text, length, fill, left=True)


def _rpad(text: str, length: int | float, fill: str) -> str:
    return _pad(text, length, fill, left=False)


def _split_part(text: str, delimiter: str, position: int | float) -> str | None:
    """split_part(): the n-th field (1-based; negative counts from the end); '' past the end."""
    index = int(position)
    if index == 0:
        return None
    fields = text.split(delimiter) if delimiter else [text]
    index = index - 1 if index > 0 else len(fields) + index
    return fields[index] if 0 <= index < len(fields) else ""


def _width_bucket(value: float, low: float, high: float, count: float) -> int | None:
    """width_bucket(): which of `count` equal buckets between low and high holds the value;
    0 below the range, count + 1 above it. Decimal arithmetic on the numbers as written, as
    PostgreSQL's numeric does (0.29 × 100 is 29, not 28.999…)."""
    x, lo, hi = (Decimal(str(v)) for v in (value, low, high))
    buckets = int(count)
    if buckets <= 0 or lo == hi:
        return None
    if lo > hi:  # a descending range: mirror it
        x, lo, hi = -x, -lo, -hi
    if x < lo:
        return 0
    if x >= hi:
        return buckets + 1
    return int((x - lo) * buckets / (hi - lo)) + 1


class _ContinuousMedian:
    """percentile_cont(0.5): the middle value, or the mean of the two middle values."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def step(self, value: Any) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        if not self.values:
            return None
        ordered = sorted(self.values)
        middle = (len(ordered) - 1) / 2
        low, high = ordered[math.floor(middle)], ordered[math.ceil(middle)]
        return float(low + (high - low) * (middle - math.floor(middle)))


class _DiscreteMedian(_ContinuousMedian):
    """percentile_disc(0.5): the first value at or past the middle (for text and dates)."""

    def finalize(self) -> Any:
        if not self.values:
            return None
        ordered = sorted(self.values)
        return ordered[math.ceil(len(ordered) / 2) - 1]


def _null_safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if any(a is None for a in args):
            return None
        try:
            return fn(*args)
        except (ValueError, ArithmeticError):  # out of range, infinite, not a number: NULL
            return None

    return call
