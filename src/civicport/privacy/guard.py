"""The privacy guard every load passes through (create, replace, append, upsert, API writes).

    guarded = guard_table(conn, dataset_id, table, category="Public Safety",
                          decisions=Given({"name": Choice("hash")}, actor="cli"), public=True)
    load(guarded.table)               # rows stream through the dataset's decisions
    record_guarded(conn, dataset_id, guarded)

`guard_table` scans the first SAMPLE_ROWS incoming rows, merges the dataset's kept decisions
with those given with the load, and refuses (PrivacyUnresolved, a Conflict) a load that would
leave a public dataset with personal data no decision covers — before a row is written. It
returns the table with the decisions applied to every row as it streams: dropped columns are
gone, hashed ones hashed with the dataset's salt (the same across loads, so they still join),
generalised ones generalised. Only the sample is held in memory.

`check_publishable(conn, dataset_id)` is what every change of audience to public asks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

import sqlalchemy as sa

from civicport.errors import InvalidUpload
from civicport.ingest.fieldnames import field_name
from civicport.ingest.records import ColumnFinisher, ColumnSpec, ParsedTable
from civicport.privacy import store
from civicport.privacy.decisions import (
    Decision,
    Given,
    Unresolved,
    decision_after,
    refusal,
    unresolved_items,
)
from civicport.privacy.findings import Finding
from civicport.privacy.plan import Plan, build_plan, finish_planned
from civicport.privacy.scan import scan_table

SAMPLE_ROWS = 5000  # rows of each load the scan reads (the first ones)

# ParsedTable.column_batches: given a finishing function, the stored columns of each batch.
BatchSource = Callable[[ColumnFinisher], Iterator[list[list[Any]]]]


@dataclass(frozen=True)
class GuardedTable:
    """An incoming table after the guard: what it found, and the table to load instead."""

    table: ParsedTable  # the decisions applied as rows stream
    findings: list[Finding]  # what the scan found in the incoming rows
    decisions: dict[str, Decision]  # in force for this load, by column
    given: tuple[Decision, ...]  # those given with this load, to be kept
    unresolved: list[Unresolved]  # what the dataset has unresolved once the load is done
    salt: str
    whole: bool  # the load replaces every row (create, replace)


def guard_table(
    conn: sa.Connection,
    dataset_id: str | None,
    table: ParsedTable,
    *,
    category: str | None,
    decisions: Given | None = None,
    whole: bool = True,
    public: bool = False,
    stored_rows: bool = False,
) -> GuardedTable:
    """Scan `table`, apply the decisions to it, and refuse it if `public` with anything
    unresolved. `dataset_id` is None for a new dataset. `decisions`, given with this load, are
    checked and join the dataset's kept ones. `whole`: the load replaces every row, so its
    findings replace the recorded ones and every decision is applied; otherwise rows are added
    or changed in place and findings add up.

    `stored_rows`: `table` is the dataset's own stored rows read back (catalog.live_rows), a
    whole load that applies decisions made after they were loaded. Decisions already applied
    to them are not applied again (a hash of a hash would no longer join), and the recorded
    findings are kept beside what the scan finds: the stored rows no longer show what the
    applied decisions hid."""
    kept = {d.field_name: d for d in store.decisions(conn, dataset_id)} if dataset_id else {}
    rows = iter(table.rows)
    head = list(islice(rows, SAMPLE_ROWS))
    # The scan sees an iterator, so it does not take a full sample for the whole table.
    found = scan_table(table.columns, iter(head), category=category, sample=SAMPLE_ROWS)
    if stored_rows and dataset_id:
        found = _merged(store.findings(conn, dataset_id), found)
    earlier = [] if whole or dataset_id is None else store.findings(conn, dataset_id)
    known = _merged(earlier, found)
    given = _given(table.columns, decisions, kept, known, whole) if decisions else ()
    in_force = kept | {d.field_name: d for d in given}
    if whole:
        in_force = {k: dataclasses.replace(d, applied=True) for k, d in in_force.items()}
    unresolved = unresolved_items(known, in_force)
    if public and unresolved:
        headline = (
            f"Dataset '{dataset_id}' is public and this load leaves personal data unresolved"
            if dataset_id
            else "The new dataset would be public with personal data unresolved"
        )
        raise refusal(headline, unresolved)
    salt = store.dataset_salt(conn, dataset_id)
    to_apply = in_force
    if stored_rows:
        done = {name for name, d in kept.items() if d.applied} - {d.field_name for d in given}
        to_apply = {name: d for name, d in in_force.items() if name not in done}
    plan = build_plan(table.columns, to_apply, salt)
    guarded = _planned(table, plan, head, rows)
    return GuardedTable(guarded, found, in_force, given, unresolved, salt, whole)


def record_guarded(conn: sa.Connection, dataset_id: str, guarded: GuardedTable) -> None:
    """Keep what a guarded load found and decided, in the load's transaction (after the
    dataset row exists)."""
    store.record_findings(conn, dataset_id, guarded.findings, merge=not guarded.whole)
    if guarded.given:
        store.record_decisions(conn, dataset_id, guarded.given, salt=guarded.salt)
    if guarded.whole:
        store.mark_applied(conn, dataset_id)


def unresolved(conn: sa.Connection, dataset_id: str) -> list[Unresolved]:
    """The dataset's recorded findings no decision covers, and its pending decisions."""
    decided = {d.field_name: d for d in store.decisions(conn, dataset_id)}
    return unresolved_items(store.findings(conn, dataset_id), decided)


