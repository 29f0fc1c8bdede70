"""Checks of the staged rows themselves: repeated row identifiers (duplicate_ids) and dates in
the future (future_dates). Each is one set-based query over the staged table; a second,
narrower one only when it finds something, for the example a message gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

from civicport.datastore.tables import q
from civicport.datastore.types import TIMESTAMP_TYPES, format_fixed, format_floating
from civicport.ingest.checks.staged import Staged
from civicport.ingest.checks.wording import counted, moment, value_text

# Dates up to this far ahead are not "in the future": clocks and time zones differ.
FUTURE_SLACK = dt.timedelta(days=1)


def duplicate_ids(staged: Staged, key: str, *, remove: bool) -> tuple[list[str], int]:
    """'Row identifier permit_id repeats: 'B-1002' in rows 4 and 17, and 12 more values'.

    With `remove`, the rows after the first of each repeated value are deleted from the
    staged table, and the message says so. Returns the findings and the rows deleted.
    Rows without an identifier are not repeats (the loader reports those on its own).
    """
    name = q(key)
    found = staged.query(
        f"SELECT {name}, min(_id), max(_id), count(*), count(*) OVER () "
        f"FROM {staged.table} WHERE {name} IS NOT NULL "
        f"GROUP BY {name} HAVING count(*) > 1 ORDER BY min(_id) LIMIT 1"
    ).first()
    if found is None:
        return [], 0
    value, first, last, count, values = tuple(found)
    where = (
        f"in rows {staged.row(first):,} and {staged.row(last):,}"
        if count == 2
        else f"in {count:,} rows, from row {staged.row(first):,} to row {staged.row(last):,}"
    )
    message = f"Row identifier {key} repeats: {value_text(value)} {where}"
    if values > 1:
        message += f", and {counted(values - 1, 'more value')}"
    if not remove:
        return [message], 0
    dropped = _drop_repeats(staged, key)
    return [
        f"{message}; only the first row of each value was kept ({counted(dropped, 'row')} left out)"
    ], dropped


def _drop_repeats(staged: Staged, key: str) -> int:
    """Delete every row but the first (lowest _id) of each repeated identifier value."""
    name = q(key)
    result = staged.query(
        f"DELETE FROM {staged.table} WHERE _id IN (SELECT _id FROM ("
        f"SELECT _id, row_number() OVER (PARTITION BY {name} ORDER BY _id) AS n "
        f"FROM {staged.table} WHERE {name} IS NOT NULL) numbered WHERE n > 1)"
    )
    return int(result.rowcount)


def future_dates(staged: Staged, now: dt.datetime) -> list[str]:
    """'Column inspected_on has 3 dates in the future, the latest 2031-04-02 (row 52)'.

    One scan counts the future dates and finds the latest of every timestamp column."""
    columns = [c for c in staged.columns if c.soda_type in TIMESTAMP_TYPES]
    if not columns:
        return []
    limit = (now if now.tzinfo else now.replace(tzinfo=dt.UTC)) + FUTURE_SLACK
    params = {f"l{i}": _stored(limit, c.soda_type, staged.dialect) for i, c in enumerate(columns)}
    selects = ", ".join(
        f"sum(CASE WHEN {q(c.field_name)} > :l{i} THEN 1 ELSE 0 END), max({q(c.field_name)})"
        for i, c in enumerate(columns)
    )
    totals = staged.query(f"SELECT {selects} FROM {staged.table}", **params).one()
    findings = []
    for i, column in enumerate(columns):
        count, latest = totals[2 * i], totals[2 * i + 1]
        if not count:
            continue
        row_id = staged.query(
            f"SELECT min(_id) FROM {staged.table} WHERE {q(column.field_name)} = :latest",
            latest=latest,
        ).scalar_one()
        dates = counted(int(count), "date")
        which = "the latest" if count > 1 else "on"
        findings.append(
            f"Column {column.field_name} has {dates} in the future, {which} "
            f"{moment(_as_datetime(latest))} (row {staged.row(row_id):,})"
        )
    return findings


def _stored(moment_: dt.datetime, soda_type: str, dialect: str) -> Any:
    """`moment_` (aware) as a timestamp column of `soda_type` stores it (datastore.types)."""
    if soda_type == "fixed_timestamp":
        return moment_ if dialect == "postgresql" else format_fixed(moment_)
    floating = moment_.astimezone(dt.UTC).replace(tzinfo=None)
    return floating if dialect == "postgresql" else format_floating(floating)


def _as_datetime(stored: Any) -> dt.datetime:
    return stored if isinstance(stored, dt.datetime) else dt.datetime.fromisoformat(stored)
