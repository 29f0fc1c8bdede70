"""Cell values → the Python values datastore.types.to_storage expects, one column chunk at a time.

Each SODA type has a column converter, ``convert(values, mode)``: it takes a chunk of one
column's raw cells (str from CSV; str, float, bool, date… from Excel; str, dict… from JSON) and
returns the converted list, or raises BadValue naming the first cell that does not fit.

Modes: INFER is what type inference uses — only forms that clearly mean the type ("0611" is a
code, not the number 611; "Y" is a letter, not a checkbox). TRUSTED converts a chunk that
already passed INFER, to the same values, without checking again. LENIENT is used when a person
chose the type, and accepts more ("$1,234", "yes", leading zeros).

Speed matters (a million-row CSV is converted in seconds), so the common case — a chunk of
strings in the canonical form — is checked with C-speed operations on the whole chunk joined
by NUL (a character-class regex, substring tests) and converted with ``map(float, …)`` or
``map(datetime.fromisoformat, …)``; only chunks that fail that take the per-cell path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import orjson

from civicport.datastore.types import GEOMETRY_TYPES, format_number

Converter = Callable[[Sequence[Any], str], list[Any]]

# Conversion modes. INFER: strict forms only, every cell checked. TRUSTED: the same result for
# a chunk that already passed INFER, without re-checking. LENIENT: a person chose the type.
INFER = "infer"
TRUSTED = "trusted"
LENIENT = "lenient"

# Joins a chunk of cells for a whole-chunk regular expression; a cell containing NUL simply
# fails the gate and takes the per-cell path, which rejects it.
SEP = "\x00"


class BadValue(ValueError):
    """A cell that does not fit a column's type: its index in the chunk and why."""

    def __init__(self, index: int, value: Any, reason: str):
        super().__init__(reason)
        self.index = index
        self.value = value
        self.reason = reason


# What a value of each type is, for messages: "is not a date", "4 values were not dates".
TYPE_NOUNS: dict[str, tuple[str, str]] = {
    "text": ("text", "text"),
    "number": ("a number", "numbers"),
    "double": ("a number", "numbers"),
    "checkbox": ("true or false", "true or false"),
    "floating_timestamp": ("a date", "dates"),
    "fixed_timestamp": ("a date with a time zone", "dates with a time zone"),
    "url": ("a web address (http://…)", "web addresses"),
    "point": ("a point", "points"),
    "multipoint": ("a multipoint", "multipoints"),
    "line": ("a line", "lines"),
    "multiline": ("a multiline", "multilines"),
    "polygon": ("a polygon", "polygons"),
    "multipolygon": ("a multipolygon", "multipolygons"),
}


def not_a(soda_type: str) -> str:
    """Why a cell does not fit `soda_type`: 'is not a date'."""
    return f"is not {TYPE_NOUNS[soda_type][0]}"


def _all_str(values: Sequence[Any]) -> bool:
    return set(map(type, values)) == {str}


def _joined(values: Sequence[Any]) -> str | None:
    """The chunk's cells joined by NUL, or None if not all are strings."""
    try:
        return SEP.join(values)
    except TypeError:
        return None


def _fast(values: Sequence[Any], parse: Callable[[str], Any]) -> list[Any]:
    """Convert a chunk of strings already known to have the canonical form (or be empty)."""
    if "" in values:
        return [parse(v) if v else None for v in values]
    return list(map(parse, values))


def _per_cell(values: Sequence[Any], parse: Callable[[Any], Any], reason: str) -> list[Any]:
    out = []
    for i, v in enumerate(values):
        try:
            out.append(parse(v))
        except (ValueError, TypeError, ArithmeticError, KeyError):
            raise BadValue(i, v, reason) from None
    return out


def _empty(v: Any) -> bool:
    return v is None or (type(v) is str and not v.strip())


# --- text ------------------------------------------------------------------------------------


def _text_cell(v: Any) -> str | None:
    if type(v) is str:
        return v if v else None
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float | Decimal):
        return format_number(v)
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dict | list):
        return orjson.dumps(v).decode()
    return str(v)


