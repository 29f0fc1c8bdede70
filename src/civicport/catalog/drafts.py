"""Drafts: a change to a dataset prepared, previewed and approved before it goes live.

A change to a dataset that is public, or that would make it public, waits for an approver when
whoever makes it needs one (auth.policy.needs_approval: the `approval_departments` setting).
It is kept as the dataset's draft — at most one per dataset, its rows staged in a table of
their own — while the live dataset stays exactly as it was: no door reads a draft, only the
preview (`draft_record`). Any other change goes live at once (catalog.editing).

    draft ─submit─▶ submitted ─approve─▶ live (the draft is gone)
      ▲                 │
      └── edit ◀─ rejected (with the approver's comment)

- The draft's author is whoever changed it last; a department approver may not approve their
  own draft (auth.policy.can_approve), so every change is seen by a second person.
- A draft is a whole proposal: approving it sets the metadata to what the preview shows, even
  if the live metadata was edited meanwhile by someone who needs no approval.
- A draft with new rows cannot be approved once the live rows have changed after those were
  staged (an upsert, a replace), nor once the dataset's privacy decisions have: the staged rows'
  ids could clash, they did not go through the new decisions, and the preview would no longer
  show what the approval does. The approval fails with Conflict and the author gives the data
  again. A dataset's deletion takes its draft's row with it (the foreign key cascades) but
  not the staged table: whatever deletes a dataset discards its draft first.
- Approval applies metadata, audience, columns and rows in one transaction (readers see the
  old version until it commits), refuses to publish while the privacy guard has unresolved
  findings, drops the old rows' table after the commit and deletes the draft.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from civicport.auth.accounts import user_by_id
from civicport.auth.audit import record_event
from civicport.auth.policy import (
    can_approve,
    can_write,
    may_see_draft,
    needs_approval,
    visible_dataset,
    writable_dataset,
)
from civicport.auth.principal import Principal
from civicport.catalog import draft_rows, editing, service, store
from civicport.catalog.draft_rows import Draft, StoredDraft
from civicport.catalog.records import DatasetMetadata, DatasetRecord
from civicport.catalog.versions import drop_tables
from civicport.config import Settings
from civicport.datastore.transactions import write_transaction
from civicport.errors import Conflict, Forbidden, InvalidUpload, NotFound
from civicport.ingest.records import ParsedTable
from civicport.privacy.decisions import Choice
from civicport.privacy.scan import is_sensitive_category


@dataclass(frozen=True)
class EditOutcome:
    """What edit_dataset did: applied the change (live now), or kept it in the draft."""

    applied: bool
    draft: Draft | None


# --- reading ---------------------------------------------------------------------------------


def get_draft(conn: sa.Connection, dataset_id: str) -> Draft | None:
    """The dataset's draft, or None. Asks no policy: doors check who may see it first."""
    stored = draft_rows.load(conn, dataset_id)
    return None if stored is None else stored.draft


def drafts_of(conn: sa.Connection, dataset_ids: Sequence[str]) -> dict[str, Draft]:
    """The drafts of these datasets, by id (those without one are absent). Asks no policy."""
    return {i: stored.draft for i, stored in draft_rows.load_many(conn, dataset_ids).items()}


def draft_record(conn: sa.Connection, dataset_id: str) -> DatasetRecord:
    """The dataset exactly as it will look once the draft is approved: its metadata and
    audience, and with new rows their columns, table and state. NotFound without a draft.
    A preview only: the record's table is the staged one, read by nothing else."""
    stored = draft_rows.existing(conn, dataset_id)
    live = store.get_dataset(conn, dataset_id)
    return _proposed(live, stored.draft.metadata, stored.staged.rows if stored.staged else None)


def drafts_awaiting(conn: sa.Connection, principal: Principal | None) -> list[Draft]:
    """Submitted drafts `principal` may approve, the longest waiting first."""
    if principal is None:
        return []
    awaiting = []
    for draft in draft_rows.submitted(conn):
        try:
            record = visible_dataset(conn, draft.dataset_id, principal)
        except NotFound:
            continue
        if can_approve(principal, record, draft.author_id):
            awaiting.append(draft)
    return awaiting


