"""Numbers, dates and sizes as a reader of the page's language writes them (Babel)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal


@dataclass(frozen=True)
class Formatter:
    locale: Locale

    def number(self, value: int | float | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.locale)

    def date(self, value: dt.datetime | None) -> str:
        return "" if value is None else format_date(value, format="medium", locale=self.locale)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(value, format="medium", tzinfo=dt.UTC, locale=self.locale) + " UTC"