def convert_text(values: Sequence[Any], mode: str) -> list[Any]:
    if _all_str(values):
        return [v or None for v in values] if "" in values else list(values)
    return [_text_cell(v) for v in values]


# --- number ----------------------------------------------------------------------------------

# Canonical numbers, checked on a whole NUL-joined chunk: only these characters, every cell
# accepted by float(), no leading zeros (codes like "0611" stay text), at most 18 integer
# digits (fits a 64-bit integer), no exponent (part codes like "8E10" stay text).
_NUMBER_CHARS = re.compile(r"[-0-9.\x00]*")
_LEADING_ZERO = re.compile(r"\x00-?0\d")
_FIRST_LEADING_ZERO = re.compile(r"-?0\d")
_MAX_PLAIN_LEN = 19
# Money and thousands separators: "$1,234.50", "-$5", "1,234". A grouped number must group
# every three digits, so "1,23" (a list, or a European decimal) is not a number.
_FANCY_NUMBER = re.compile(
    r"(?P<sign>[-+])?\$?(?P<sign2>-)?(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?P<frac>\.\d+)?"
)
# Fewer than 16 characters means at most 15 significant digits, which a float holds exactly.
_FLOAT_EXACT_LEN = 16


def _decimal_text(s: str) -> int | float | Decimal:
    if "." not in s:
        return int(s)
    return float(s) if len(s) < _FLOAT_EXACT_LEN else Decimal(s)


def _lenient_number(s: str) -> int | float | Decimal:
    """Any number Decimal can read ("1e5", "+3", "1,2,3" with commas dropped), when a person
    chose the number type."""
    d = Decimal(s.replace(",", "").replace("$", ""))
    if not d.is_finite():
        raise ValueError(s)
    if d == d.to_integral_value():
        return int(d)
    return float(d) if len(str(d)) < _FLOAT_EXACT_LEN else d


def _number_cell(v: Any, strict: bool) -> int | float | Decimal | None:
    if type(v) is str:
        s = v.strip()
        if not s:
            return None
        m = _FANCY_NUMBER.fullmatch(s)
        if m is None or not (m["int"] or m["frac"]) or (m["sign"] and m["sign2"]):
            if strict:
                raise ValueError(s)
            return _lenient_number(s)
        digits = m["int"] or "0"
        if strict and (m["sign"] == "+" or (len(digits) > 1 and digits[0] == "0")):
            raise ValueError(s)
        sign = "-" if "-" in (m["sign"], m["sign2"]) else ""
        return _decimal_text(sign + digits.replace(",", "") + (m["frac"] or ""))
    if v is None:
        return None
    if isinstance(v, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError(v)
        # Excel stores every number as a float: give whole ones back as integers.
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    if isinstance(v, int | Decimal):
        return v
    raise TypeError(type(v).__name__)


def _plain_numbers(values: Sequence[Any], joined: str, checked: bool) -> list[Any] | None:
    """The fast path: a chunk of plain numbers as ints (no decimal point anywhere) or floats
    (short enough to be exact); None if the chunk needs the per-cell path. Raises ValueError
    for a cell float() refuses. `checked`: the chunk already passed inference, skip the gate."""
    if not checked and (
        not _NUMBER_CHARS.fullmatch(joined)
        or _LEADING_ZERO.search(joined)
        or _FIRST_LEADING_ZERO.match(joined)
    ):
        return None
    if max(map(len, values)) >= (_MAX_PLAIN_LEN if "." not in joined else _FLOAT_EXACT_LEN):
        return None
    return _fast(values, int if "." not in joined else float)


def convert_number(values: Sequence[Any], mode: str) -> list[Any]:
    joined = _joined(values)
    # Chosen (LENIENT) columns try the fast path too: canonical cells convert the same way.
    if joined is not None:
        try:
            fast = _plain_numbers(values, joined, checked=mode == TRUSTED)
        except ValueError:
            fast = None
        if fast is not None:
            return fast
    strict = mode != LENIENT
    return _per_cell(values, lambda v: _number_cell(v, strict), not_a("number"))


def convert_double(values: Sequence[Any], mode: str) -> list[Any]:
    converted = convert_number(values, mode)
    return [None if v is None else float(v) for v in converted]


# --- checkbox --------------------------------------------------------------------------------

_STRICT_BOOLEANS = {"true": True, "false": False}
# Accepted when a person chose checkbox: the forms Socrata accepts on write, and Y/N flags.
_LENIENT_BOOLEANS = _STRICT_BOOLEANS | {
    "t": True,
    "f": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
}


def _checkbox_cell(v: Any, strict: bool) -> bool | None:
    if type(v) is str:
        s = v.strip().lower()
        if not s:
            return None
        return (_STRICT_BOOLEANS if strict else _LENIENT_BOOLEANS)[s]
    if v is None or isinstance(v, bool):
        return v
    if not strict and isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    raise TypeError(type(v).__name__)


def convert_checkbox(values: Sequence[Any], mode: str) -> list[Any]:
    strict = mode != LENIENT
    return _per_cell(values, lambda v: _checkbox_cell(v, strict), not_a("checkbox"))


# --- timestamps ------------------------------------------------------------------------------

_ISO_LOCAL = r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:[.,]\d{1,9})?)?)?"
_ISO_ZONE = r"(?:Z|[+-]\d\d(?::?\d\d)?)"
# Characters of ISO local datetimes: a NUL-joined chunk made only of these, every cell of
# which fromisoformat reads, is a chunk of ISO dates or datetimes.
_ISO_CHARS = re.compile(r"[-0-9:.T \x00]*")
_ISO_LOCAL_CELL = re.compile(_ISO_LOCAL)
_ISO_FIXED_CELL = re.compile(rf"({_ISO_LOCAL})\s*({_ISO_ZONE})")
# US forms Socrata's importer accepts: 6/15/2022, 01/03/2016 11:57:00 PM, 06/28/2014 12:00 AM.
# Two-digit years ("1/7/20") are ambiguous and stay text.
_US_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})"
    r"(?:[ T]+(\d{1,2}):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?\s*([AaPp][Mm])?)?"
)


