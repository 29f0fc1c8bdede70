"""Field access: `opened.year`, `opened.dow`, `location.latitude` (soda.md §3.6).

Each field is the function #field_<name> of the value before the dot, typed like any other
call: `.year` of a point is a type mismatch, and an unknown field is "no such function `.x`".
"""

from __future__ import annotations

from civicport.soql import soqltypes as st
from civicport.soql.ast import field_function
from civicport.soql.functions.dates import extract
from civicport.soql.functions.registry import register, sig
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall

_TIMESTAMP_FIELDS = {
    "year": "year",
    "month": "month",
    "day": "day",
    "hour": "hour",
    "minute": "minute",
    "second": "second",
    "dow": "dow",
    "woy": "week",
    "isoyear": "isoyear",
}
for _field, _part in _TIMESTAMP_FIELDS.items():
    register(field_function(_field), sig("T", st.NUMBER, of=st.TIMESTAMPS))(extract(_part))


@register(field_function("latitude"), sig("point", st.DOUBLE))
def _latitude(e: Emitter, call: TCall) -> str:
    return e.point(call.args[0])[1]


@register(field_function("longitude"), sig("point", st.DOUBLE))
def _longitude(e: Emitter, call: TCall) -> str:
    return e.point(call.args[0])[0]
