"""A dataset's privacy findings and decisions in and out of the database.

    for finding in findings(conn, "abcd-1234"): print(finding.message)
    decide(conn, "abcd-1234", "name", "hash", reason="", actor="cli")

Keyword-only functions on the caller's connection, so they commit or roll back with the load
or edit they belong to. Findings never hold a raw value (their examples are masked); the
hashing salt is kept here and never leaves through a record.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from civicport.db.schema import dataset_columns, datasets, privacy_decisions, privacy_findings
from civicport.errors import InvalidUpload, NotFound
from civicport.privacy.decisions import Choice, Decision, decision_after
from civicport.privacy.findings import Finding


def findings(conn: sa.Connection, dataset_id: str) -> list[Finding]:
    """The dataset's recorded findings, by column and kind."""
    query = (
        sa.select(privacy_findings)
        .where(privacy_findings.c.dataset_id == dataset_id)
        .order_by(privacy_findings.c.field_name, privacy_findings.c.kind)
    )
    return [_finding(row) for row in conn.execute(query)]


def decisions(conn: sa.Connection, dataset_id: str) -> list[Decision]:
    """The dataset's decisions, by column."""
    query = (
        sa.select(privacy_decisions)
        .where(privacy_decisions.c.dataset_id == dataset_id)
        .order_by(privacy_decisions.c.field_name)
    )
    return [_decision(row) for row in conn.execute(query)]


def record_findings(
    conn: sa.Connection, dataset_id: str, found: Sequence[Finding], *, merge: bool = False
) -> None:
    """Keep what a scan found. A scan of all the rows (create, replace) replaces what was
    recorded; with `merge` (rows added or changed in place) its findings are added to it."""
    table = privacy_findings
    mine = table.c.dataset_id == dataset_id
    if merge:
        for finding in found:
            conn.execute(
                table.delete().where(
                    mine, table.c.field_name == finding.column, table.c.kind == finding.kind
                )
            )
    else:
        conn.execute(table.delete().where(mine))
    if found:
        now = dt.datetime.now(dt.UTC)
        conn.execute(table.insert(), [_finding_values(dataset_id, f, now) for f in found])


def record_decisions(
    conn: sa.Connection, dataset_id: str, kept: Iterable[Decision], *, salt: str
) -> None:
    """Keep these decisions (each replacing the column's previous one), with the dataset's
    hashing salt."""
    table = privacy_decisions
    for decision in kept:
        conn.execute(
            table.delete().where(
                table.c.dataset_id == dataset_id, table.c.field_name == decision.field_name
            )
        )
        conn.execute(
            table.insert().values(
                dataset_id=dataset_id,
                field_name=decision.field_name,
                action=decision.action,
                reason=decision.reason,
                decided_by=decision.decided_by,
                decided_at=decision.decided_at,
                kinds=list(decision.kinds),
                salt=salt,
                applied=decision.applied,
            )
        )


def mark_applied(conn: sa.Connection, dataset_id: str) -> None:
    """Every decision is now reflected in the stored rows (they were all loaded through it)."""
    table = privacy_decisions
    conn.execute(table.update().where(table.c.dataset_id == dataset_id).values(applied=True))


def dataset_salt(conn: sa.Connection, dataset_id: str | None) -> str:
    """The dataset's hashing salt; a new random one if it has none yet (or is new)."""
    if dataset_id is not None:
        query = sa.select(privacy_decisions.c.salt).where(
            privacy_decisions.c.dataset_id == dataset_id
        )
        kept = conn.execute(query.limit(1)).scalar_one_or_none()
        if kept:
            return str(kept)
    return secrets.token_hex(16)


def decide(
    conn: sa.Connection,
    dataset_id: str,
    field_name: str,
    action: str,
    *,
    reason: str,
    actor: str,
) -> Decision:
    """Record `actor`'s decision on one column of an existing dataset and return it.

    InvalidUpload for an unknown action or column, an accept without a reason, or generalize
    on a column whose findings cannot be generalised (drop or hash those). A drop, hash or
    generalize decided after the rows were loaded stays pending (privacy.decisions.PENDING)
    until the next full load applies it.
    """
    _check_dataset(conn, dataset_id)
    column_findings = [f for f in findings(conn, dataset_id) if f.column == field_name]
    if not column_findings and not _has_column(conn, dataset_id, field_name):
        raise InvalidUpload(
            f"Dataset '{dataset_id}' has no column '{field_name}' (use its field name, as "
            "`civicport privacy show` lists them)"
        )
    previous = {d.field_name: d for d in decisions(conn, dataset_id)}.get(field_name)
    decision = decision_after(
        previous,
        field_name,
        Choice(action.strip().lower(), reason),
        kinds=[f.kind for f in column_findings],
        actor=actor,
        now=dt.datetime.now(dt.UTC),
        whole=False,
    )
    record_decisions(conn, dataset_id, [decision], salt=dataset_salt(conn, dataset_id))
    return decision


def _check_dataset(conn: sa.Connection, dataset_id: str) -> None:
    query = sa.select(datasets.c.id).where(datasets.c.id == dataset_id)
    if conn.execute(query).first() is None:
        raise NotFound(f"Dataset '{dataset_id}' not found")


def _has_column(conn: sa.Connection, dataset_id: str, field_name: str) -> bool:
    query = sa.select(dataset_columns.c.field_name).where(
        dataset_columns.c.dataset_id == dataset_id, dataset_columns.c.field_name == field_name
    )
    return conn.execute(query).first() is not None


def _finding_values(dataset_id: str, finding: Finding, now: dt.datetime) -> dict[str, Any]:
    detail = {
        "share": finding.share,
        "examples": list(finding.examples),
        "message": finding.message,
    }
    return {
        "dataset_id": dataset_id,
        "field_name": finding.column,
        "kind": finding.kind,
        "detail": detail,
        "found_at": now,
    }


def _finding(row: sa.Row[Any]) -> Finding:
    detail = row.detail or {}
    return Finding(
        column=row.field_name,
        kind=row.kind,
        share=float(detail.get("share", 0.0)),
        examples=tuple(detail.get("examples", ())),
        message=str(detail.get("message", "")),
    )


def _decision(row: sa.Row[Any]) -> Decision:
    decided_at = row.decided_at
    if decided_at.tzinfo is None:  # SQLite returns naive times; they were written in UTC
        decided_at = decided_at.replace(tzinfo=dt.UTC)
    return Decision(
        field_name=row.field_name,
        action=row.action,
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=decided_at,
        kinds=tuple(row.kinds or ()),
        applied=bool(row.applied),
    )