def _us_datetime(m: re.Match[str]) -> dt.datetime:
    month, day, year, hour, minute, second, fraction, ampm = m.groups()
    h = int(hour or 0)
    if ampm:
        if not 1 <= h <= 12:
            raise ValueError("hour out of range for AM/PM")
        h = h % 12 + (12 if ampm.lower() == "pm" else 0)
    micro = int((fraction or "0").ljust(6, "0"))
    return dt.datetime(
        int(year), int(month), int(day), h, int(minute or 0), int(second or 0), micro
    )


def _floating_cell(v: Any, strict: bool) -> dt.datetime | None:
    if type(v) is str:
        s = v.strip()
        if not s:
            return None
        if _ISO_LOCAL_CELL.fullmatch(s):
            return dt.datetime.fromisoformat(s.replace(",", "."))
        m = _US_DATE.fullmatch(s)
        if m:
            return _us_datetime(m)
        if not strict and _ISO_FIXED_CELL.fullmatch(s):
            return dt.datetime.fromisoformat(s).replace(tzinfo=None)
        raise ValueError(s)
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None and strict:
            raise ValueError(v)
        return v.replace(tzinfo=None)
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    raise TypeError(type(v).__name__)


def _fixed_cell(v: Any, strict: bool) -> dt.datetime | None:
    if type(v) is str:
        s = v.strip()
        if not s:
            return None
        m = _ISO_FIXED_CELL.fullmatch(s)
        if m:
            return dt.datetime.fromisoformat(m[1].replace(",", ".") + m[2])
        if strict:
            raise ValueError(s)
        # A person chose fixed_timestamp for zone-less times: read them as UTC.
        return _floating_cell(s, False).replace(tzinfo=dt.UTC)  # type: ignore[union-attr]
    if v is None:
        return None
    if isinstance(v, dt.datetime) and (v.tzinfo is not None or not strict):
        return v if v.tzinfo is not None else v.replace(tzinfo=dt.UTC)
    raise TypeError(type(v).__name__)