def check_publishable(conn: sa.Connection, dataset_id: str) -> None:
    """Raise PrivacyUnresolved (409) naming every unresolved column and kind, and how to
    resolve it, unless the dataset may become public."""
    items = unresolved(conn, dataset_id)
    if items:
        raise refusal(
            f"Dataset '{dataset_id}' cannot be made public while personal data in it is unresolved",
            items,
        )


# -- decisions given with a load ----------------------------------------------------------------


def _merged(earlier: Sequence[Finding], found: Sequence[Finding]) -> list[Finding]:
    """Recorded findings updated by a new scan's (one per column and kind)."""
    fresh = {(f.column, f.kind) for f in found}
    return [f for f in earlier if (f.column, f.kind) not in fresh] + list(found)


def _given(
    columns: Sequence[ColumnSpec],
    given: Given,
    kept: Mapping[str, Decision],
    known: Sequence[Finding],
    whole: bool,
) -> tuple[Decision, ...]:
    """The decisions given with a load, checked against the columns and what was found."""
    now = dt.datetime.now(dt.UTC)
    made: dict[str, Decision] = {}
    for name, choice in given.choices.items():
        column = _column(columns, name)
        made[column] = decision_after(
            kept.get(column),
            column,
            choice,
            kinds=[f.kind for f in known if f.column == column],
            actor=given.actor,
            now=now,
            whole=whole,
        )
    return tuple(made.values())


def _column(columns: Sequence[ColumnSpec], name: str) -> str:
    """The field name a person means: a field name, a display name (any case) or the field
    name derived from one ('Employee Name' → employee_name)."""
    wanted = name.strip()
    for column in columns:
        if wanted == column.field_name or wanted.lower() == column.display_name.lower():
            return column.field_name
    derived = field_name(wanted)
    if any(c.field_name == derived for c in columns):
        return derived
    raise InvalidUpload(
        f"A privacy decision names column '{name}', which the data does not have; its columns "
        "are: " + ", ".join(c.field_name for c in columns)
    )


# -- streaming ----------------------------------------------------------------------------------


def _planned(
    table: ParsedTable, plan: Plan, head: list[tuple[Any, ...]], rest: Iterator[tuple[Any, ...]]
) -> ParsedTable:
    """`table` with `plan` applied to its rows: `head` (already read for the scan), then `rest`."""
    batches = None
    # A reader's column_batches reads its rows again from the start, so the head read from
    # `rows` is not lost; when the head was the whole table, `rows` is finished and the
    # reader's spill closed, so the rows themselves are loaded.
    if table.column_batches is not None and len(head) == SAMPLE_ROWS:
        batches = functools.partial(_planned_batches, table.column_batches, plan, rest)
    return dataclasses.replace(
        table,
        columns=plan.specs(table.columns),
        rows=plan.rows(chain(head, rest)),
        column_batches=batches,
    )


def _planned_batches(
    source: BatchSource, plan: Plan, rows: Iterator[tuple[Any, ...]], finish: ColumnFinisher
) -> Iterator[list[list[Any]]]:
    """The reader's batches with the plan applied before `finish` (in its worker processes).
    `rows`, read only for the scan's head, is kept open until the batches are done: closing
    it closes the reader's spill file they read."""
    try:
        yield from source(functools.partial(finish_planned, plan, finish))
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
