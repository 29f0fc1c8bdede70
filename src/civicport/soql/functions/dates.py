"""Date functions: date_trunc_*, date_extract_*, date_diff_d, epoch_seconds…"""

from __future__ import annotations

from typing import Any

from civicport.soql import soqltypes as st
from civicport.soql.functions.registry import Emit, register, sig
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall


def _floating(e: Emitter, arg: Any) -> str:
    """A timestamp as a floating (zone-less, UTC for fixed) value."""
    sql = e.sql(arg)
    if e.pg and arg.type == st.FIXED:
        return f"({sql} AT TIME ZONE 'UTC')"
    return sql


def _trunc(unit: str) -> Emit:
    sqlite_forms = {
        "day": "substr({x}, 1, 10) || 'T00:00:00.000'",
        "month": "substr({x}, 1, 7) || '-01T00:00:00.000'",
        "year": "substr({x}, 1, 4) || '-01-01T00:00:00.000'",
    }

    def emit(e: Emitter, call: TCall) -> str:
        x = _floating(e, call.args[0])
        if e.pg:
            return f"date_trunc('{unit}', {x})"
        return "(" + sqlite_forms[unit].format(x=x) + ")"

    return emit


for _suffix, _unit in (("ymd", "day"), ("ym", "month"), ("y", "year")):
    register(f"date_trunc_{_suffix}", sig("T", st.FLOATING, of=st.TIMESTAMPS))(_trunc(_unit))


def _iso_week_sqlite(x: str) -> str:
    # ISO week = week of the year of the Thursday in the same Monday-based week.
    day = f"substr({x}, 1, 10)"
    monday_offset = f"((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7)"
    thursday = f"date({day}, (3 - {monday_offset}) || ' days')"
    return f"((CAST(strftime('%j', {thursday}) AS INTEGER) - 1) / 7 + 1)"


def _extract(field: str) -> Emit:
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
    register(f"date_extract_{_suffix}", sig("T", st.NUMBER, of=st.TIMESTAMPS))(_extract(_field))


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