def convert_floating(values: Sequence[Any], mode: str) -> list[Any]:
    joined = _joined(values)
    if joined is not None:  # for chosen columns too, as in convert_number
        fast = _iso_datetimes(values, joined, checked=mode == TRUSTED)
        if fast is not None:
            return fast
    strict = mode != LENIENT
    return _per_cell(values, lambda v: _floating_cell(v, strict), not_a("floating_timestamp"))


def _iso_datetimes(values: Sequence[Any], joined: str, checked: bool) -> list[Any] | None:
    """The fast path: a chunk of ISO local datetimes through the C fromisoformat, or None."""
    if not checked and not _ISO_CHARS.fullmatch(joined):
        return None
    try:
        parsed = _fast(values, dt.datetime.fromisoformat)
    except ValueError:
        return None
    # "-" may also start a UTC offset, which a floating timestamp must not have.
    if not checked and any(d is not None and d.tzinfo is not None for d in parsed):
        return None
    return parsed


def convert_fixed(values: Sequence[Any], mode: str) -> list[Any]:
    strict = mode != LENIENT
    return _per_cell(values, lambda v: _fixed_cell(v, strict), not_a("fixed_timestamp"))


# --- url -------------------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s\x00]+", re.IGNORECASE)


def _url_cell(v: Any) -> str | None:
    if isinstance(v, dict):  # SODA JSON form {"url": ..., "description": ...}
        v = v.get("url")
    if _empty(v):
        return None
    if type(v) is str and _URL.fullmatch(v.strip()):
        return v.strip()
    raise ValueError(v)


def convert_url(values: Sequence[Any], mode: str) -> list[Any]:
    return _per_cell(values, _url_cell, not_a("url"))


# --- points and other geometries ---------------------------------------------------------------

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_WKT_POINT = re.compile(rf"POINT\s*\(\s*({_NUM})\s+({_NUM})\s*\)", re.IGNORECASE)
# Socrata's CSV form of a location: "(lat, lon)", alone or as the last line of an address.
_LAT_LON = re.compile(rf"\(\s*({_NUM})\s*,\s*({_NUM})\s*\)")


def _checked_point(lon: float, lat: float) -> tuple[float, float]:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError("coordinates out of range")
    return (lon, lat)


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def split_location(text: str) -> tuple[tuple[float, float] | None, str | None]:
    """A Socrata location cell → ((lon, lat) or None, the address lines or None).

    Raises ValueError when the cell is neither a point nor an address-with-point form.
    >>> split_location("900 E 7TH ST\\nAUSTIN, TX 78702\\n(30.26, -97.73)")
    ((-97.73, 30.26), '900 E 7TH ST\\nAUSTIN, TX 78702')
    """
    s = text.strip()
    m = _WKT_POINT.fullmatch(s)
    if m:
        return _checked_point(float(m[1]), float(m[2])), None
    head, _, last = s.rpartition("\n")
    m = _LAT_LON.fullmatch(last.strip())
    if m:
        # SODA's CSV form of a location with no address is "\n,  \n(lat, lon)": no address.
        address = head.strip()
        return _checked_point(float(m[2]), float(m[1])), address if _has_word(address) else None
    if "\n" in s:
        # A location that was never geocoded: address lines only.
        return None, s
    raise ValueError(text)


def _point_cell(v: Any) -> tuple[float, float] | None:
    if _empty(v):
        return None
    if type(v) is str:
        return split_location(v)[0]
    if isinstance(v, dict):
        if v.get("type") == "Point":
            lon, lat = v["coordinates"][:2]
            return _checked_point(float(lon), float(lat))
        if "latitude" in v or "longitude" in v:  # SODA location object
            lat, lon = v.get("latitude", ""), v.get("longitude", "")
            if _empty(lat) or _empty(lon):
                return None
            return _checked_point(float(lon), float(lat))
    raise TypeError(type(v).__name__)


def convert_point(values: Sequence[Any], mode: str) -> list[Any]:
    return _per_cell(values, _point_cell, not_a("point"))


