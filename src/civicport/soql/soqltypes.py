"""SoQL types, their classes, and the implicit conversion of literals (soda.md §3.6).

A string literal silently becomes a number, timestamp, checkbox, row id or geometry where the
context needs one and its text parses; a number literal may become number or double; `null`
fits anything. Converted values are plain Python values (Decimal, datetime, bool, int, a
(lon, lat) pair or a shapely geometry); the SQL emitter decides how each dialect binds them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from civicport.datastore.rowids import parse_row_id

TEXT = "text"
NUMBER = "number"
DOUBLE = "double"
CHECKBOX = "checkbox"
FLOATING = "floating_timestamp"
FIXED = "fixed_timestamp"
POINT = "point"
ROW_ID = "row_identifier"
URL = "url"

GEO = frozenset({"point", "multipoint", "line", "multiline", "polygon", "multipolygon"})
NUMERIC = frozenset({NUMBER, DOUBLE})
TIMESTAMPS = frozenset({FLOATING, FIXED})
ORDERED = frozenset({TEXT, NUMBER, DOUBLE, CHECKBOX, FLOATING, FIXED, ROW_ID, URL})
EQUATABLE = ORDERED | GEO
ALL = EQUATABLE

# `x::name` targets. SoQL calls checkbox `boolean`.
CAST_NAMES = {
    "text": TEXT,
    "number": NUMBER,
    "double": DOUBLE,
    "boolean": CHECKBOX,
    "checkbox": CHECKBOX,
    "floating_timestamp": FLOATING,
    "fixed_timestamp": FIXED,
    "point": POINT,
    "multipoint": "multipoint",
    "line": "line",
    "multiline": "multiline",
    "polygon": "polygon",
    "multipolygon": "multipolygon",
    "url": URL,
    "row_identifier": ROW_ID,
}

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FLOATING = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?")
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_GEOMETRY_KINDS = {
    "point": "Point",
    "multipoint": "MultiPoint",
    "line": "LineString",
    "multiline": "MultiLineString",
    "polygon": "Polygon",
    "multipolygon": "MultiPolygon",
}


class NotConvertible(ValueError):
    """The literal's text does not parse as the wanted type."""


def convert_string(text: str, soql_type: str) -> Any:
    """A string literal's value as `soql_type`; raises NotConvertible when it does not parse."""
    if soql_type in (TEXT, URL):
        return text
    if soql_type in NUMERIC:
        return convert_number(text.strip(), soql_type)
    if soql_type == CHECKBOX:
        word = text.strip().lower()
        if word in ("true", "1"):
            return True
        if word in ("false", "0"):
            return False
        raise NotConvertible(text)
    if soql_type == FLOATING:
        return _parse_floating(text.strip())
    if soql_type == FIXED:
        return _parse_fixed(text.strip())
    if soql_type == ROW_ID:
        number = parse_row_id(text.strip())
        if number is None:
            raise NotConvertible(text)
        return number
    if soql_type in GEO:
        return _parse_wkt(text, soql_type)
    raise NotConvertible(text)


def convert_number(text: str, soql_type: str) -> Any:
    """A number literal's text as number (Decimal) or double (float)."""
    if not _NUMBER.fullmatch(text):
        raise NotConvertible(text)
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise NotConvertible(text) from exc
    if not value.is_finite():
        raise NotConvertible(text)
    return float(value) if soql_type == DOUBLE else value


def _parse_floating(text: str) -> dt.datetime:
    if not _FLOATING.fullmatch(text):
        raise NotConvertible(text)
    try:
        value = dt.datetime.fromisoformat(_trim_fraction(text))
    except ValueError as exc:
        raise NotConvertible(text) from exc
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _parse_fixed(text: str) -> dt.datetime:
    # An offset can only follow a time ('2024-01-07' ends in digits that look like one).
    offset = _OFFSET.search(text, 11)
    local = text[: offset.start()] if offset else text
    value = _parse_floating(local)
    if not offset:
        return value.replace(tzinfo=dt.UTC)
    zone = offset.group(0).upper()
    if zone == "Z":
        return value.replace(tzinfo=dt.UTC)
    digits = zone[1:].replace(":", "")
    delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    tz = dt.timezone(delta if zone[0] == "+" else -delta)
    return value.replace(tzinfo=tz).astimezone(dt.UTC)


def _trim_fraction(text: str) -> str:
    # fromisoformat accepts 3 or 6 fractional digits only; SoQL keeps milliseconds.
    if "." in text:
        head, fraction = text.rsplit(".", 1)
        return f"{head}.{(fraction + '000')[:3]}"
    return text


def _parse_wkt(text: str, soql_type: str) -> Any:
    import shapely
    from shapely.errors import ShapelyError

    try:
        geometry = shapely.from_wkt(text.strip())
    except (ShapelyError, ValueError) as exc:
        raise NotConvertible(text) from exc
    if geometry is None or geometry.geom_type != _GEOMETRY_KINDS[soql_type] or geometry.is_empty:
        raise NotConvertible(text)
    if not all(math.isfinite(v) for v in geometry.bounds):
        raise NotConvertible(text)
    if isinstance(geometry, shapely.Point):
        return (float(geometry.x), float(geometry.y))
    return geometry