def _proposed(
    live: DatasetRecord, metadata: DatasetMetadata | None, rows: service.StagedRows | None = None
) -> DatasetRecord:
    """`live` with `metadata` and staged `rows` in place of its own (None: unchanged)."""
    record = live
    if metadata is not None:
        record = dataclasses.replace(record, **_fields(metadata))
    if rows is not None:
        record = dataclasses.replace(record, **_fields(rows.state), columns=rows.columns)
    return record


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields as they are (asdict would turn nested records into dicts)."""
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


# --- changing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Edit:
    """What edit_dataset was given."""

    metadata: DatasetMetadata | None
    table: ParsedTable | None
    privacy_decisions: Mapping[str, Choice] | None
    stored_rows: bool  # the table is the live rows read back (catalog.reapply)


def edit_dataset(
    engine: sa.Engine,
    settings: Settings,
    principal: Principal,
    dataset_id: str,
    *,
    metadata: DatasetMetadata | None = None,
    table: ParsedTable | None = None,
    privacy_decisions: Mapping[str, Choice] | None = None,
    stored_rows: bool = False,
) -> EditOutcome:
    """Change a dataset's metadata (audience included), its rows (a replace), or both.

    New rows pass the privacy guard with the dataset's decisions and `privacy_decisions`
    (column → choice, made by `principal`; kept for the dataset once the rows go live).
    `stored_rows`: `table` is the dataset's own live rows read back, to apply the decisions
    made after they were loaded (catalog.reapply; privacy.guard.guard_table).
    The change goes into the dataset's draft (made or merged into: new metadata replaces the
    draft's, new rows its staged rows, and a submitted or rejected draft is back to "draft")
    when `principal` needs an approver for it: the dataset is public, would become public, or
    already has a draft. Otherwise it is applied at once, everything in one transaction.

    NotFound if `principal` may not see the dataset, Forbidden if they may not change it,
    InvalidUpload for bad metadata or data, PrivacyUnresolved (a Conflict) when it would be
    public at once with personal data unresolved. Nothing changes when any is raised.
    """
    if metadata is None and table is None:
        raise InvalidUpload("Nothing to change: give new metadata, new data or both")
    if privacy_decisions and table is None:
        raise InvalidUpload("Privacy decisions are made for new data: give the data with them")
    edit = _Edit(metadata, table, privacy_decisions, stored_rows)
    now = dt.datetime.now(dt.UTC)
    with write_transaction(engine) as conn:
        writable_dataset(conn, dataset_id, principal)
        live = store.get_dataset(conn, dataset_id, for_update=True)
        stored = draft_rows.load(conn, dataset_id)
        pending = metadata or (stored.draft.metadata if stored else None)
        if _waits(settings, principal, live, _proposed(live, pending), stored):
            draft, replaced = _save(conn, principal, live, stored, edit, now)
            unused = [replaced] if replaced else []
            outcome = EditOutcome(applied=False, draft=draft)
        else:
            staged = None
            if table is not None:
                staged = editing.stage(
                    conn,
                    principal,
                    live,
                    _proposed(live, metadata),
                    table,
                    privacy_decisions,
                    draft=False,
                    now=now,
                    stored_rows=stored_rows,
                )
            unused = editing.go_live(conn, principal, live, metadata, staged, now=now)
            outcome = EditOutcome(applied=True, draft=None)
    drop_tables(engine, unused)
    return outcome


def _waits(
    settings: Settings,
    principal: Principal,
    live: DatasetRecord,
    proposed: DatasetRecord,
    stored: StoredDraft | None,
) -> bool:
    """Whether a change by `principal` must wait for an approver. Both departments count when
    it moves the dataset to another (no way round the setting)."""
    if not (
        needs_approval(settings, principal, live) or needs_approval(settings, principal, proposed)
    ):
        return False
    return stored is not None or "public" in (live.audience, proposed.audience)


def _save(
    conn: sa.Connection,
    principal: Principal,
    live: DatasetRecord,
    stored: StoredDraft | None,
    edit: _Edit,
    now: dt.datetime,
) -> tuple[Draft, str | None]:
    """Make or update the draft; returns it and the staged table it no longer needs."""
    staged = stored.staged if stored else None
    category = stored.category if stored else None
    proposal = edit.metadata or (stored.draft.metadata if stored else None)
    proposed = _proposed(live, proposal)
    replaced = None
    if edit.table is not None:
        replaced = staged.rows.state.data_table if staged else None
        staged = editing.stage(
            conn,
            principal,
            live,
            proposed,
            edit.table,
            edit.privacy_decisions,
            draft=True,
            now=now,
            stored_rows=edit.stored_rows,
        )
        category = proposed.category
    elif staged is not None and is_sensitive_category(category) != is_sensitive_category(
        proposed.category
    ):
        # The staged rows were scanned under their category; exact places are personal data
        # in some categories only.
        raise InvalidUpload(
            f"The draft's data was checked for personal data under the category "
            f"'{category or 'none'}', where exact locations count differently than under "
            f"'{proposed.category or 'none'}': give the data again with the new category"
        )
    if proposal is not None:
        service.check_metadata(proposal, staged.rows.columns if staged else live.columns)
    draft_rows.save(
        conn,
        live.id,
        author_id=principal.user_id,
        metadata=proposal,
        staged=staged,
        category=category,
        now=now,
        new=stored is None,
    )
    detail: dict[str, object] = {"metadata": edit.metadata is not None, "rows": False}
    if staged is not None and edit.table is not None:
        detail.update(rows=True, row_count=staged.rows.state.row_count)
    _audit(conn, principal, "draft.save", live.id, detail)
    return draft_rows.existing(conn, live.id).draft, replaced


def submit_draft(engine: sa.Engine, principal: Principal, dataset_id: str) -> Draft:
    """Send the draft to the approvers (someone who may change the dataset). Conflict when it
    is submitted already; a rejected draft may be submitted again (its comment is cleared)."""
    now = dt.datetime.now(dt.UTC)
    with write_transaction(engine) as conn:
        _visible_draft(conn, principal, dataset_id)
        writable_dataset(conn, dataset_id, principal)
        stored = draft_rows.existing(conn, dataset_id)
        if stored.draft.status == "submitted":
            raise Conflict(f"The draft of dataset '{dataset_id}' is already waiting for approval")
        draft_rows.update(
            conn, dataset_id, status="submitted", comment=None, submitted_at=now, updated_at=now
        )
        _audit(conn, principal, "draft.submit", dataset_id, {"author_id": stored.draft.author_id})
        return draft_rows.existing(conn, dataset_id).draft


def approve_draft(engine: sa.Engine, principal: Principal, dataset_id: str) -> DatasetRecord:
    """Put a submitted draft live, all at once, and delete it; returns the live record.

    NotFound if `principal` may not see the dataset or it has no draft, Forbidden if they may
    not approve it, Conflict unless it is submitted, when the live rows or the privacy
    decisions changed after the draft's rows were staged, or (PrivacyUnresolved) when the
    dataset would be public with personal data unresolved. Any failure leaves the live dataset
    and the draft as they were.
    """
    now = dt.datetime.now(dt.UTC)
    with write_transaction(engine) as conn:
        live, stored = _reviewable(conn, principal, dataset_id)
        unused = editing.go_live(
            conn, principal, live, stored.draft.metadata, stored.staged, now=now
        )
        draft_rows.delete(conn, dataset_id)
        author_id = stored.draft.author_id
        author = user_by_id(conn, author_id) if author_id is not None else None
        detail = {
            "author": author.email if author else None,
            "metadata": stored.draft.metadata is not None,
            "rows": stored.staged is not None,
        }
        _audit(conn, principal, "draft.approve", dataset_id, detail)
    drop_tables(engine, unused)
    with engine.connect() as conn:
        return store.get_dataset(conn, dataset_id)


def reject_draft(engine: sa.Engine, principal: Principal, dataset_id: str, comment: str) -> Draft:
    """Send a submitted draft back to its author with `comment` (required: it says what to
    change). Same checks as approve_draft; the author may edit and submit it again."""
    now = dt.datetime.now(dt.UTC)
    with write_transaction(engine) as conn:
        _reviewable(conn, principal, dataset_id)
        reason = comment.strip()
        if not reason:
            raise InvalidUpload("Say why the draft is rejected: its author reads the comment")
        draft_rows.update(conn, dataset_id, status="rejected", comment=reason, updated_at=now)
        _audit(conn, principal, "draft.reject", dataset_id, {"comment": reason})
        return draft_rows.existing(conn, dataset_id).draft


def discard_draft(engine: sa.Engine, principal: Principal, dataset_id: str) -> None:
    """Delete the draft and its staged rows: its author, or anyone who may change the
    dataset. The live dataset is untouched."""
    with write_transaction(engine) as conn:
        record, stored = _visible_draft(conn, principal, dataset_id)
        if not (can_write(principal, record) or principal.user_id == stored.draft.author_id):
            raise Forbidden(f"You may not discard the draft of dataset '{dataset_id}'")
        draft_rows.delete(conn, dataset_id)
        _audit(conn, principal, "draft.discard", dataset_id, {"rows": stored.staged is not None})
    drop_tables(engine, [stored.staged.rows.state.data_table] if stored.staged else [])


def _reviewable(
    conn: sa.Connection, principal: Principal, dataset_id: str
) -> tuple[DatasetRecord, StoredDraft]:
    """The live dataset (locked) and its submitted draft, if `principal` may approve it."""
    _visible_draft(conn, principal, dataset_id)
    live = store.get_dataset(conn, dataset_id, for_update=True)
    stored = draft_rows.existing(conn, dataset_id)
    if not can_approve(principal, live, stored.draft.author_id):
        raise Forbidden(
            f"You may not approve the draft of dataset '{dataset_id}': an admin or another "
            "approver of its department may",
            data={"id": dataset_id},
        )
    if stored.draft.status != "submitted":
        raise Conflict(
            f"The draft of dataset '{dataset_id}' is not submitted for approval "
            f"(it is {stored.draft.status})"
        )
    return live, stored


def _visible_draft(
    conn: sa.Connection, principal: Principal, dataset_id: str
) -> tuple[DatasetRecord, StoredDraft]:
    """The dataset and its draft if `principal` may know of the draft (policy.may_see_draft);
    NotFound otherwise, exactly as when there is no draft."""
    record = visible_dataset(conn, dataset_id, principal)
    stored = draft_rows.existing(conn, dataset_id)
    if not may_see_draft(principal, record, stored.draft.author_id):
        raise draft_rows.no_draft(dataset_id)
    return record, stored


def _audit(
    conn: sa.Connection, principal: Principal, action: str, dataset_id: str, detail: Any
) -> None:
    record_event(conn, actor=principal.email, action=action, dataset_id=dataset_id, detail=detail)
