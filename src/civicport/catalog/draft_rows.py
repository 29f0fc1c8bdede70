"""The dataset_drafts row in and out: a draft's proposal, its staged rows and what the privacy
guard found and decided about them, as JSON beside the row's plain columns.

catalog.drafts owns the workflow; this module only stores and reads back what it needs, so that
approving a draft applies exactly what was staged: the rows' state and columns, and the guard's
findings and decisions, which become the dataset's only when the rows go live.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from civicport.catalog import service, store
from civicport.catalog.editing import Staged
from civicport.catalog.records import ColumnRecord, DatasetMetadata, SavedChart
from civicport.db.schema import dataset_drafts
from civicport.errors import NotFound
from civicport.ingest.records import ParsedTable
from civicport.privacy.decisions import Decision, unresolved_items
from civicport.privacy.findings import Finding
from civicport.privacy.guard import GuardedTable

STATUSES = ("draft", "submitted", "rejected")


@dataclass(frozen=True)
class Draft:
    """A dataset's pending change as its author and its approvers see it."""

    dataset_id: str
    author_id: int | None  # whoever changed it last (None: the account is gone)
    status: str  # one of STATUSES
    metadata: DatasetMetadata | None  # the proposed metadata, audience included; None: as live
    has_data: bool  # new rows are staged
    row_count: int | None  # how many (None without new rows)
    comment: str | None  # the approver's reason for a rejection
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None


@dataclass(frozen=True)
class StoredDraft:
    """A draft as stored: what people see of it, and what applying it needs."""

    draft: Draft
    staged: Staged | None
    category: str | None  # the category the staged rows were scanned under


def load(conn: sa.Connection, dataset_id: str) -> StoredDraft | None:
    """The dataset's draft, or None."""
    row = conn.execute(
        sa.select(dataset_drafts).where(dataset_drafts.c.dataset_id == dataset_id)
    ).first()
    return None if row is None else _decode(row)


def load_many(conn: sa.Connection, dataset_ids: Sequence[str]) -> dict[str, StoredDraft]:
    """The drafts of these datasets (those that have one), by dataset id, in one query."""
    if not dataset_ids:
        return {}
    rows = conn.execute(
        sa.select(dataset_drafts).where(dataset_drafts.c.dataset_id.in_(list(dataset_ids)))
    ).all()
    return {row.dataset_id: _decode(row) for row in rows}


def existing(conn: sa.Connection, dataset_id: str) -> StoredDraft:
    """The dataset's draft; NotFound when it has none."""
    stored = load(conn, dataset_id)
    if stored is None:
        raise no_draft(dataset_id)
    return stored


def no_draft(dataset_id: str) -> NotFound:
    """The answer when a dataset has no draft, or has one the asker may not know of."""
    return NotFound(f"Dataset '{dataset_id}' has no draft", code="draft.missing")


def submitted(conn: sa.Connection) -> list[Draft]:
    """Every submitted draft, the longest waiting first."""
    rows = conn.execute(
        sa.select(dataset_drafts)
        .where(dataset_drafts.c.status == "submitted")
        .order_by(dataset_drafts.c.submitted_at, dataset_drafts.c.dataset_id)
    ).all()
    return [_decode(row).draft for row in rows]


def save(
    conn: sa.Connection,
    dataset_id: str,
    *,
    author_id: int,
    metadata: DatasetMetadata | None,
    staged: Staged | None,
    category: str | None,
    now: dt.datetime,
    new: bool,
) -> None:
    """Write the draft's proposal, as "draft" (a change sends a submitted draft back)."""
    values: dict[str, Any] = {
        "author_id": author_id,
        "status": "draft",
        "metadata": None if metadata is None else asdict(metadata),
        "data_table": staged.rows.state.data_table if staged else None,
        "columns": [asdict(c) for c in staged.rows.columns] if staged else None,
        "data_state": _encode_staged(staged, category) if staged else None,
        "updated_at": now,
        "submitted_at": None,
    }
    if new:
        conn.execute(
            dataset_drafts.insert().values(dataset_id=dataset_id, created_at=now, **values)
        )
    else:
        update(conn, dataset_id, **values)


