"""The dataset page's table view: its state in the URL, and that state as a SoQL query.

The state is what a reader set (a filter per column, a row search, an optional SoQL `where`,
a sort, a page) and lives in the query string, so a view can be shared and the back button
works. Every view is turned into SODA parameters (`$where`, `$order`, `$q`, `$limit`,
`$offset`) that the page runs through the same compiler as /resource, and shows so the reader
can copy it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from civicport.catalog.records import ColumnRecord
from civicport.datastore.types import GEOMETRY_TYPES, NUMBER_TYPES, TIMESTAMP_TYPES
from civicport.web.i18n import N_, PageInputError

PAGE_SIZE = 25
FILTER_PREFIX = "f."
# What a reader may type before a value: the comparison it asks for.
_OPERATOR = re.compile(r"^\s*(>=|<=|!=|=|>|<)\s*(.*)$", re.S)
_DATE_PREFIX = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")
_TRUE_WORDS = {"true", "yes", "y", "1", "sí", "si", "verdadero"}
_FALSE_WORDS = {"false", "no", "n", "0", "falso"}


@dataclass(frozen=True)
class GridState:
    """One view of a dataset's rows, as the URL carries it."""

    filters: tuple[tuple[str, str], ...] = ()  # (field name, what the reader typed)
    where: str = ""  # SoQL typed by the reader, ANDed with the filters
    search: str = ""  # full-text row search ($q)
    sort: str | None = None  # field name
    descending: bool = False
    page: int = 1

    @property
    def is_filtered(self) -> bool:
        return bool(self.filters or self.where or self.search)

    def filter_value(self, field_name: str) -> str:
        return dict(self.filters).get(field_name, "")


def parse_grid_state(params: Iterable[tuple[str, str]]) -> GridState:
    """The view a query string describes; a page that is not a positive number is an
    InvalidQuery (the page answers 400 with the reason)."""
    values: dict[str, str] = {}
    filters: list[tuple[str, str]] = []
    for name, value in params:
        if name.startswith(FILTER_PREFIX):
            if value.strip():
                filters.append((name[len(FILTER_PREFIX) :], value.strip()))
        else:
            values.setdefault(name, value)
    return GridState(
        filters=tuple(filters),
        where=values.get("where", "").strip(),
        search=values.get("q", "").strip(),
        sort=values.get("sort") or None,
        descending=values.get("desc") == "1",
        page=parse_page(values.get("page")),
    )


def parse_page(text: str | None) -> int:
    if text is None or text == "":
        return 1
    if not text.isdigit() or int(text) < 1 or len(text) > 9:
        raise PageInputError(N_("'%(page)s' is not a page number (1, 2, 3, …)"), page=text[:40])
    return int(text)


def quote_field(field_name: str) -> str:
    return f"`{field_name}`"


def quote_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def filter_condition(column: ColumnRecord, typed: str) -> str:
    """SoQL for what a reader typed in one column's filter box. Text matches anywhere, any
    case; `=`, `!=`, `<`, `>`… compare; a date like 2020-05 means that whole month."""
    match = _OPERATOR.match(typed)
    operator, value = (match.group(1), match.group(2).strip()) if match else (None, typed.strip())
    field = quote_field(column.field_name)
    kind = column.soda_type
    if kind in NUMBER_TYPES:
        return f"{field} {operator or '='} {_number_literal(column, value)}"
    if kind in TIMESTAMP_TYPES:
        return _timestamp_condition(column, operator, value)
    if kind == "checkbox":
        return f"{field} {'!=' if operator == '!=' else '='} {_checkbox_literal(column, value)}"
    if kind in GEOMETRY_TYPES:
        raise PageInputError(
            N_("Column '%(column)s' holds places and cannot be filtered"),
            column=column.display_name,
        )
    if operator is None:
        return f"caseless_contains({field}, {quote_text(value)})"
    return f"{field} {operator} {quote_text(value)}"


