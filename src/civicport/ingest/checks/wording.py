"""Numbers and values as the checks' messages show them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from civicport.datastore.types import format_number
from civicport.ingest.chunks import quoted_cell


def counted(count: int, one: str, many: str | None = None) -> str:
    """'1 row', '3,170 rows', '2 dates'."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def names(fields: list[str]) -> str:
    return ", ".join(fields)


def percent(share: float, beside: float | None = None) -> str:
    """'87%'; with one decimal when a whole number would read the same as `beside`
    ("50.4% fewer … the limit is a 50% drop")."""
    text = f"{share:.0%}"
    if beside is not None and text == f"{beside:.0%}" and share != beside:
        text = f"{share:.1%}"
    return text


def value_text(value: Any) -> str:
    """A stored value, quoted: "'B-1002'", "'17'"."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return quoted_cell(format_number(value))
    return quoted_cell(value)


def moment(value: dt.datetime) -> str:
    """'2031-04-02', or '2031-04-02 14:30' when the time is not midnight (UTC if zoned)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    if value.time() == dt.time():
        return f"{value:%Y-%m-%d}"
    return f"{value:%Y-%m-%d %H:%M}"


def coordinates(lon: float, lat: float) -> str:
    """'(41.2, -73.1)': latitude first, as Socrata writes a location."""
    return f"({format_number(lat)}, {format_number(lon)})"