def update(conn: sa.Connection, dataset_id: str, **values: Any) -> None:
    """Change some of the draft's columns (status, comment, times)."""
    conn.execute(
        dataset_drafts.update().where(dataset_drafts.c.dataset_id == dataset_id).values(**values)
    )


def delete(conn: sa.Connection, dataset_id: str) -> None:
    conn.execute(dataset_drafts.delete().where(dataset_drafts.c.dataset_id == dataset_id))


# --- decoding ----------------------------------------------------------------------------------


def _decode(row: sa.Row[Any]) -> StoredDraft:
    staged, category = None, None
    if row.data_table is not None:
        state = dict(row.data_state["state"])
        state["data_updated_at"] = dt.datetime.fromisoformat(state["data_updated_at"])
        if state["summary_dimensions"] is not None:
            state["summary_dimensions"] = tuple(state["summary_dimensions"])
        columns = tuple(ColumnRecord(**c) for c in row.columns)
        rows = service.StagedRows(store.DataState(**state), columns)
        privacy = row.data_state["privacy"]
        staged, category = Staged(rows, _decode_guarded(privacy)), privacy["category"]
    draft = Draft(
        dataset_id=row.dataset_id,
        author_id=row.author_id,
        status=row.status,
        metadata=None if row.metadata is None else _metadata(row.metadata),
        has_data=staged is not None,
        row_count=staged.rows.state.row_count if staged else None,
        comment=row.comment,
        created_at=store.utc(row.created_at),
        updated_at=store.utc(row.updated_at),
        submitted_at=None if row.submitted_at is None else store.utc(row.submitted_at),
    )
    return StoredDraft(draft, staged, category)


def _metadata(values: dict[str, Any]) -> DatasetMetadata:
    fields = dict(values)
    fields["tags"] = tuple(fields["tags"])
    fields["charts"] = tuple(SavedChart(**chart) for chart in fields["charts"])
    return DatasetMetadata(**fields)


def _decode_guarded(privacy: dict[str, Any]) -> GuardedTable:
    findings = [Finding(**{**f, "examples": tuple(f["examples"])}) for f in privacy["findings"]]
    decisions = {d.field_name: d for d in map(_decode_decision, privacy["decisions"])}
    return GuardedTable(
        # The guarded rows are loaded already (the staged table): nothing is left to stream.
        table=ParsedTable(columns=[], rows=iter(())),
        findings=findings,
        decisions=decisions,
        given=tuple(map(_decode_decision, privacy["given"])),
        unresolved=unresolved_items(findings, decisions),
        salt=privacy["salt"],
        whole=privacy["whole"],
    )


def _decode_decision(values: dict[str, Any]) -> Decision:
    decided_at = dt.datetime.fromisoformat(values["decided_at"])
    return Decision(**{**values, "decided_at": decided_at, "kinds": tuple(values["kinds"])})


# --- encoding ----------------------------------------------------------------------------------


def _encode_staged(staged: Staged, category: str | None) -> dict[str, Any]:
    """The staged rows' state and what the privacy guard found and decided, as JSON."""
    state = asdict(staged.rows.state)
    state["data_updated_at"] = staged.rows.state.data_updated_at.isoformat()
    guarded = staged.privacy
    privacy = {
        "category": category,
        "findings": [asdict(f) for f in guarded.findings],
        "decisions": [_encode_decision(d) for d in guarded.decisions.values()],
        "given": [_encode_decision(d) for d in guarded.given],
        # The dataset's hashing salt, kept for the decisions recorded on approval; it never
        # leaves through a Draft.
        "salt": guarded.salt,
        "whole": guarded.whole,
    }
    return {"state": state, "privacy": privacy}


def _encode_decision(decision: Decision) -> dict[str, Any]:
    values = asdict(decision)
    values["decided_at"] = decision.decided_at.isoformat()
    return values
