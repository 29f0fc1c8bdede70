"""Date functions: date_trunc_*, date_extract_*, date_diff_d, epoch_seconds…"""

from __future__ import annotations

import zoneinfo
from typing import Any

from civicport.errors import InvalidQuery
from civicport.soql import soqltypes as st
from civicport.soql.functions.registry import Emit, register, sig
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall, TLiteral


def _floating(e: Emitter, arg: Any) -> str:
    """A timestamp as a floating (zone-less, UTC for fixed) value."""
    sql = e.sql(arg)
    if e.pg and arg.type == st.FIXED:
        return f"({sql} AT TIME ZONE 'UTC')"
    return sql


def _in_zone(e: Emitter, call: TCall) -> str:
    """A fixed timestamp (argument 1) as the floating local time in a zone (argument 2)."""
    fixed, zone = call.args
    assert isinstance(zone, TLiteral)
    name = e.bind(check_zone(zone.value), st.TEXT)
    x = e.sql(fixed)
    return f"({x} AT TIME ZONE {name})" if e.pg else f"cp_to_zone({x}, {name})"


def check_zone(name: str) -> str:
    """An IANA time zone name, checked: 'America/New_York'."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidQuery(
            f"Unknown time zone '{name}': use an IANA name such as 'America/New_York'",
            code="query.soql.type-mismatch",
        ) from None
    return name


_SQLITE_TRUNC = {
    "day": "substr({x}, 1, 10) || 'T00:00:00.000'",
    "month": "substr({x}, 1, 7) || '-01T00:00:00.000'",
    "year": "substr({x}, 1, 4) || '-01-01T00:00:00.000'",
}


def _trunc(unit: str) -> Emit:
    """date_trunc_*(ts) and date_trunc_*(fixed_ts, zone): a floating timestamp."""

    def emit(e: Emitter, call: TCall) -> str:
        x = _in_zone(e, call) if len(call.args) == 2 else _floating(e, call.args[0])
        if e.pg:
            return f"date_trunc('{unit}', {x})"
        return "(" + _SQLITE_TRUNC[unit].format(x=x) + ")"

    return emit


def _trunc_utc(unit: str) -> Emit:
    """datez_trunc_*(fixed_ts): truncated in UTC, still a fixed timestamp."""

    def emit(e: Emitter, call: TCall) -> str:
        x = e.sql(call.args[0])
        if e.pg:
            return f"(date_trunc('{unit}', {x} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
        return "(" + _SQLITE_TRUNC[unit].format(x=x) + " || 'Z')"

    return emit


for _suffix, _unit in (("ymd", "day"), ("ym", "month"), ("y", "year")):
    register(
        f"date_trunc_{_suffix}",
        sig("T", st.FLOATING, of=st.TIMESTAMPS),
        sig("fixed_timestamp text", st.FLOATING),
        literal_args=(1,),
    )(_trunc(_unit))
    register(f"datez_trunc_{_suffix}", sig("fixed_timestamp", st.FIXED))(_trunc_utc(_unit))


@register("to_floating_timestamp", sig("fixed_timestamp text", st.FLOATING), literal_args=(1,))
def _to_floating(e: Emitter, call: TCall) -> str:
    return _in_zone(e, call)


def _iso_week_sqlite(x: str) -> str:
    # ISO week = week of the year of the Thursday in the same Monday-based week.
    day = f"substr({x}, 1, 10)"
    monday_offset = f"((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7)"
    thursday = f"date({day}, (3 - {monday_offset}) || ' days')"
    return f"((CAST(strftime('%j', {thursday}) AS INTEGER) - 1) / 7 + 1)"


def extract(field: str) -> Emit:
    """date_extract_*(ts), and the same parts as fields (`ts.year`, see fields.py)."""

    sqlite_forms = {
        "year": "CAST(substr({x}, 1, 4) AS INTEGER)",
        "month": "CAST(substr({x}, 6, 2) AS INTEGER)",
        "day": "CAST(substr({x}, 9, 2) AS INTEGER)",
        "hour": "CAST(substr({x}, 12, 2) AS INTEGER)",
        "minute": "CAST(substr({x}, 15, 2) AS INTEGER)",
        "second": "CAST(substr({x}, 18, 2) AS INTEGER)",
        "dow": "CAST(strftime('%w', substr({x}, 1, 10)) AS INTEGER)",
        "isoyear": "CAST(strftime('%Y', date(substr({x}, 1, 10), (3 - ((CAST(strftime('%w', "
        "substr({x}, 1, 10)) AS INTEGER) + 6) % 7)) || ' days')) AS INTEGER)",
    }

    def emit(e: Emitter, call: TCall) -> str:
        x = _floating(e, call.args[0])
        if e.pg:
            return f"CAST(floor(EXTRACT({field.upper()} FROM {x})) AS INTEGER)"
        if field == "week":
            return _iso_week_sqlite(x)
        return sqlite_forms[field].format(x=x)

    return emit


for _suffix, _field in (
    ("y", "year"),
    ("m", "month"),
    ("d", "day"),
    ("hh", "hour"),
    ("mm", "minute"),
    ("ss", "second"),
    ("dow", "dow"),
    ("woy", "week"),
    ("iso_y", "isoyear"),
):
    register(f"date_extract_{_suffix}", sig("T", st.NUMBER, of=st.TIMESTAMPS))(extract(_field))


@register("date_diff_d", sig("T T", st.NUMBER, of=st.TIMESTAMPS))
def _date_diff_d(e: Emitter, call: TCall) -> str:
    a, b = (e.sql(x) for x in call.args)
    if e.pg:
        return f"CAST(trunc(EXTRACT(EPOCH FROM ({a} - {b})) / 86400) AS INTEGER)"
    return f"CAST(julianday({a}) - julianday({b}) AS INTEGER)"


@register("epoch_seconds", sig("T", st.NUMBER, of=st.TIMESTAMPS))
def _epoch_seconds(e: Emitter, call: TCall) -> str:
    x = _floating(e, call.args[0])
    if e.pg:
        return f"EXTRACT(EPOCH FROM {x})"
    return f"round((julianday({x}) - 2440587.5) * 86400.0, 3)"


@register("get_utc_date", sig("", st.FIXED))
def _get_utc_date(e: Emitter, call: TCall) -> str:
    return "now()" if e.pg else "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