def _number_literal(column: ColumnRecord, value: str) -> str:
    try:
        number = float(value.replace(",", ""))
    except ValueError:
        number = float("nan")
    if number != number or number in (float("inf"), float("-inf")):
        raise PageInputError(
            N_("Filter for '%(column)s': '%(value)s' is not a number"),
            column=column.display_name,
            value=value[:40],
        )
    return value.replace(",", "")


def _checkbox_literal(column: ColumnRecord, value: str) -> str:
    word = value.lower()
    if word in _TRUE_WORDS:
        return "true"
    if word in _FALSE_WORDS:
        return "false"
    raise PageInputError(
        N_("Filter for '%(column)s': use true or false, not '%(value)s'"),
        column=column.display_name,
        value=value[:40],
    )


def _timestamp_condition(column: ColumnRecord, operator: str | None, value: str) -> str:
    field = quote_field(column.field_name)
    match = _DATE_PREFIX.match(value)
    if operator is None and match:
        start, end = _date_range(*match.groups())
        return f"{field} >= {quote_text(start)} AND {field} < {quote_text(end)}"
    if not re.match(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?$", value):
        raise PageInputError(
            N_(
                "Filter for '%(column)s': '%(value)s' is not a date "
                "(write 2020, 2020-05, 2020-05-31 or 2020-05-31T08:00)"
            ),
            column=column.display_name,
            value=value[:40],
        )
    return f"{field} {operator or '='} {quote_text(value.replace(' ', 'T'))}"


def _date_range(year: str, month: str | None, day: str | None) -> tuple[str, str]:
    """The [start, end) of a year, month or day, as SoQL floating timestamps."""
    y = int(year)
    if month is None:
        return f"{y:04d}-01-01T00:00:00", f"{y + 1:04d}-01-01T00:00:00"
    m = int(month)
    if day is None:
        next_y, next_m = (y + 1, 1) if m == 12 else (y, m + 1)
        return f"{y:04d}-{m:02d}-01T00:00:00", f"{next_y:04d}-{next_m:02d}-01T00:00:00"
    try:
        start = dt.date(y, m, int(day))
    except ValueError as exc:
        raise PageInputError(
            N_("'%(value)s' is not a date"), value=f"{year}-{month}-{day}"
        ) from exc
    return f"{start.isoformat()}T00:00:00", f"{(start + dt.timedelta(days=1)).isoformat()}T00:00:00"


def where_clause(state: GridState, columns: Sequence[ColumnRecord]) -> str:
    """The `$where` of a view ('' when it filters nothing). A filter on a column the dataset
    does not have is an InvalidQuery naming it."""
    by_name = {c.field_name: c for c in columns}
    parts = []
    for field_name, typed in state.filters:
        column = by_name.get(field_name)
        if column is None:
            raise PageInputError(
                N_("This dataset has no column '%(column)s' to filter on"), column=field_name[:60]
            )
        parts.append(filter_condition(column, typed))
    if state.where:
        parts.append(f"({state.where})" if parts else state.where)
    return " AND ".join(parts)


def soda_params(
    state: GridState, columns: Sequence[ColumnRecord], *, paged: bool = True
) -> list[tuple[str, str]]:
    """The view as SODA query parameters, in the order a person would write them."""
    params: list[tuple[str, str]] = []
    where = where_clause(state, columns)
    if where:
        params.append(("$where", where))
    if state.search:
        params.append(("$q", state.search))
    if state.sort:
        if state.sort not in {c.field_name for c in columns}:
            raise PageInputError(
                N_("This dataset has no column '%(column)s' to sort by"), column=state.sort[:60]
            )
        direction = " DESC" if state.descending else ""
        params.append(("$order", f"{quote_field(state.sort)}{direction}"))
    if paged:
        params.append(("$limit", str(PAGE_SIZE)))
        if state.page > 1:
            params.append(("$offset", str((state.page - 1) * PAGE_SIZE)))
    return params