def location_addresses(values: Sequence[Any]) -> list[str | None]:
    """The address lines of location cells (what convert_point drops), None where there are none."""
    out: list[str | None] = []
    for v in values:
        address = None
        if type(v) is str and v.strip():
            try:
                address = split_location(v)[1]
            except ValueError:
                address = v
        out.append(address)
    return out


_WKT_NAMES = {
    "multipoint": "MULTIPOINT",
    "line": "LINESTRING",
    "multiline": "MULTILINESTRING",
    "polygon": "POLYGON",
    "multipolygon": "MULTIPOLYGON",
}
_GEOJSON_NAMES = {
    "multipoint": "MultiPoint",
    "line": "LineString",
    "multiline": "MultiLineString",
    "polygon": "Polygon",
    "multipolygon": "MultiPolygon",
}
_SINGLE_OF = {"multipoint": "Point", "multiline": "LineString", "multipolygon": "Polygon"}


def _wkt_to_geojson(text: str) -> Any:
    import shapely  # only geometry columns need it

    try:
        return orjson.loads(shapely.to_geojson(shapely.from_wkt(text)))
    except shapely.errors.ShapelyError as exc:
        raise ValueError(text) from exc


def _geometry_cell(v: Any, soda_type: str, strict: bool) -> dict[str, Any] | None:
    if _empty(v):
        return None
    if type(v) is str:
        s = v.strip()
        if s.startswith("{"):
            v = orjson.loads(s)
        else:
            head = s[: len(_WKT_NAMES[soda_type]) + 1].upper()
            if strict and not head.startswith(_WKT_NAMES[soda_type]):
                raise ValueError(s)
            v = _wkt_to_geojson(s)
    if not isinstance(v, dict):
        raise TypeError(type(v).__name__)
    want = _GEOJSON_NAMES[soda_type]
    if v.get("type") == want and isinstance(v.get("coordinates"), list):
        return {"type": want, "coordinates": v["coordinates"]}
    if not strict and v.get("type") == _SINGLE_OF.get(soda_type):
        return {"type": want, "coordinates": [v["coordinates"]]}
    raise ValueError(v)


def _geometry_converter(soda_type: str) -> Converter:
    reason = not_a(soda_type)

    def convert(values: Sequence[Any], mode: str) -> list[Any]:
        strict = mode != LENIENT
        return _per_cell(values, lambda v: _geometry_cell(v, soda_type, strict), reason)

    return convert


CONVERTERS: dict[str, Converter] = {
    "text": convert_text,
    "number": convert_number,
    "double": convert_double,
    "checkbox": convert_checkbox,
    "floating_timestamp": convert_floating,
    "fixed_timestamp": convert_fixed,
    "url": convert_url,
    "point": convert_point,
    **{t: _geometry_converter(t) for t in GEOMETRY_TYPES - {"point"}},
}


def misfit_indexes(soda_type: str, values: Sequence[Any]) -> list[int]:
    """Indexes of the cells of a chunk that do not fit `soda_type` as a person chose it
    (LENIENT); a chunk that fits costs one conversion, as loading it would."""
    if soda_type == "text":
        return []  # any value is text
    convert = CONVERTERS[soda_type]
    try:
        convert(values, LENIENT)
    except BadValue as exc:
        first = exc.index  # converters go cell by cell: the cells before it fit
    else:
        return []
    rest = range(first + 1, len(values))
    return [first, *(i for i in rest if not _fits(convert, values[i]))]


def convert_or_none(soda_type: str, values: Sequence[Any]) -> list[Any]:
    """The chunk converted as a person chose (LENIENT), with None for each cell that does
    not fit instead of an error."""
    convert = CONVERTERS[soda_type]
    try:
        return convert(values, LENIENT)
    except BadValue:
        return [_cell_or_none(convert, v) for v in values]


def _cell_or_none(convert: Converter, value: Any) -> Any:
    try:
        return convert([value], LENIENT)[0]
    except BadValue:
        return None


def _fits(convert: Converter, value: Any) -> bool:
    try:
        convert([value], LENIENT)
    except BadValue:
        return False
    return True
